"""Backorders past their maximum wait are cancelled by policy, or the customer is asked first."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connector.db import session_factory
from connector.models import Backorder, Cancellation, JobRun, Merchant, Notification
from connector.services import auto_cancel, incoming, links, policy
from connector.settings import Settings
from jobs import cancellations as job
from jobs.runtime import Runtime
from tests.cancel_helpers import NOW, backorders_of, expect, level, make_shop, place

LINKS = auto_cancel.LinkSettings("https://connector.example", "s" * 32)


@pytest.fixture
def shop(new_uow):
    shop = make_shop(new_uow)
    policy.set_policy(new_uow(), shop.merchant_id, "B", max_wait_days=10, now=NOW)
    return shop


def sweep(new_uow, shop, days: float) -> dict[str, int]:
    return auto_cancel.sweep(new_uow, shop.storefront_for, LINKS, now=NOW + timedelta(days=days))


def merchant_settings(new_uow, shop, **settings):
    with new_uow() as uow:
        merchant = uow.session.get(Merchant, shop.merchant_id)
        merchant.settings = {**(merchant.settings or {}), **settings}
        uow.commit()


def count(new_uow, model) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def test_nothing_is_cancelled_before_the_maximum_wait(new_uow, shop):
    place(new_uow, shop, "1001", [("B", 2)])
    assert sweep(new_uow, shop, 9)["due"] == 0
    assert shop.storefront.cancels == []


def test_a_backorder_past_its_maximum_wait_is_cancelled_with_refund_and_a_message_once(new_uow, shop):
    order = place(new_uow, shop, "1001", [("B", 2)])
    first = sweep(new_uow, shop, 10.5)
    second = sweep(new_uow, shop, 10.6)
    assert (first["due"], first["cancelled"]) == (1, 1)
    assert second["due"] == 0 and len(shop.storefront.cancels) == 1
    [request] = shop.storefront.cancels
    assert request.refund and request.lines == ()  # the backorder was the whole order
    assert [b.status for b in backorders_of(new_uow, order)] == ["cancelled"]
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    with new_uow() as uow:
        [row] = uow.session.scalars(select(Cancellation)).all()
        [note] = uow.session.scalars(select(Notification)).all()
    assert (row.source, row.requested_by, row.idempotency_key) == (
        "policy",
        "policy:auto-cancel",
        f"policy:backorder:{backorders_of(new_uow, order)[0].id}",
    )
    assert "waited more than 10 days" in row.reason
    assert note.kind == "cancelled"


def test_only_waiting_units_are_cancelled_never_allocated_or_from_stock(new_uow, shop):
    policy.set_policy(new_uow(), shop.merchant_id, "A", max_wait_days=10, now=NOW)
    order = place(new_uow, shop, "1001", [("A", 3), ("B", 3)])  # A: 1 from stock, 2 waiting
    arrival = expect(new_uow, shop, "B", 1, NOW.date() + timedelta(days=2))
    incoming.receive_incoming(new_uow(), arrival, quantity=None, now=NOW + timedelta(days=2))
    sweep(new_uow, shop, 11)
    lines = {line.line_id: line.quantity for request in shop.storefront.cancels for line in request.lines}
    assert lines == {"gid://shopify/LineItem/1001A": 2, "gid://shopify/LineItem/1001B": 2}
    a, b = backorders_of(new_uow, order)
    assert (a.status, a.quantity_cancelled) == ("cancelled", 2)
    assert (b.status, b.quantity_allocated, b.quantity_cancelled) == ("allocated", 1, 2)
    assert level(new_uow, shop.merchant_id, "A")[1] == 1  # the unit from stock is still committed


def test_past_the_promised_date_plus_grace_a_backorder_is_cancelled(new_uow, shop):
    policy.set_policy(new_uow(), shop.merchant_id, "B", max_wait_days=365, now=NOW)
    merchant_settings(new_uow, shop, auto_cancel_grace_days=3)
    order = place(new_uow, shop, "1001", [("B", 1)])
    [row] = backorders_of(new_uow, order)
    days_to_promise = (row.promised_date - NOW.date()).days
    assert sweep(new_uow, shop, days_to_promise + 3)["due"] == 0
    assert sweep(new_uow, shop, days_to_promise + 4)["cancelled"] == 1


def test_with_confirm_before_cancel_the_customer_is_asked_once_then_cancelled_without_an_answer(
    new_uow, shop
):
    merchant_settings(new_uow, shop, confirm_before_cancel=True, confirm_days=5)
    order = place(new_uow, shop, "1001", [("B", 2)])
    assert sweep(new_uow, shop, 11)["asked"] == 1
    assert sweep(new_uow, shop, 12)["asked"] == 0
    [row] = backorders_of(new_uow, order)
    assert row.wait_confirm_requested_at == NOW + timedelta(days=11)
    with new_uow() as uow:
        [note] = uow.session.scalars(select(Notification)).all()
    assert (note.kind, note.dedupe_key, note.recipient) == (
        "confirm_wait",
        f"confirm_wait:{row.id}",
        "ann@example.com",
    )
    assert note.payload["respond_by"] == (NOW + timedelta(days=16)).date().isoformat()
    token = note.payload["confirm_url"].split("/c/")[1].removesuffix("/wait")
    assert links.read_cancel_token(LINKS.secret_key, token, NOW + timedelta(days=12)) == order
    assert shop.storefront.cancels == []

    assert sweep(new_uow, shop, 15.9)["cancelled"] == 0
    assert sweep(new_uow, shop, 16)["cancelled"] == 1
    assert "no answer" in shop.storefront.cancels[0].reason


def test_a_customer_who_confirms_keeps_waiting(new_uow, shop):
    merchant_settings(new_uow, shop, confirm_before_cancel=True)
    order = place(new_uow, shop, "1001", [("B", 2)])
    sweep(new_uow, shop, 11)
    assert auto_cancel.confirm_wait(new_uow, order, now=NOW + timedelta(days=12)) == 1
    assert sweep(new_uow, shop, 40)["due"] == 0
    assert shop.storefront.cancels == []


def test_a_merchant_can_turn_auto_cancel_off(new_uow, shop):
    merchant_settings(new_uow, shop, auto_cancel=False)
    place(new_uow, shop, "1001", [("B", 2)])
    assert sweep(new_uow, shop, 100)["due"] == 0


def test_two_sweeps_at_once_cancel_each_backorder_once(new_uow, shop):
    for number in ("1001", "1002", "1003"):
        place(new_uow, shop, number, [("B", 1)])
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(sweep(new_uow, shop, 11))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(shop.storefront.cancels) == 3
    assert count(new_uow, Cancellation) == 3
    assert count(new_uow, Notification) == 3
    assert sum(r["cancelled"] for r in results) == 3
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)


def test_two_sweeps_at_once_ask_each_customer_once(new_uow, shop):
    merchant_settings(new_uow, shop, confirm_before_cancel=True)
    for number in ("1001", "1002"):
        place(new_uow, shop, number, [("B", 1)])
    threads = [threading.Thread(target=lambda: sweep(new_uow, shop, 11)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert count(new_uow, Notification) == 2


def test_the_job_records_its_run_with_counts(new_uow, shop, engine, tmp_path):
    place(new_uow, shop, "1001", [("B", 2)])
    settings = Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "APP_URL": "https://connector.example"})
    runtime = Runtime(settings, session_factory(engine), shop)
    counts = job.sweep(runtime, NOW + timedelta(days=11))
    job.sweep(runtime, NOW + timedelta(days=11, hours=1))
    assert counts["cancelled"] == 1
    with new_uow() as uow:
        runs = uow.session.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.job, r.outcome) for r in runs] == [("cancellations.auto_cancel", "ok")] * 2
    assert runs[1].counts["cancelled"] == 0
    assert len(shop.storefront.cancels) == 1


def test_a_storefront_failure_is_counted_and_the_next_sweep_resumes(new_uow, shop):
    from tests.cancel_helpers import unavailable

    place(new_uow, shop, "1001", [("B", 2)])
    shop.storefront.fail_next.append(unavailable())
    assert sweep(new_uow, shop, 11)["failed"] == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 2, 2)
    assert sweep(new_uow, shop, 11.1)["cancelled"] == 1
    assert level(new_uow, shop.merchant_id, "B") == (0, 0, 0)
    with new_uow() as uow:
        assert uow.session.scalar(select(Backorder.status)) == "cancelled"
