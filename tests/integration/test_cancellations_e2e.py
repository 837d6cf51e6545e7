"""Cancellations end to end on the demo's sandbox stores: by support through the API (Shopify), by the
customer through the signed link (WooCommerce), and by policy after the maximum wait (clock moved on)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from adapters.woocommerce import WooCommerceChannel
from connector.demo import WOO_KEY, WOO_SECRET
from connector.models import (
    AuditEntry,
    Cancellation,
    InboxDelivery,
    Notification,
    Order,
    OrderLine,
    StockMovement,
    utcnow,
)
from connector.services import cancellations, ledger, links, policy, tokens
from connector.services.cancellable import LineRequest
from connector.services.cancellations import CancelCommand
from jobs import cancellations as cancel_job
from jobs.runtime import Runtime
from tests.integration.conftest import eventually


def stock(new_uow, merchant_id, sku):
    with new_uow() as uow:
        return ledger.stock_report(uow, merchant_id, sku)


def order_by_number(new_uow, number):
    with new_uow() as uow:
        return uow.session.scalar(select(Order).where(Order.number == number))


def line_of(new_uow, order_id, sku):
    with new_uow() as uow:
        return uow.session.scalar(
            select(OrderLine).where(OrderLine.order_id == order_id, OrderLine.sku == sku)
        )


def count(new_uow, model, *where):
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def storefront_edits(new_uow):
    """Ledger adjustments made because a storefront's number looked like an edit by hand."""
    return count(new_uow, StockMovement, StockMovement.reason == "edited on storefront")


def actions(new_uow, order_id):
    with new_uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.subject == f"order:{order_id}", AuditEntry.action.like("cancellation.%"))
                .order_by(AuditEntry.id)
            )
        )


def settle(new_uow, demo):
    """Let every webhook the stores sent arrive and be processed. A stock change that does not match what
    we expect the store to show is held back for a grace period before it counts as an edit by hand, so
    waiting for an empty inbox also waits out such a hold."""
    shopify, woo = demo.sandboxes
    assert shopify.webhooks.flush(10) and woo.flush_webhooks(10)
    try:
        # Generous: a held-back stock change waits out its 10 s grace, and this machine may be busy.
        eventually(lambda: count(new_uow, InboxDelivery, InboxDelivery.status == "received") == 0, timeout=45)
    except AssertionError:
        with new_uow() as uow:
            waiting = uow.session.scalars(select(InboxDelivery).where(InboxDelivery.status == "received"))
            details = [(d.topic, d.attempts, d.error, d.outcome) for d in waiting]
        raise AssertionError(f"webhook deliveries still waiting: {details}") from None


def test_support_cancels_part_of_a_shopify_order_with_refund_and_restock(demo, app, new_uow):
    shopify, woo = demo.sandboxes
    merchant = demo.merchant_id
    for sku in ("TEE-NAV-M", "TEE-NAV-L"):
        policy.set_policy(new_uow(), merchant, sku, backorders="allow", now=utcnow())
    placed = shopify.place_order(
        [("TEE-NAV-M", 5), ("TEE-NAV-L", 2)], inventory_behaviour="DECREMENT_IGNORING_POLICY"
    )
    assert placed["userErrors"] == []
    eventually(lambda: stock(new_uow, merchant, "TEE-NAV-L")["backordered"] == 2)
    order = order_by_number(new_uow, placed["order"]["name"])
    assert stock(new_uow, merchant, "TEE-NAV-M")["backordered"] == 2  # 3 from stock, 2 waiting

    token = tokens.create_token(new_uow(), merchant, "support", label="Dana at the desk", now=utcnow())
    body = {
        "lines": [
            {"line_id": line_of(new_uow, order.id, "TEE-NAV-M").id, "quantity": 2},
            {"line_id": line_of(new_uow, order.id, "TEE-NAV-L").id, "quantity": 1},
        ],
        "reason": "customer no longer needs them",
        "refund": True,
        "restock": True,
    }
    headers = {"Authorization": f"Bearer {token.token}", "Idempotency-Key": "ticket-4711"}
    client = app.test_client()
    response = client.post(f"/api/v1/orders/{order.id}/cancellations", json=body, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "completed"
    assert Decimal(response.json["refunded_amount"]) == Decimal("72.00")  # 3 tees at 24.00

    [shop_order] = [o for o in shopify.orders if o["name"] == order.number]
    [refund] = shop_order["refunds"]
    assert sorted(
        (r["line_item"]["sku"], r["quantity"], r["restock_type"]) for r in refund["refund_line_items"]
    ) == [
        ("TEE-NAV-L", 1, "cancel"),
        ("TEE-NAV-M", 2, "cancel"),
    ]
    assert shop_order["financial_status"] == "partially_refunded" and shop_order["cancelled_at"] is None
    report_m, report_l = stock(new_uow, merchant, "TEE-NAV-M"), stock(new_uow, merchant, "TEE-NAV-L")
    assert (report_m["on_hand"], report_m["committed"], report_m["backordered"]) == (3, 3, 0)
    assert (report_l["on_hand"], report_l["committed"], report_l["backordered"]) == (0, 1, 1)
    assert actions(new_uow, order.id) == [
        "cancellation.requested",
        "cancellation.storefront",
        "cancellation.ledger",
    ]
    with new_uow() as uow:
        who = set(
            uow.session.scalars(select(AuditEntry.actor).where(AuditEntry.subject == f"order:{order.id}"))
        )
        [note] = uow.session.scalars(select(Notification).where(Notification.kind == "cancelled")).all()
    assert who == {f"token:{token.id} (Dana at the desk)"}
    assert note.recipient == "shopper@example.com" and Decimal(note.payload["refunded_amount"]) == Decimal(
        "72.00"
    )

    # The same request again, and the storefront's own webhooks coming back, change nothing.
    again = client.post(f"/api/v1/orders/{order.id}/cancellations", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    calls = shopify.calls.snapshot()
    assert calls["refundCreate"] == 1
    settle(new_uow, demo)
    assert storefront_edits(new_uow) == 0
    assert stock(new_uow, merchant, "TEE-NAV-M")["committed"] == 3
    assert count(new_uow, StockMovement, StockMovement.kind == "release") == 2
    eventually(lambda: shopify.quantity("TEE-NAV-M") == 0)
    eventually(lambda: woo.product_by_sku("TEE-NAV-M")["stock_quantity"] == 0)


def test_a_customer_cancels_what_waits_on_a_woocommerce_order_through_the_link(demo, app, settings, new_uow):
    _, woo = demo.sandboxes
    merchant = demo.merchant_id
    policy.set_policy(new_uow(), merchant, "HOOD-OLI-S", backorders="allow", now=utcnow())
    eventually(lambda: woo.product_by_sku("HOOD-OLI-S")["backorders"] == "notify")
    placed = woo.place_order([("HOOD-OLI-S", 2), ("HOOD-BLA-M", 1)], email="casey@example.com")
    eventually(lambda: stock(new_uow, merchant, "HOOD-OLI-S")["backordered"] == 2)
    order = order_by_number(new_uow, str(placed["number"]))
    assert stock(new_uow, merchant, "HOOD-BLA-M")["committed"] == 1

    client = app.test_client()
    link = links.cancel_url("", settings.secret_key, order.id, utcnow())
    page = client.get(link).get_data(as_text=True)
    assert "Heavyweight Hoodie" in page and "Cancel the waiting items" in page
    done = client.post(link)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "A refund of 118.00" in done.get_data(as_text=True)

    woo_order = woo.store.orders[int(order.external_id)]
    assert len(woo_order.refund_ids) == 1
    refund = woo.store.refunds[woo_order.refund_ids[0]]
    assert refund.amount == Decimal("118.00")
    eventually(lambda: woo.product_by_sku("HOOD-OLI-S")["stock_quantity"] == 0)  # restocked from -2
    report = stock(new_uow, merchant, "HOOD-OLI-S")
    assert (report["committed"], report["backordered"]) == (0, 0)
    assert (
        stock(new_uow, merchant, "HOOD-BLA-M")["committed"] == 1
    )  # from stock: not the customer's to cancel

    again = client.post(link)
    assert again.status_code == 409 and "Already cancelled" in again.get_data(as_text=True)
    assert len(woo.store.orders[int(order.external_id)].refund_ids) == 1
    settle(new_uow, demo)
    assert storefront_edits(new_uow) == 0
    assert count(new_uow, StockMovement, StockMovement.kind == "release") == 1
    assert actions(new_uow, order.id) == [
        "cancellation.requested",
        "cancellation.storefront",
        "cancellation.ledger",
    ]
    with new_uow() as uow:
        row = uow.session.scalar(select(Cancellation))
    assert (row.source, row.requested_by, row.status) == (
        "customer",
        "customer:casey@example.com",
        "completed",
    )


def test_a_backorder_past_the_maximum_wait_is_cancelled_once_when_the_clock_moves_on(
    demo, app, settings, new_uow
):
    shopify, _ = demo.sandboxes
    merchant = demo.merchant_id
    sku = "SOCK-WOOL-M"  # none on hand
    policy.set_policy(new_uow(), merchant, sku, backorders="allow", max_wait_days=30, now=utcnow())
    eventually(lambda: shopify.variant(sku)["inventory_policy"] == "CONTINUE")
    placed = shopify.place_order([(sku, 2)], email="robin@example.com")
    assert placed["userErrors"] == []
    eventually(lambda: stock(new_uow, merchant, sku)["backordered"] == 2)
    order = order_by_number(new_uow, placed["order"]["name"])

    services = app.extensions["backorder"]
    runtime = Runtime(settings, services.sessions, services.storefronts)
    assert cancel_job.sweep(runtime, utcnow() + timedelta(days=29))["due"] == 0
    later = utcnow() + timedelta(days=31)
    first = cancel_job.sweep(runtime, later)
    second = cancel_job.sweep(runtime, later + timedelta(hours=1))
    assert (first["cancelled"], second["due"]) == (1, 0)

    [shop_order] = [o for o in shopify.orders if o["name"] == order.number]
    assert shop_order["cancelled_at"] is not None and shop_order["financial_status"] == "refunded"
    assert shopify.calls.snapshot()["orderCancel"] == 1
    report = stock(new_uow, merchant, sku)
    assert (report["committed"], report["backordered"]) == (0, 0)
    settle(new_uow, demo)  # orders/cancelled and the restock come back from the store
    assert storefront_edits(new_uow) == 0
    assert count(new_uow, StockMovement, StockMovement.kind == "release") == 1
    assert actions(new_uow, order.id) == [
        "cancellation.requested",
        "cancellation.storefront",
        "cancellation.ledger",
    ]
    with new_uow() as uow:
        assert uow.session.get(Order, order.id).status == "cancelled"
        [note] = uow.session.scalars(select(Notification).where(Notification.kind == "cancelled")).all()
        runs = uow.session.scalars(select(func.count()).select_from(Cancellation)).one()
    assert note.recipient == "robin@example.com" and runs == 1


def test_a_woocommerce_refund_whose_answer_was_lost_is_found_on_the_retry_and_made_once(demo, new_uow):
    """The store applies the refund but a proxy answers 502, and the refunds cannot be read back then:
    the cancellation waits as storefront_error. Retried under the same key, it finds its refund."""
    _, woo = demo.sandboxes
    merchant = demo.merchant_id
    policy.set_policy(new_uow(), merchant, "HOOD-OLI-S", backorders="allow", now=utcnow())
    eventually(lambda: woo.product_by_sku("HOOD-OLI-S")["backorders"] == "notify")
    placed = woo.place_order([("HOOD-OLI-S", 2)], email="casey@example.com")
    eventually(lambda: stock(new_uow, merchant, "HOOD-OLI-S")["backordered"] == 2)
    order = order_by_number(new_uow, str(placed["number"]))
    woo_order = woo.store.orders[int(order.external_id)]

    # No patience in this test: a failed read is not tried again, and nothing sleeps.
    def storefront_for(channel):
        return WooCommerceChannel(
            demo.woocommerce_url, WOO_KEY, WOO_SECRET, max_retries=0, sleep=lambda s: None
        )

    command = CancelCommand(
        merchant_id=merchant,
        order_id=order.id,
        reason="customer changed their mind",
        idempotency_key="ticket-5150",
        scope="lines",
        lines=(LineRequest(line_of(new_uow, order.id, "HOOD-OLI-S").id, 2),),
        actor="token:1 (desk)",
    )
    woo.faults.script("POST", "orders/<id>/refunds", "lost")
    woo.faults.script("GET", "orders/<id>/refunds", "ok", "fail")  # looked for first; then unreadable
    with pytest.raises(cancellations.StorefrontFailed):
        cancellations.cancel(new_uow, storefront_for, command, now=utcnow())
    assert len(woo_order.refund_ids) == 1  # it happened, unknown to us
    # The refund paid back the whole order, which WooCommerce then calls "refunded": its webhook cancels
    # the order here before the retry (what CI on PostgreSQL met by chance). The retry must still finish.
    eventually(lambda: order_by_number(new_uow, str(placed["number"])).status == "cancelled")

    outcome = cancellations.cancel(new_uow, storefront_for, command, now=utcnow())

    assert outcome.cancellation["status"] == "completed"
    assert len(woo_order.refund_ids) == 1
    refund = woo.store.refunds[woo_order.refund_ids[0]]
    assert outcome.cancellation["storefront_reference"] == f"refund:{refund.id}"
    assert Decimal(outcome.cancellation["refunded_amount"]) == refund.amount > 0
    assert [m.key for m in refund.meta] == ["_backorder_refund_request"]
    assert stock(new_uow, merchant, "HOOD-OLI-S")["backordered"] == 0
    assert actions(new_uow, order.id) == [
        "cancellation.requested",
        "cancellation.storefront_failed",
        "cancellation.storefront",
        "cancellation.ledger",
    ]
    settle(new_uow, demo)
    assert storefront_edits(new_uow) == 0
    assert count(new_uow, StockMovement, StockMovement.kind == "release") == 1
