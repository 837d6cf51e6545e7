"""Cancelling waiting units: storefront first, then the ledger, once, with every step audited."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import OrderCancelled
from adapters.errors import RejectedByChannel
from connector.errors import Conflict, InvalidInput, NotFound
from connector.models import Backorder, Cancellation, Channel, Notification, Order, StockMovement
from connector.services import cancellations, incoming
from connector.services.cancellable import LineRequest
from connector.services.cancellations import CancelCommand, InProgress, StorefrontFailed
from connector.services.sync import apply_event
from tests.cancel_helpers import (
    NOW,
    audit_actions,
    backorders_of,
    expect,
    level,
    line_id,
    make_shop,
    order_info,
    place,
    unavailable,
)


@pytest.fixture
def shop(new_uow):
    return make_shop(new_uow)


def command(shop, order_id, lines=None, *, key="k1", **overrides) -> CancelCommand:
    fields = {
        "merchant_id": shop.merchant_id,
        "order_id": order_id,
        "reason": "customer asked",
        "idempotency_key": key,
        "scope": "order" if lines is None else "lines",
        "lines": tuple(LineRequest(line, qty) for line, qty in lines or ()),
        "actor": "token:1 (desk)",
        **overrides,
    }
    return CancelCommand(**fields)


def run(new_uow, shop, cmd, now=NOW):
    return cancellations.cancel(new_uow, shop.storefront_for, cmd, now=now)


def test_a_partial_cancellation_refunds_on_the_storefront_then_releases_the_waiting_units(new_uow, shop):
    order = place(new_uow, shop, "1001", [("A", 3), ("B", 2), ("C", 1)])
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)
    b_line = line_id(new_uow, order, "B")

    outcome = run(new_uow, shop, command(shop, order, [(b_line, 1)]))

    [request] = shop.storefront.cancels
    assert request.order_id == "gid://shopify/Order/1001" and request.refund and request.restock
    assert [(line.line_id, line.quantity) for line in request.lines] == [("gid://shopify/LineItem/1001B", 1)]
    assert outcome.cancellation["status"] == "completed"
    assert outcome.cancellation["refunded_amount"] == "10.00"
    assert level(new_uow, shop.merchant_id, "B") == (0, 1, 1)
    waiting_a, waiting_b = backorders_of(new_uow, order)
    assert (waiting_a.quantity, waiting_a.quantity_cancelled) == (2, 0)
    assert (waiting_b.quantity, waiting_b.quantity_cancelled, waiting_b.status) == (2, 1, "waiting")
    assert audit_actions(new_uow) == [
        "cancellation.requested",
        "cancellation.storefront",
        "cancellation.ledger",
    ]
    with new_uow() as uow:
        [note] = uow.session.scalars(select(Notification)).all()
    assert (note.kind, note.dedupe_key, note.recipient) == (
        "cancelled",
        f"cancelled:{outcome.cancellation['id']}",
        "ann@example.com",
    )
    assert note.payload["lines"] == [{"sku": "B", "title": "B", "quantity": 1}]
    assert note.payload["refunded_amount"] == "10.00"


def test_the_same_key_and_body_return_the_first_result_without_a_second_storefront_call(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    first = run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 1)]))
    again = run(
        new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 1)], actor="someone else")
    )
    assert again.replayed and again.cancellation == first.cancellation
    assert len(shop.storefront.cancels) == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 1, 1)


def test_the_same_key_with_another_body_is_refused_as_invalid(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 1)]))
    with pytest.raises(InvalidInput, match="different request"):
        run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 2)]))


def test_more_than_is_waiting_is_refused_and_nothing_changes(new_uow, shop):
    order = place(new_uow, shop, "1001", [("A", 3)])  # 1 from stock, 2 waiting
    with pytest.raises(InvalidInput, match="3 requested but only 2 waiting"):
        run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "A"), 3)]))
    assert shop.storefront.cancels == []
    assert level(new_uow, shop.merchant_id, "A") == (1, 3, 2)
    with new_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cancellation)) == 0


def test_a_line_taken_from_stock_is_refused_as_a_conflict_with_the_reason(new_uow, shop):
    order = place(new_uow, shop, "1001", [("C", 1)])
    with pytest.raises(Conflict, match="taken from stock"):
        run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "C"), 1)]))


def test_an_allocated_line_is_refused_as_a_conflict_with_the_reason(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    arrival = expect(new_uow, shop, "B", 2, NOW.date() + timedelta(days=5))
    incoming.receive_incoming(new_uow(), arrival, quantity=None, now=NOW)
    assert [b.status for b in backorders_of(new_uow, order)] == ["allocated"]
    with pytest.raises(Conflict, match="allocated"):
        run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 1)]))
    with pytest.raises(Conflict, match="allocated"):
        run(new_uow, shop, command(shop, order, key="k2"))
    assert shop.storefront.cancels == []


def test_an_unknown_line_or_another_merchants_order_is_not_found(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    with pytest.raises(NotFound):
        run(new_uow, shop, command(shop, order, [(999, 1)]))
    other = make_shop(new_uow, name="Other Shop", domain="two.myshopify.com")
    with pytest.raises(NotFound):
        run(new_uow, shop, command(other, order))


def test_the_whole_order_is_refused_while_some_of_it_came_from_stock(new_uow, shop):
    order = place(new_uow, shop, "1001", [("A", 3), ("B", 1)])
    with pytest.raises(Conflict, match="whole order cannot be cancelled"):
        run(new_uow, shop, command(shop, order))
    assert shop.storefront.cancels == []


def test_a_whole_order_of_waiting_units_is_cancelled_on_the_storefront_as_a_whole(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    outcome = run(new_uow, shop, command(shop, order))
    [request] = shop.storefront.cancels
    assert request.lines == () and outcome.cancellation["whole_order"]
    with new_uow() as uow:
        assert uow.session.get(Order, order).status == "cancelled"
    assert [b.status for b in backorders_of(new_uow, order)] == ["cancelled"]
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)


def test_support_cancels_then_the_orders_cancelled_webhook_arrives_and_stock_is_released_once(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    run(new_uow, shop, command(shop, order))
    summary = _webhook_cancel(new_uow, shop, "1001", [("B", 2)])
    assert "already cancelled" in summary
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    with new_uow() as uow:
        releases = uow.session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "release")
        )
    assert releases == 1


def test_a_partial_support_cancellation_then_the_storefronts_own_cancel_releases_only_the_rest(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 3)])
    run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 1)]))
    _webhook_cancel(new_uow, shop, "1001", [("B", 2)])
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    with new_uow() as uow:
        released = uow.session.scalars(
            select(StockMovement.committed_delta).where(StockMovement.kind == "release")
        ).all()
    assert sorted(released) == [-2, -1]


def test_the_storefronts_webhook_landing_before_our_ledger_step_still_releases_once(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    # The storefront's orders/cancelled is processed while our call is still on its way back.
    shop.storefront.during_cancel = lambda request: _webhook_cancel(new_uow, shop, "1001", [("B", 2)])
    outcome = run(new_uow, shop, command(shop, order))
    assert outcome.cancellation["status"] == "completed"
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    with new_uow() as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(StockMovement).where(StockMovement.kind == "release")
            )
            == 1
        )


def test_a_storefront_failure_leaves_a_retryable_cancellation_and_no_ledger_change(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    shop.storefront.fail_next.append(unavailable())
    cmd = command(shop, order, [(line_id(new_uow, order, "B"), 2)])
    with pytest.raises(StorefrontFailed) as failed:
        run(new_uow, shop, cmd)
    assert failed.value.retryable
    with new_uow() as uow:
        row = uow.session.get(Cancellation, failed.value.cancellation_id)
        assert row.status == "storefront_error"
        assert "503" in row.storefront_response["error"]["message"]
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)

    resumed = run(new_uow, shop, cmd)
    assert resumed.cancellation["id"] == failed.value.cancellation_id
    assert resumed.cancellation["status"] == "completed" and resumed.cancellation["error"] is None
    assert len(shop.storefront.cancels) == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    assert audit_actions(new_uow) == [
        "cancellation.requested",
        "cancellation.storefront_failed",
        "cancellation.storefront",
        "cancellation.ledger",
    ]


def test_a_definite_storefront_refusal_frees_the_units_and_the_same_key_answers_with_it(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    shop.storefront.fail_next.append(RejectedByChannel("422: refund exceeds the order", channel="one"))
    cmd = command(shop, order, [(line_id(new_uow, order, "B"), 2)])
    with pytest.raises(StorefrontFailed) as failed:
        run(new_uow, shop, cmd)
    assert not failed.value.retryable and "new Idempotency-Key" in str(failed.value)
    with new_uow() as uow:
        assert uow.session.get(Cancellation, failed.value.cancellation_id).status == "refused"
    with pytest.raises(Conflict, match="refund exceeds the order"):
        run(new_uow, shop, cmd)  # the same key: the same answer, nothing sent again
    assert shop.storefront.cancels == []
    # Nothing happened on the store, so nothing holds the units: a new request may cancel them.
    done = run(new_uow, shop, command(shop, order, [(line_id(new_uow, order, "B"), 2)], key="k2"))
    assert done.cancellation["status"] == "completed" and len(shop.storefront.cancels) == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)


def _failed_once(new_uow, shop, cmd) -> int:
    """The storefront call ends in an error, so whether its refund landed is unknown."""
    shop.storefront.fail_next.append(unavailable())
    with pytest.raises(StorefrontFailed) as failed:
        run(new_uow, shop, cmd)
    return failed.value.cancellation_id


def test_units_of_a_cancellation_with_an_unknown_outcome_cannot_be_cancelled_by_another_request(
    new_uow, shop
):
    order = place(new_uow, shop, "1001", [("B", 2)])
    b_line = line_id(new_uow, order, "B")
    _failed_once(new_uow, shop, command(shop, order, [(b_line, 2)]))

    with pytest.raises(Conflict, match="being cancelled by another request"):
        run(new_uow, shop, command(shop, order, [(b_line, 1)], key="customer-self-cancel"))
    with pytest.raises(Conflict, match="nothing is waiting"):
        run(new_uow, shop, command(shop, order, key="auto-cancel", scope="waiting", source="policy"))
    assert shop.storefront.cancels == []
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)


def test_a_retry_after_an_unknown_outcome_sends_the_same_request_though_stock_arrived_meanwhile(
    new_uow, shop
):
    """The first refund may have landed: a retry re-planned against the stock now would refuse (the store
    keeps the refund, the ledger nothing) or ask for fewer units than the refund it then finds."""
    order = place(new_uow, shop, "1001", [("B", 3)])
    cmd = command(shop, order, key="ticket-7", scope="waiting")
    first = _failed_once(new_uow, shop, cmd)
    arrival = expect(new_uow, shop, "B", 1, NOW.date() + timedelta(days=5))
    incoming.receive_incoming(new_uow(), arrival, quantity=None, now=NOW)

    outcome = run(new_uow, shop, cmd)

    assert outcome.cancellation["id"] == first and outcome.cancellation["status"] == "completed"
    [sent] = shop.storefront.cancels
    assert [line.quantity for line in sent.lines] == [3]
    assert sent.idempotency_key.startswith(f"backorder-cancellation:{first}:")
    assert [line["quantity"] for line in outcome.cancellation["lines"]] == [3]
    assert level(new_uow, shop.merchant_id, "B") == (1, 0, 0)  # the unit set aside went back on the shelf


def test_cancelling_moves_up_the_etas_of_the_customers_behind(new_uow, shop):
    day = NOW.date()
    expect(new_uow, shop, "B", 2, day + timedelta(days=10))
    expect(new_uow, shop, "B", 2, day + timedelta(days=30))
    first = place(new_uow, shop, "1001", [("B", 2)])
    second = place(new_uow, shop, "1002", [("B", 2)], when=NOW + timedelta(minutes=1))
    [behind] = backorders_of(new_uow, second)
    assert behind.eta_date == day + timedelta(days=31)
    run(new_uow, shop, command(shop, first))
    [behind] = backorders_of(new_uow, second)
    assert behind.eta_date == day + timedelta(days=11)


def test_two_identical_requests_at_once_make_one_cancellation(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    inside, release = threading.Event(), threading.Event()

    def slow(request):
        inside.set()
        release.wait(5)

    shop.storefront.during_cancel = slow
    cmd = command(shop, order, [(line_id(new_uow, order, "B"), 2)])
    results: list = []

    def attempt():
        try:
            results.append(run(new_uow, shop, cmd).cancellation["status"])
        except InProgress:
            results.append("in progress")

    first = threading.Thread(target=attempt)
    first.start()
    assert inside.wait(5)
    attempt()  # the twin arrives while the first is at the storefront
    release.set()
    first.join(5)
    assert sorted(results) == ["completed", "in progress"]
    assert len(shop.storefront.cancels) == 1
    with new_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Cancellation)) == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)


def test_a_cancellation_without_notify_queues_no_message(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    run(new_uow, shop, command(shop, order, notify=False))
    with new_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification)) == 0
        assert uow.session.scalar(select(Backorder.status)) == "cancelled"


def _webhook_cancel(new_uow, shop, number, lines) -> str:
    with new_uow() as uow:
        channel = uow.session.get(Channel, shop.channel_id)
        info = order_info(number, lines, when=NOW + timedelta(minutes=5))
        result = apply_event(uow, channel, OrderCancelled(info), received_at=NOW, now=NOW)
        uow.commit()
    return result.summary


def test_every_status_a_cancellation_is_written_with_fits_its_column():
    """SQLite ignores VARCHAR lengths, PostgreSQL refuses longer values: `storefront_error` is the longest
    at exactly 16 (stored on PostgreSQL by the storefront-failure test above when TEST_DATABASE_URL is set)."""
    columns = Cancellation.__table__.c
    statuses = [
        cancellations.SENDING,
        cancellations.STOREFRONT_ERROR,
        cancellations.STOREFRONT_DONE,
        cancellations.COMPLETED,
        cancellations.REFUSED,
        columns.status.default.arg,
    ]
    assert max(len(status) for status in statuses) <= columns.status.type.length
    assert all(len(source) <= columns.source.type.length for source in ("support", "customer", "policy"))
