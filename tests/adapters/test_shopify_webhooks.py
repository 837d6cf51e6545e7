"""Shopify webhooks: signature checks over the raw body, and REST bodies read into neutral events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from adapters.base import (
    AppUninstalled,
    ComplianceRequest,
    Ignored,
    ListingRef,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    ProductChanged,
    StockChanged,
)
from adapters.errors import WebhookRejected
from tests.adapters.shopify_support import ENDPOINT, SECRET, SHOP, FakeTime, answer, make_channel


@pytest.fixture
def time():
    return FakeTime()


@pytest.fixture
def channel(time):
    return make_channel(time)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(topic: str, body: bytes, **extra: str) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        **extra,
    }


def events(channel, topic: str, payload: dict) -> list:
    body = json.dumps(payload).encode()
    return channel.parse_webhook(channel.verify_webhook(delivery_headers(topic, body), body))


ORDER = {
    "id": 450789469,
    "name": "#1001",
    "order_number": 1001,
    "email": "bob@example.com",
    "created_at": "2026-11-20T11:00:00-05:00",
    "updated_at": "2026-11-21T08:15:00-05:00",
    "cancelled_at": None,
    "financial_status": "paid",
    "tags": "backorder, vip",
    "customer": {"id": 207119551, "first_name": "Bob", "last_name": "Norman", "email": "bob@example.com"},
    "line_items": [
        {
            "id": 466157049,
            "product_id": 632910392,
            "variant_id": 39072856,
            "sku": "IPOD-GREEN",
            "title": "IPod Nano - 8gb",
            "quantity": 2,
            "price": "199.00",
        }
    ],
}


# Verification


def test_a_correctly_signed_delivery_is_accepted_with_any_header_case(channel):
    body = b'{"id": 1}'
    headers = {
        k.lower(): v
        for k, v in delivery_headers("orders/create", body, **{"X-Shopify-Event-Id": "evt-1"}).items()
    }

    delivery = channel.verify_webhook(headers, body)

    assert (delivery.topic, delivery.dedupe_key, delivery.body) == ("orders/create", "evt-1", body)
    assert delivery.headers["X-Shopify-Shop-Domain"] == SHOP


def test_without_an_event_id_the_delivery_id_is_the_dedupe_key(channel):
    body = b"{}"

    delivery = channel.verify_webhook(delivery_headers("orders/create", body), body)

    assert delivery.dedupe_key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_a_wrong_signature_is_a_401(channel):
    body = b'{"id": 1}'
    headers = delivery_headers(
        "orders/create", body, **{"X-Shopify-Hmac-Sha256": sign(body, "another-secret")}
    )

    with pytest.raises(WebhookRejected) as raised:
        channel.verify_webhook(headers, body)

    assert raised.value.status == 401


def test_a_body_changed_after_signing_is_a_401(channel):
    headers = delivery_headers("orders/create", b'{"id": 1}')

    with pytest.raises(WebhookRejected) as raised:
        channel.verify_webhook(headers, b'{"id": 2}')

    assert raised.value.status == 401


def test_a_missing_signature_is_a_401(channel):
    headers = delivery_headers("orders/create", b"{}")
    del headers["X-Shopify-Hmac-Sha256"]

    with pytest.raises(WebhookRejected) as raised:
        channel.verify_webhook(headers, b"{}")

    assert raised.value.status == 401


def test_a_channel_without_a_secret_accepts_nothing(time):
    body = b"{}"

    with pytest.raises(WebhookRejected) as raised:
        make_channel(time, webhook_secret=None).verify_webhook(delivery_headers("orders/create", body), body)

    assert raised.value.status == 401


# Parsing


def test_orders_create_is_an_order_placed_with_graphql_ids(channel):
    [event] = events(channel, "orders/create", ORDER)

    assert isinstance(event, OrderPlaced)
    order = event.order
    assert (order.order_id, order.number, order.customer_name, order.customer_email) == (
        "gid://shopify/Order/450789469",
        "#1001",
        "Bob Norman",
        "bob@example.com",
    )
    assert order.placed_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert (order.financial_status, order.tags, order.cancelled) == ("paid", ("backorder", "vip"), False)
    [line] = order.lines
    assert (line.line_id, line.sku, line.quantity, line.price) == (
        "gid://shopify/LineItem/466157049",
        "IPOD-GREEN",
        2,
        Decimal("199.00"),
    )
    assert line.ref == ListingRef("gid://shopify/Product/632910392", "gid://shopify/ProductVariant/39072856")


def test_orders_updated_carries_its_update_time_and_what_is_left_on_each_line(channel):
    updated = {**ORDER, "line_items": [{**ORDER["line_items"][0], "current_quantity": 1}]}

    [event] = events(channel, "orders/updated", updated)

    assert isinstance(event, OrderUpdated)
    assert event.order.updated_at == datetime(2026, 11, 21, 13, 15, tzinfo=UTC)
    assert event.order.lines[0].quantity == 1


def test_orders_cancelled_says_whether_stock_went_back(channel):
    cancelled = {**ORDER, "cancelled_at": "2026-11-21T09:00:00-05:00", "cancel_reason": "inventory"}
    restocked = {
        **cancelled,
        "refunds": [{"refund_line_items": [{"line_item_id": 466157049, "restock_type": "cancel"}]}],
    }
    kept = {
        **cancelled,
        "refunds": [{"refund_line_items": [{"line_item_id": 466157049, "restock_type": "no_restock"}]}],
    }

    [with_restock] = events(channel, "orders/cancelled", restocked)
    [without_restock] = events(channel, "orders/cancelled", kept)

    assert isinstance(with_restock, OrderCancelled) and with_restock.order.cancelled
    assert with_restock.restock is True
    assert without_restock.restock is False


def test_an_inventory_level_update_is_a_stock_change_for_the_inventory_item(channel):
    level = {
        "inventory_item_id": 808950810,
        "location_id": 905684977,
        "available": 6,
        "updated_at": "2026-11-21T15:51:26-04:00",
    }

    [event] = events(channel, "inventory_levels/update", level)

    assert event == StockChanged(
        ref=ListingRef("", "", "gid://shopify/InventoryItem/808950810"),
        quantity=6,
        updated_at=datetime(2026, 11, 21, 19, 51, 26, tzinfo=UTC),
    )


def test_stock_at_another_location_or_untracked_is_ignored(channel):
    elsewhere = {"inventory_item_id": 808950810, "location_id": 1, "available": 6}
    untracked = {"inventory_item_id": 808950810, "location_id": 905684977, "available": None}

    assert isinstance(events(channel, "inventory_levels/update", elsewhere)[0], Ignored)
    assert isinstance(events(channel, "inventory_levels/update", untracked)[0], Ignored)


def test_products_update_gives_entries_that_match_the_catalogue_read(channel, time):
    product = {
        "id": 632910392,
        "title": "IPod Nano - 8GB",
        "body_html": "<p>Small.</p>",
        "product_type": "Cult Products",
        "vendor": "Apple",
        "tags": "Emotive, Flash Memory",
        "options": [{"name": "Color", "position": 1}],
        "variants": [
            {
                "id": 808950810,
                "product_id": 632910392,
                "title": "Pink",
                "sku": "IPOD2008PINK",
                "price": "199.00",
                "option1": "Pink",
                "inventory_policy": "continue",
                "inventory_item_id": 808950810,
            }
        ],
    }

    [event] = events(channel, "products/update", product)

    assert isinstance(event, ProductChanged)
    [entry] = event.entries
    assert entry.ref == ListingRef(
        "gid://shopify/Product/632910392",
        "gid://shopify/ProductVariant/808950810",
        "gid://shopify/InventoryItem/808950810",
    )
    assert (entry.sku, entry.product_title, entry.variant_title, entry.vendor) == (
        "IPOD2008PINK",
        "IPod Nano - 8GB",
        "Pink",
        "Apple",
    )
    assert entry.tags == ("Emotive", "Flash Memory")
    assert entry.options == {"Color": "Pink"}
    assert (entry.policy, entry.raw_policy, entry.price, entry.quantity) == (
        "allow",
        "CONTINUE",
        Decimal("199.00"),
        None,
    )
    # The same variant read through GraphQL has the same ref.
    with responses.RequestsMock() as shopify:
        node = {
            "id": "gid://shopify/ProductVariant/808950810",
            "sku": "IPOD2008PINK",
            "title": "Pink",
            "price": "199.00",
            "inventoryPolicy": "CONTINUE",
            "selectedOptions": [{"name": "Color", "value": "Pink"}],
            "product": {"id": "gid://shopify/Product/632910392", "title": "IPod Nano - 8GB", "tags": []},
            "inventoryItem": {
                "id": "gid://shopify/InventoryItem/808950810",
                "tracked": True,
                "inventoryLevel": None,
            },
        }
        page = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [node]}
        shopify.post(ENDPOINT, json=answer({"productVariants": page}))
        [read] = make_channel(time).read_catalog().entries
    assert read.ref == entry.ref and read.raw_policy == entry.raw_policy


def test_app_uninstalled_names_the_shop(channel):
    [event] = events(channel, "app/uninstalled", {"id": 690933842, "name": "Acme", "myshopify_domain": SHOP})

    assert event == AppUninstalled(shop=SHOP)


@pytest.mark.parametrize(
    ("topic", "payload", "email", "orders"),
    [
        (
            "customers/data_request",
            {
                "shop_id": 954889,
                "shop_domain": SHOP,
                "customer": {"id": 191167, "email": "john@example.com"},
                "orders_requested": [299938, 280263],
            },
            "john@example.com",
            ("gid://shopify/Order/299938", "gid://shopify/Order/280263"),
        ),
        (
            "customers/redact",
            {
                "shop_id": 954889,
                "shop_domain": SHOP,
                "customer": {"id": 191167, "email": "john@example.com"},
                "orders_to_redact": [299938],
            },
            "john@example.com",
            ("gid://shopify/Order/299938",),
        ),
        ("shop/redact", {"shop_id": 954889, "shop_domain": SHOP}, None, ()),
    ],
)
def test_compliance_topics_are_compliance_requests(channel, topic, payload, email, orders):
    [event] = events(channel, topic, payload)

    assert isinstance(event, ComplianceRequest)
    assert (event.topic, event.shop, event.customer_email, event.order_ids) == (topic, SHOP, email, orders)
    assert event.payload == payload


def test_a_topic_we_do_not_use_is_ignored(channel):
    [event] = events(channel, "carts/update", {"id": 1})

    assert isinstance(event, Ignored)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_signed_body_that_is_not_a_json_object_is_a_400(channel, body):
    delivery = channel.verify_webhook(delivery_headers("orders/create", body), body)

    with pytest.raises(WebhookRejected) as raised:
        channel.parse_webhook(delivery)

    assert raised.value.status == 400


def test_an_order_body_without_an_id_is_a_400(channel):
    body = json.dumps({"name": "#1"}).encode()
    delivery = channel.verify_webhook(delivery_headers("orders/create", body), body)

    with pytest.raises(WebhookRejected) as raised:
        channel.parse_webhook(delivery)

    assert raised.value.status == 400
