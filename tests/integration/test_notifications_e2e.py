"""The life of a backorder as its customer hears it: sandbox stores, the worker, and a real SMTP server."""

from datetime import timedelta
from importlib.util import find_spec

import pytest
from babel.dates import format_date
from sqlalchemy import select

from connector.models import Backorder, IncomingStock, Merchant, Notification, utcnow
from connector.services import incoming, ledger, policy
from connector.services.backorders import after_stock_change, merchant_today
from connector.settings import Settings
from jobs.notify import find_due_notifications, send_notifications
from jobs.runtime import Runtime
from tests.integration.conftest import eventually
from tests.notify.smtp import html_of, smtp_server, text_of

SKU = "TEE-NAV-M"  # three on hand in the demo catalogue
SHOPPER = "shopper@example.com"  # the Shopify sandbox's default customer


@pytest.fixture
def smtp():
    with smtp_server() as running:
        yield running


@pytest.fixture
def settings(tmp_path, database_url, smtp):
    """The test settings, with SMTP_URL pointing at the local server (the app and the jobs share them)."""
    env = {"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url, "SMTP_URL": smtp[1]}
    return Settings.from_env(env)


@pytest.fixture
def jobs(app, settings):
    services = app.extensions["backorder"]
    rt = Runtime(settings, services.sessions, services.storefronts)

    def run_twice():
        """The clock's notification jobs, twice over, as an overlapping schedule could run them."""
        for _ in range(2):
            find_due_notifications(rt)
            send_notifications(rt)

    return run_twice


def long_date(value) -> str:
    return format_date(value, format="long", locale="en")


def mails(smtp):
    return smtp[0].messages


def waiting_units(new_uow, merchant_id):
    with new_uow() as uow:
        return ledger.stock_report(uow, merchant_id, SKU)["backordered"]


def test_placed_confirmed_moved_arrived_each_told_once(demo, new_uow, smtp, jobs):
    shopify, _ = demo.sandboxes
    merchant = demo.merchant_id
    with new_uow() as uow:
        today = merchant_today(uow.session.get(Merchant, merchant), utcnow())
    policy.set_policy(new_uow(), merchant, SKU, backorders="allow", now=utcnow())
    incoming_id = incoming.add_incoming(
        new_uow(), merchant, SKU, 10, today + timedelta(days=20), supplier=None, now=utcnow()
    )
    assert (
        shopify.place_order([(SKU, 5)], inventory_behaviour="DECREMENT_IGNORING_POLICY")["userErrors"] == []
    )
    eventually(lambda: waiting_units(new_uow, merchant) == 2)

    # Placed: one confirmation with the ETA and the wait text, however often the jobs run.
    jobs()
    [confirmed] = mails(smtp)
    eta = today + timedelta(days=20 + 1)  # the batch's date plus a handling day
    assert confirmed["To"] == SHOPPER and confirmed["From"].startswith("Demo Shop <")
    assert confirmed["Subject"] == "Order #1001: Organic Cotton Tee - M / Navy is on backorder"
    body = text_of(confirmed)
    assert f"Expected to ship by {long_date(eta)}. Ships in 2–3 weeks." in body
    assert "2 ×" in body and long_date(eta) in html_of(confirmed)
    assert confirmed["List-Unsubscribe"]
    if find_spec("connector.services.links"):
        assert "cancel what is still waiting" in body
    if find_spec("connector.services.substitutes") and "in stock now" in body:
        assert body.count("\n- ") <= 3

    # The supplier moves the delivery ten days later: one message with the old and the new date.
    with new_uow() as uow:
        batch = uow.session.get(IncomingStock, incoming_id)
        batch.expected_date = today + timedelta(days=30)
        after_stock_change(uow, merchant, [batch.item_id], utcnow())
        uow.commit()
    jobs()
    assert len(mails(smtp)) == 2
    moved = mails(smtp)[1]
    assert "new expected date" in moved["Subject"]
    assert f"Before: {long_date(eta)}" in text_of(moved)
    assert f"Now: {long_date(eta + timedelta(days=10))}" in text_of(moved)

    # The stock arrives: the waiting units are set aside and the customer hears it is ready.
    receipt = incoming.receive_incoming(new_uow(), incoming_id, quantity=None, now=utcnow())
    assert receipt.allocated_to_backorders == 2
    jobs()
    jobs()
    assert len(mails(smtp)) == 3
    ready = mails(smtp)[2]
    assert "is ready to ship" in ready["Subject"] and "set aside for you" in text_of(ready)
    assert "cancel" not in text_of(ready).lower()  # nothing is left to cancel

    with new_uow() as uow:
        rows = uow.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.kind, n.status, n.attempts) for n in rows] == [
        ("confirmed", "sent", 1),
        ("eta_moved", "sent", 1),
        ("ready", "sent", 1),
    ]
    assert len({m["Message-ID"] for m in mails(smtp)}) == 3


def test_with_order_notes_woocommerce_gets_a_customer_note_and_shopify_an_email_saying_why(
    demo, new_uow, smtp, jobs
):
    shopify, woo = demo.sandboxes
    merchant = demo.merchant_id
    with new_uow() as uow:
        uow.session.get(Merchant, merchant).settings = {"notify_by_order_note": True}
        uow.commit()
    policy.set_policy(new_uow(), merchant, SKU, backorders="allow", now=utcnow())
    # A shop-manager order beyond stock (the checkout still offers only the three on hand).
    woo_order = woo.place_order([(SKU, 4)], email="wendy@example.com", checkout=False)
    eventually(lambda: waiting_units(new_uow, merchant) == 1)
    shopify.place_order([(SKU, 1)], inventory_behaviour="DECREMENT_IGNORING_POLICY")
    eventually(lambda: waiting_units(new_uow, merchant) == 2)
    jobs()

    notes = woo.store.orders[woo_order["id"]].notes
    [note] = [n for n in notes if n.customer_note]
    assert "is not in stock yet" in note.note
    assert ("wendy@example.com", f"Note added to your order #{woo_order['id']}") in woo.emails
    [mail] = mails(smtp)  # the Shopify customer: Shopify has no customer-visible order notes
    assert mail["To"] == SHOPPER
    with new_uow() as uow:
        rows = {n.recipient: n for n in uow.session.scalars(select(Notification))}
    assert (rows["wendy@example.com"].delivery, rows["wendy@example.com"].status) == ("order_note", "sent")
    shop_row = rows[SHOPPER]
    assert (shop_row.delivery, shop_row.status) == ("email", "sent")
    assert "customer-visible" in shop_row.last_error


def test_a_late_backorder_gets_one_apology_with_a_code_that_exists_on_its_own_store(
    demo, new_uow, smtp, jobs
):
    shopify, woo = demo.sandboxes
    merchant = demo.merchant_id
    with new_uow() as uow:
        uow.session.get(Merchant, merchant).settings = {
            "apology_discount": {"type": "percentage", "value": "10", "expiry_days": 30}
        }
        uow.commit()
    policy.set_policy(new_uow(), merchant, SKU, backorders="allow", now=utcnow())
    woo.place_order([(SKU, 4)], email="wendy@example.com", checkout=False)
    eventually(lambda: waiting_units(new_uow, merchant) == 1)
    shopify.place_order([(SKU, 1)], inventory_behaviour="DECREMENT_IGNORING_POLICY")
    eventually(lambda: waiting_units(new_uow, merchant) == 2)
    jobs()
    assert sorted(m["To"] for m in mails(smtp)) == ["shopper@example.com", "wendy@example.com"]
    assert shopify.discount_codes == [] and woo.coupons == []

    # The dates promised when the orders were placed have passed.
    with new_uow() as uow:
        today = merchant_today(uow.session.get(Merchant, merchant), utcnow())
        for backorder in uow.session.scalars(select(Backorder)):
            backorder.promised_date = today - timedelta(days=2)
        uow.commit()
    jobs()
    jobs()

    sorry = {m["To"]: text_of(m) for m in mails(smtp) if "we are sorry" in m["Subject"]}
    assert sorted(sorry) == ["shopper@example.com", "wendy@example.com"]
    [shopify_code] = shopify.discount_codes
    assert f"discount code for your next order: {shopify_code['code']}" in sorry[SHOPPER]
    assert (shopify_code["percentage"], shopify_code["usage_limit"]) == (0.1, 1)
    [coupon] = woo.coupons
    assert f"discount code for your next order: {coupon['code']}" in sorry["wendy@example.com"]
    assert (coupon["discount_type"], coupon["amount"], coupon["usage_limit"]) == ("percent", "10.00", 1)
    assert coupon["email_restrictions"] == ["wendy@example.com"]
    assert coupon["code"].startswith("sorry-") and coupon["code"] != shopify_code["code"].lower()
    with new_uow() as uow:
        apologies = uow.session.scalars(select(Notification).where(Notification.kind == "delayed")).all()
    assert sorted((n.status, n.attempts, n.payload["discount"]["status"]) for n in apologies) == [
        ("sent", 1, "created"),
        ("sent", 1, "created"),
    ]
