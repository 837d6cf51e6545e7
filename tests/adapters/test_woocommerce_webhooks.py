"""WooCommerce webhooks: subscribing, the creation ping, signatures, dedupe keys and events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from adapters.base import (
    Ignored,
    ListingRef,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    ProductChanged,
    StockChanged,
)
from adapters.errors import WebhookRejected
from adapters.woocommerce import WooCommerceChannel
from tests.adapters.test_woocommerce_adapter import product
from tests.adapters.test_woocommerce_orders import order

STORE = "https://shop.example.com"
API = f"{STORE}/wp-json/wc/v3"
ROUTE = "https://connector.example.com/webhooks/woocommerce/7"
SECRET = "s3cret-for-webhook-142"


@pytest.fixture
def store() -> WooCommerceChannel:
    return WooCommerceChannel(
        STORE, "ck_test", "cs_test", webhook_secrets={"142": SECRET}, sleep=lambda s: None
    )


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(
    topic: str, body: bytes, *, secret: str = SECRET, webhook_id: str = "142"
) -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-ID": webhook_id,
        "X-WC-Webhook-Delivery-ID": "b4d2a7e5c1f0",
    }


def receive(store: WooCommerceChannel, topic: str, resource: dict[str, Any]):
    body = json.dumps(resource).encode()
    delivery = store.verify_webhook(delivery_headers(topic, body), body)
    return delivery, store.parse_webhook(delivery)


def webhook_answer(wid: int, topic: str, url: str = ROUTE) -> dict[str, Any]:
    resource, event = topic.split(".")
    return {"id": wid, "name": topic, "status": "active", "topic": topic, "resource": resource, "event": event, "delivery_url": url}  # fmt: skip


def test_register_creates_one_webhook_per_topic_each_with_its_own_secret(store, mocked):
    mocked.get(f"{API}/webhooks", json=[webhook_answer(5, "order.created", "https://elsewhere.example/hook")])
    for wid, topic in enumerate(
        ("order.created", "order.updated", "order.deleted", "product.updated"), start=150
    ):
        mocked.post(f"{API}/webhooks", status=201, json=webhook_answer(wid, topic))

    ids = store.register_webhooks(ROUTE)

    assert ids == ["150", "151", "152", "153"]
    bodies = [json.loads(c.request.body) for c in mocked.calls[1:]]
    assert [b["topic"] for b in bodies] == [
        "order.created",
        "order.updated",
        "order.deleted",
        "product.updated",
    ]
    assert all(b["delivery_url"] == ROUTE and b["status"] == "active" for b in bodies)
    secrets = [b["secret"] for b in bodies]
    assert len(set(secrets)) == 4 and all(len(s) >= 40 for s in secrets)
    assert {wid: store.webhook_secrets[wid] for wid in ids} == dict(zip(ids, secrets, strict=True))
    assert "secret=[redacted]" in repr(store.subscriptions[0]) and secrets[0] not in repr(store.subscriptions)


def test_registering_again_rotates_the_secret_of_our_webhooks_instead_of_duplicating_them(store, mocked):
    existing = [webhook_answer(150, "order.created"), webhook_answer(151, "order.updated"), webhook_answer(160, "order.updated")]  # fmt: skip
    mocked.get(f"{API}/webhooks", json=existing)
    mocked.put(f"{API}/webhooks/150", json=existing[0])
    mocked.put(f"{API}/webhooks/151", json=existing[1])
    mocked.delete(f"{API}/webhooks/160", json=existing[2])
    mocked.post(f"{API}/webhooks", status=201, json=webhook_answer(170, "order.deleted"))
    mocked.post(f"{API}/webhooks", status=201, json=webhook_answer(171, "product.updated"))

    ids = store.register_webhooks(ROUTE)

    assert ids == ["150", "151", "170", "171"]
    put = json.loads(mocked.calls[1].request.body)
    assert put["status"] == "active" and put["secret"] == store.webhook_secrets["150"]
    assert "force=true" in mocked.calls[3].request.url


def test_the_creation_ping_is_unsigned_and_passes_as_a_ping_to_answer_200(store):
    body = b"webhook_id=153"
    delivery = store.verify_webhook({"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert (delivery.topic, delivery.dedupe_key) == ("ping", "woocommerce:ping:153")
    assert store.parse_webhook(delivery) == [Ignored("webhook creation ping")]


def test_an_unsigned_delivery_that_is_not_a_ping_is_refused_401(store):
    body = json.dumps(order()).encode()
    headers = {
        k: v for k, v in delivery_headers("order.created", body).items() if k != "X-WC-Webhook-Signature"
    }
    with pytest.raises(WebhookRejected, match="missing") as caught:
        store.verify_webhook(headers, body)
    assert caught.value.status == 401


def test_a_bad_signature_or_another_webhooks_secret_is_refused_401(store):
    body = json.dumps(order()).encode()
    with pytest.raises(WebhookRejected, match="bad") as caught:
        store.verify_webhook(delivery_headers("order.created", body, secret="not-the-secret"), body)
    assert caught.value.status == 401
    tampered = body.replace(b"John", b"Jane")
    with pytest.raises(WebhookRejected):
        store.verify_webhook(delivery_headers("order.created", body), tampered)


def test_headers_are_read_whatever_their_case(store):
    body = json.dumps(order()).encode()
    headers = {k.lower(): v for k, v in delivery_headers("order.created", body).items()}
    assert store.verify_webhook(headers, body).topic == "order.created"


def test_a_channel_set_up_with_one_webhook_secret_verifies_with_it(mocked):
    channel = WooCommerceChannel(STORE, "ck", "cs", webhook_secret="channel-wide", sleep=lambda s: None)
    body = json.dumps(order()).encode()
    assert channel.verify_webhook(delivery_headers("order.created", body, secret="channel-wide"), body)


def test_the_dedupe_key_is_webhook_resource_and_modification_time_not_the_delivery_id(store):
    body = json.dumps(order(date_modified_gmt="2026-11-20T19:28:08")).encode()
    first = store.verify_webhook(delivery_headers("order.updated", body), body)
    again = store.verify_webhook(
        {**delivery_headers("order.updated", body), "X-WC-Webhook-Delivery-ID": "other"}, body
    )
    later_body = json.dumps(order(date_modified_gmt="2026-11-20T19:30:00")).encode()
    later = store.verify_webhook(delivery_headers("order.updated", later_body), later_body)
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key.startswith("woocommerce:142:order.updated:727:2026-11-20T19:28:08:")
    assert later.dedupe_key != first.dedupe_key


def test_a_signed_body_that_is_not_json_is_refused_400(store):
    body = b"<html>oops</html>"
    with pytest.raises(WebhookRejected) as caught:
        store.verify_webhook(delivery_headers("order.created", body), body)
    assert caught.value.status == 400


def test_order_created_is_an_order_placed(store):
    _, events = receive(store, "order.created", order())
    [placed] = events
    assert isinstance(placed, OrderPlaced) and placed.order.order_id == "727"
    assert placed.order.placed_at == datetime(2026, 11, 20, 19, 28, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "kind", "restock"),
    [
        ("processing", OrderUpdated, None),
        ("cancelled", OrderCancelled, True),
        ("refunded", OrderCancelled, False),
    ],
)
def test_order_updated_is_an_update_or_a_cancellation(store, status, kind, restock):
    _, [event] = receive(store, "order.updated", order(status=status))
    assert isinstance(event, kind)
    if restock is not None:
        assert event.restock is restock


def test_order_deleted_carries_only_the_id_and_is_ignored(store):
    delivery, [event] = receive(store, "order.deleted", {"id": 727})
    assert isinstance(event, Ignored) and "727" in event.reason
    assert delivery.dedupe_key.startswith("woocommerce:142:order.deleted:727:b4d2a7e5c1f0:")


def test_a_stock_managed_product_update_is_a_stock_change_and_a_product_change(store):
    _, events = receive(store, "product.updated", product(794, stock_quantity=-3, backorders="notify"))
    stock, changed = events
    assert stock == StockChanged(ListingRef("794", "794"), -3, datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    assert isinstance(changed, ProductChanged) and changed.entries[0].policy == "allow"


def test_a_variation_update_arrives_as_a_product_of_type_variation(store):
    body = product(733, type="variation", parent_id=22, name="Ship Your Idea - Blue", attributes=[{"id": 6, "name": "Color", "option": "Blue"}], stock_quantity=4)  # fmt: skip
    _, [stock, changed] = receive(store, "product.updated", body)
    assert stock.ref == ListingRef("22", "733") and stock.quantity == 4
    assert changed.entries[0].options == {"Color": "Blue"}


def test_a_product_without_managed_stock_is_only_a_product_change(store):
    _, events = receive(store, "product.updated", product(795, manage_stock=False, stock_quantity=None))
    assert [type(e) for e in events] == [ProductChanged]


def test_a_variable_parents_update_is_ignored_as_its_variations_come_on_their_own(store):
    _, [event] = receive(store, "product.updated", product(22, type="variable"))
    assert isinstance(event, Ignored)


def test_a_topic_we_do_not_use_is_ignored(store):
    _, [event] = receive(store, "coupon.created", {"id": 5, "code": "SAVE10"})
    assert isinstance(event, Ignored) and "coupon.created" in event.reason


def test_a_malformed_order_is_refused_400(store):
    broken = order()
    del broken["date_created_gmt"]
    body = json.dumps(broken).encode()
    delivery = store.verify_webhook(delivery_headers("order.created", body), body)
    with pytest.raises(WebhookRejected) as caught:
        store.parse_webhook(delivery)
    assert caught.value.status == 400


def test_a_signed_delivery_for_a_channel_with_no_known_secret_is_refused_401():
    channel = WooCommerceChannel(STORE, "ck", "cs", sleep=lambda s: None)
    body = json.dumps(order()).encode()
    with pytest.raises(WebhookRejected, match="no secret") as caught:
        channel.verify_webhook(delivery_headers("order.created", body), body)
    assert caught.value.status == 401


def test_two_changes_in_the_same_second_are_two_deliveries(store):
    updated = json.dumps(order(date_modified_gmt="2026-11-20T19:28:08")).encode()
    cancelled = json.dumps(order(date_modified_gmt="2026-11-20T19:28:08", status="cancelled")).encode()
    first = store.verify_webhook(delivery_headers("order.updated", updated), updated)
    second = store.verify_webhook(delivery_headers("order.updated", cancelled), cancelled)
    assert first.dedupe_key != second.dedupe_key
