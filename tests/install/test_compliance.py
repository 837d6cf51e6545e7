"""Uninstall and the compliance webhooks: each topic does what it must, and a bad signature gets 401."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from adapters.base import OrderInfo, OrderLineInfo, OrderPlaced
from connector.crypto import Vault
from connector.models import (
    AuditEntry,
    Backorder,
    Base,
    Channel,
    ComplianceRequest,
    InboxDelivery,
    Item,
    Merchant,
    Notification,
    NotificationOptOut,
    Order,
    OutboxRow,
    StockMovement,
    utcnow,
)
from connector.services import channels, inbox, ledger, merchants
from connector.services.sync import apply_event
from connector.storefronts import StorefrontCache
from tests.install.support import SHOP, compliance_body, webhook_headers

EMAIL = "jane.doe@example.com"
NAME = "Jane Doe"
ROUTE = "/webhooks/shopify/compliance"
TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


@pytest.fixture
def shop(new_uow, settings) -> dict[str, int]:
    """A merchant with SHOP installed, stock, two orders by Jane (one waiting) and one by someone else."""
    vault = Vault(settings.encryption_keys)
    merchant = merchants.create_merchant(new_uow(), "Acme")
    channel = channels.add_channel(
        new_uow(), vault, merchant, channels.ShopifyConnection(SHOP, "shpat_abc123")
    )
    with new_uow() as uow:
        uow.session.get(Merchant, merchant).backorder_policy = "allow"
        uow.session.add_all([Item(merchant_id=merchant, sku=s, title=s) for s in ("MUG", "TEE")])
        uow.commit()
    ledger.record(new_uow(), merchant, [ledger.Movement("MUG", "receive", 5, "seed:mug")])
    place(new_uow, channel, "1001", EMAIL, NAME, [("MUG", 2)])
    place(new_uow, channel, "1002", EMAIL, NAME, [("TEE", 1)])  # none in stock: waits
    place(new_uow, channel, "1003", "sam@example.com", "Sam Smith", [("MUG", 1)])
    with new_uow() as uow:
        order = uow.session.scalar(select(Order).where(Order.number == "#1001"))
        uow.session.add_all(
            [
                Notification(
                    merchant_id=merchant,
                    order_id=order.id,
                    kind="confirmed",
                    dedupe_key="confirmed:1",
                    recipient=EMAIL,
                    payload={"name": NAME, "email": EMAIL},
                ),
                NotificationOptOut(merchant_id=merchant, email=EMAIL),
                AuditEntry(
                    merchant_id=merchant,
                    actor="support",
                    action="order.note",
                    subject=f"order #1001 for {EMAIL}",
                    details={"customer": EMAIL},
                ),
                InboxDelivery(
                    merchant_id=merchant,
                    channel_id=channel,
                    platform="shopify",
                    topic="orders/create",
                    dedupe_key="k1",
                    body=json.dumps({"email": EMAIL, "name": "#1001"}).encode(),
                    status="processed",
                ),
            ]
        )
        uow.commit()
    return {"merchant": merchant, "channel": channel}


def place(new_uow, channel_id: int, number: str, email: str, name: str, lines: list[tuple[str, int]]) -> None:
    info = OrderInfo(
        order_id=f"gid://shopify/Order/{number}",
        number=f"#{number}",
        placed_at=datetime(2026, 1, 5, tzinfo=UTC),
        updated_at=datetime(2026, 1, 5, tzinfo=UTC),
        customer_name=name,
        customer_email=email,
        lines=tuple(
            OrderLineInfo(line_id=f"gid://shopify/LineItem/{number}{i}", sku=sku, quantity=qty)
            for i, (sku, qty) in enumerate(lines)
        ),
    )
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
        apply_event(uow, channel, OrderPlaced(info), received_at=utcnow(), now=utcnow())
        uow.commit()


def send(client, topic: str, body: bytes, **header_options):
    return client.post(ROUTE, data=body, headers=webhook_headers(topic, body, **header_options))


def rows_mentioning(new_uow, needle: str) -> list[str]:
    """Tables holding `needle` anywhere in a row (text, JSON or bytes)."""
    found = []
    with new_uow() as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)):
                if any(needle.lower().encode() in _bytes(value).lower() for value in row):
                    found.append(table.name)
                    break
    return found


def _bytes(value) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return json.dumps(value, default=str).encode() if isinstance(value, dict | list) else str(value).encode()


def count(new_uow, model, *where) -> int:
    with new_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("forgery", ["wrong-secret", "missing", "tampered-body"])
def test_a_compliance_webhook_with_a_bad_signature_gets_401_and_changes_nothing(
    client, shop, new_uow, topic, forgery
):
    body = compliance_body(topic, email=EMAIL, orders=[1001])
    headers = webhook_headers(topic, body, secret="not-the-app-secret-" + "0" * 20)
    if forgery == "missing":
        headers = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
    if forgery == "tampered-body":
        headers = webhook_headers(topic, body)
        body = body.replace(b"954889", b"954890")
    response = client.post(ROUTE, data=body, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert count(new_uow, ComplianceRequest) == 0
    assert count(new_uow, Order, Order.customer_email == EMAIL) == 2


def test_a_data_request_exports_everything_held_about_the_customer_for_the_merchant(client, shop, new_uow):
    response = send(client, "customers/data_request", compliance_body("customers/data_request", email=EMAIL))
    assert response.status_code == 200
    with new_uow() as uow:
        request = uow.session.scalar(select(ComplianceRequest))
    assert (request.topic, request.status, request.merchant_id) == (
        "customers/data_request",
        "done",
        shop["merchant"],
    )
    export = request.result["export"]
    assert request.result["action"] == "exported"
    assert [o["number"] for o in export["orders"]] == ["#1001", "#1002"]
    assert export["orders"][0]["customer_email"] == EMAIL
    assert export["orders"][0]["messages"][0]["recipient"] == EMAIL
    assert export["orders"][1]["backorders"][0]["status"] == "waiting"
    assert export["notification_opt_out"] is True
    assert "sam@example.com" not in json.dumps(export)
    assert count(new_uow, Order, Order.customer_email == EMAIL) == 2  # nothing was changed


def test_a_customer_redact_erases_the_customer_but_keeps_orders_and_stock_movements(client, shop, new_uow):
    movements_before = count(new_uow, StockMovement)
    send(client, "customers/data_request", compliance_body("customers/data_request", email=EMAIL))
    body = compliance_body("customers/redact", email=EMAIL, orders=[1001, 1002])
    response = send(client, "customers/redact", body)
    assert response.status_code == 200
    assert rows_mentioning(new_uow, EMAIL) == []
    assert rows_mentioning(new_uow, NAME) == []
    assert count(new_uow, StockMovement) == movements_before
    assert count(new_uow, Order) == 3
    assert count(new_uow, Backorder, Backorder.status == "waiting") == 1
    assert count(new_uow, Order, Order.customer_email == "sam@example.com") == 1  # others untouched
    with new_uow() as uow:
        mug = uow.session.scalar(select(Item).where(Item.sku == "MUG"))
        done = uow.session.scalars(select(ComplianceRequest).order_by(ComplianceRequest.id)).all()
    assert (mug.on_hand, mug.committed) == (5, 3)
    assert done[-1].result["action"] == "redacted" and done[-1].result["orders"] == 2


def test_a_shop_redact_after_uninstall_purges_the_shop_and_its_merchant(client, shop, new_uow):
    with new_uow() as uow:
        uow.session.get(Channel, shop["channel"]).status = "uninstalled"
        uow.commit()
    response = send(client, "shop/redact", compliance_body("shop/redact"))
    assert response.status_code == 200
    left = {}
    with new_uow() as uow:
        for table in Base.metadata.sorted_tables:
            if "merchant_id" in table.c and table.name != "compliance_requests":
                left[table.name] = uow.session.scalar(
                    select(func.count()).select_from(table).where(table.c.merchant_id == shop["merchant"])
                )
        order_lines = uow.session.scalar(text("SELECT COUNT(*) FROM order_lines"))
        request = uow.session.scalar(select(ComplianceRequest))
    assert set(left.values()) == {0}, left
    assert order_lines == 0
    assert count(new_uow, Merchant) == 0
    assert (request.topic, request.merchant_id, request.result["merchant_purged"]) == (
        "shop/redact",
        None,
        True,
    )


def test_a_shop_redact_keeps_the_merchants_other_stores_and_its_stock(client, shop, new_uow, settings):
    vault = Vault(settings.encryption_keys)
    woo = channels.add_channel(
        new_uow(),
        vault,
        shop["merchant"],
        channels.WooCommerceConnection("http://127.0.0.1:9", "ck_1", "cs_1"),
    )
    movements = count(new_uow, StockMovement)
    with new_uow() as uow:
        uow.session.get(Channel, shop["channel"]).status = "uninstalled"
        uow.commit()
    send(client, "shop/redact", compliance_body("shop/redact"))
    assert count(new_uow, Channel) == 1 and count(new_uow, Channel, Channel.id == woo) == 1
    assert count(new_uow, Order) == 0
    assert count(new_uow, Item) == 2
    assert count(new_uow, StockMovement) == movements
    # The ledger's idempotency keys name the shop (shopify:<shop>:order:…); the stock they moved stays.
    assert sorted(rows_mentioning(new_uow, SHOP)) == ["compliance_requests", "stock_movements"]


def test_a_shop_redact_for_a_shop_that_installed_again_keeps_its_data(client, shop, new_uow):
    response = send(client, "shop/redact", compliance_body("shop/redact"))
    assert response.status_code == 200
    assert count(new_uow, Order) == 3
    with new_uow() as uow:
        assert uow.session.scalar(select(ComplianceRequest)).result["action"] == "kept"


def test_a_request_for_a_shop_we_never_knew_is_answered_and_recorded(client, new_uow):
    other = "stranger.myshopify.com"
    body = compliance_body("customers/redact", shop=other, email=EMAIL)
    response = send(client, "customers/redact", body, shop=other)
    assert response.status_code == 200
    with new_uow() as uow:
        request = uow.session.scalar(select(ComplianceRequest))
    assert (request.merchant_id, request.result["action"]) == (None, "none")
    assert EMAIL not in json.dumps(request.payload)


def test_a_topic_that_is_not_a_compliance_topic_is_refused(client, shop):
    response = send(client, "orders/create", b'{"id": 1}')
    assert response.status_code == 400


def test_a_body_naming_another_shop_than_its_header_is_refused(client, shop, new_uow):
    body = compliance_body("shop/redact", shop="other.myshopify.com")
    response = send(client, "shop/redact", body)
    assert response.status_code == 400
    assert count(new_uow, ComplianceRequest) == 0


def test_app_uninstalled_stops_the_channel_and_drops_what_was_queued(client, shop, new_uow, settings):
    with new_uow() as uow:
        mug = uow.session.scalar(select(Item).where(Item.sku == "MUG"))
        uow.session.add(
            OutboxRow(
                merchant_id=shop["merchant"], channel_id=shop["channel"], item_id=mug.id, kind="quantity"
            )
        )
        uow.commit()
    body = json.dumps({"id": 1, "myshopify_domain": SHOP}).encode()
    response = client.post("/webhooks/shopify", data=body, headers=webhook_headers("app/uninstalled", body))
    assert response.status_code == 200
    report = inbox.process_due(new_uow, StorefrontCache(settings).get, utcnow)
    assert (report.processed, report.failed) == (1, 0)
    with new_uow() as uow:
        channel = uow.session.get(Channel, shop["channel"])
        queued = uow.session.scalars(select(OutboxRow.status)).all()
        delivery = uow.session.scalar(select(InboxDelivery).where(InboxDelivery.topic == "app/uninstalled"))
    assert (channel.status, channel.credentials_encrypted) == ("uninstalled", None)
    assert queued == ["dead"]
    assert "uninstalled, token discarded" in delivery.outcome


def test_a_compliance_topic_sent_to_the_main_webhook_route_is_carried_out_by_the_worker(
    client, shop, new_uow, settings
):
    body = compliance_body("customers/data_request", email=EMAIL)
    response = client.post(
        "/webhooks/shopify", data=body, headers=webhook_headers("customers/data_request", body)
    )
    assert response.status_code == 200
    inbox.process_due(new_uow, StorefrontCache(settings).get, utcnow)
    with new_uow() as uow:
        request = uow.session.scalar(select(ComplianceRequest))
        outcome = uow.session.scalar(
            select(InboxDelivery.outcome).where(InboxDelivery.topic == "customers/data_request")
        )
    assert request.result["orders"] == 2
    assert EMAIL not in outcome
