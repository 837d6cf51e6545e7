"""The Shopify adapter's transport and catalogue reads, against `responses` standing in for Shopify."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import responses

from adapters.base import Channel, ListingRef, QuantityUpdate
from adapters.errors import (
    ChannelAuthFailed,
    ChannelThrottled,
    ChannelUnavailable,
    OutcomeUnknown,
    RejectedByChannel,
)
from adapters.shopify import documents
from tests.adapters.shopify_support import (
    ENDPOINT,
    LOCATION,
    SHOP,
    TOKEN,
    FakeTime,
    answer,
    make_channel,
    operation,
    operations,
    sent,
    throttled,
)


@pytest.fixture
def shopify():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def time():
    return FakeTime()


def variant_node(n: int, *, policy: str = "DENY", available: int | None = 5, tracked: bool = True) -> dict:
    level = None if available is None else {"quantities": [{"name": "available", "quantity": available}]}
    return {
        "id": f"gid://shopify/ProductVariant/{n}",
        "sku": f"SKU-{n}",
        "title": "Blue / L",
        "price": "19.90",
        "inventoryPolicy": policy,
        "selectedOptions": [{"name": "Colour", "value": "Blue"}, {"name": "Size", "value": "L"}],
        "product": {
            "id": "gid://shopify/Product/77",
            "title": "Rain jacket",
            "descriptionHtml": "<p>Dry.</p>",
            "productType": "Outerwear",
            "vendor": "Acme",
            "tags": ["rain", "jacket"],
        },
        "inventoryItem": {
            "id": f"gid://shopify/InventoryItem/{n}",
            "tracked": tracked,
            "inventoryLevel": level,
        },
    }


def catalog_answer(nodes: list[dict], *, next_cursor: str | None = None, **cost) -> dict:
    page_info = {"hasNextPage": next_cursor is not None, "endCursor": next_cursor}
    return answer({"productVariants": {"pageInfo": page_info, "nodes": nodes}}, **cost)


def test_the_channel_implements_the_port(time):
    assert isinstance(make_channel(time), Channel)


def test_reading_the_catalogue_posts_the_catalogue_query_to_the_pinned_version(shopify, time):
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(1, policy="CONTINUE")]))

    page = make_channel(time).read_catalog()

    call = shopify.calls[0]
    assert call.request.headers["X-Shopify-Access-Token"] == TOKEN
    assert operation(call) == "CatalogPage"
    assert sent(call)["variables"] == {"first": 100, "after": None, "locationId": LOCATION}
    [entry] = page.entries
    assert entry.ref == ListingRef(
        "gid://shopify/Product/77", "gid://shopify/ProductVariant/1", "gid://shopify/InventoryItem/1"
    )
    assert (entry.sku, entry.product_title, entry.variant_title) == ("SKU-1", "Rain jacket", "Blue / L")
    assert (entry.description, entry.product_type, entry.vendor) == ("<p>Dry.</p>", "Outerwear", "Acme")
    assert entry.tags == ("rain", "jacket")
    assert entry.price == Decimal("19.90")
    assert entry.options == {"Colour": "Blue", "Size": "L"}
    assert (entry.quantity, entry.policy, entry.raw_policy) == (5, "allow", "CONTINUE")
    assert page.next_cursor is None


def test_the_catalogue_pages_through_cursors(shopify, time):
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(1)], next_cursor="cursor-1"))
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(2)]))
    channel = make_channel(time)

    first = channel.read_catalog()
    second = channel.read_catalog(first.next_cursor)

    assert first.next_cursor == "cursor-1"
    assert sent(shopify.calls[1])["variables"]["after"] == "cursor-1"
    assert [e.sku for e in first.entries + second.entries] == ["SKU-1", "SKU-2"]
    assert second.next_cursor is None


def test_untracked_and_unstocked_variants_have_no_quantity(shopify, time):
    nodes = [variant_node(1, tracked=False), variant_node(2, available=None)]
    shopify.post(ENDPOINT, json=catalog_answer(nodes))

    entries = make_channel(time).read_catalog().entries

    assert [e.quantity for e in entries] == [None, None]
    assert entries[0].policy == "deny"


def test_without_a_configured_location_the_primary_one_is_read_once(shopify, time):
    shopify.post(ENDPOINT, json=answer({"location": {"id": "gid://shopify/Location/1", "name": "Shop"}}))
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(1)]))
    channel = make_channel(time, location_id=None)

    channel.read_catalog()
    channel.read_catalog()

    assert operations(shopify.calls) == ["PrimaryLocation", "CatalogPage", "CatalogPage"]
    assert sent(shopify.calls[2])["variables"]["locationId"] == "gid://shopify/Location/1"


def test_api_url_and_version_are_configurable(shopify, time):
    shopify.post("http://127.0.0.1:8123/admin/api/2025-07/graphql.json", json=catalog_answer([]))

    make_channel(time, api_url="http://127.0.0.1:8123/", api_version="2025-07").read_catalog()

    assert len(shopify.calls) == 1


def test_a_version_that_is_not_shopifys_is_refused(time):
    with pytest.raises(ValueError, match="not a Shopify API version"):
        make_channel(time, api_version="v2")


def test_throttled_then_success_waits_for_the_requested_cost_to_be_restored(shopify, time):
    shopify.post(ENDPOINT, json=throttled(requested=602, available=100, restore=50))
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(1)]))

    page = make_channel(time).read_catalog()

    assert time.sleeps == [pytest.approx((602 - 100) / 50)]
    assert len(shopify.calls) == 2
    assert len(page.entries) == 1


def test_throttled_beyond_the_retries_raises_channel_throttled(shopify, time):
    shopify.post(ENDPOINT, json=throttled(requested=602, available=100))

    with pytest.raises(ChannelThrottled) as raised:
        make_channel(time, max_retries=2).read_catalog()

    assert len(shopify.calls) == 3
    assert raised.value.retry_after > 0


def test_a_call_the_bucket_cannot_afford_waits_before_it_is_sent(shopify, time):
    shopify.post(
        ENDPOINT, json=catalog_answer([variant_node(1)], next_cursor="c", requested=600, available=100)
    )
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(2)], requested=600, available=400))
    channel = make_channel(time)

    channel.read_catalog()
    channel.read_catalog("c")

    assert time.sleeps == [pytest.approx((600 - 100) / 50)]


def test_a_429_waits_its_retry_after(shopify, time):
    shopify.post(
        ENDPOINT, status=429, headers={"Retry-After": "2.5"}, json={"errors": "Exceeded 2 calls per second"}
    )
    shopify.post(ENDPOINT, json=catalog_answer([]))

    make_channel(time).read_catalog()

    assert time.sleeps == [2.5]
    assert len(shopify.calls) == 2


def test_a_5xx_then_success_backs_off_with_jitter(shopify, time):
    shopify.post(ENDPOINT, status=502, body="Bad Gateway")
    shopify.post(ENDPOINT, status=503, body="Service Unavailable")
    shopify.post(ENDPOINT, json=catalog_answer([variant_node(1)]))

    page = make_channel(time).read_catalog()

    assert len(page.entries) == 1
    first, second = time.sleeps
    assert 0 <= first <= 0.5 and 0 <= second <= 1.0  # full jitter under an exponential ceiling


def test_5xx_beyond_the_retries_is_channel_unavailable(shopify, time):
    shopify.post(ENDPOINT, status=500, body="oops")

    with pytest.raises(ChannelUnavailable, match="HTTP 500"):
        make_channel(time, max_retries=2).read_catalog()

    assert len(shopify.calls) == 3


def test_a_read_timeout_on_a_query_is_retried(shopify, time):
    shopify.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))
    shopify.post(ENDPOINT, json=catalog_answer([]))

    make_channel(time).read_catalog()

    assert len(shopify.calls) == 2


def test_a_timeout_on_a_write_is_an_unknown_outcome_and_not_retried(shopify, time):
    shopify.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(OutcomeUnknown, match="re-read"):
        make_channel(time).tag_order("gid://shopify/Order/1", ["backorder"])

    assert len(shopify.calls) == 1


def test_a_5xx_on_a_write_is_an_unknown_outcome(shopify, time):
    shopify.post(ENDPOINT, status=504, body="Gateway Timeout")

    with pytest.raises(OutcomeUnknown):
        make_channel(time).tag_order("gid://shopify/Order/1", ["backorder"])

    assert len(shopify.calls) == 1


def test_a_connect_timeout_on_a_write_is_retried_because_nothing_was_sent(shopify, time):
    shopify.post(ENDPOINT, body=requests.ConnectTimeout("connect timed out"))
    shopify.post(
        ENDPOINT, json=answer({"tagsAdd": {"node": {"id": "gid://shopify/Order/1"}, "userErrors": []}})
    )

    make_channel(time).tag_order("gid://shopify/Order/1", ["backorder"])

    assert len(shopify.calls) == 2


def test_a_timeout_on_a_write_with_an_idempotency_key_is_retried_with_the_same_key(shopify, time):
    shopify.post(ENDPOINT, body=requests.ReadTimeout("read timed out"))
    applied = {
        "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"},
        "userErrors": [],
    }
    shopify.post(ENDPOINT, json=answer({"inventorySetQuantities": applied}))
    ref = ListingRef(
        "gid://shopify/Product/1", "gid://shopify/ProductVariant/1", "gid://shopify/InventoryItem/1"
    )

    [outcome] = make_channel(time).set_quantities(
        [QuantityUpdate(ref, 4, expected=3)], idempotency_key="push-9"
    )

    assert outcome.status == "ok"
    assert [sent(call)["variables"]["key"] for call in shopify.calls] == ["push-9", "push-9"]


@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_failure_raises_at_once_without_the_token(shopify, time, status):
    shopify.post(ENDPOINT, status=status, json={"errors": "[API] Invalid API key or access token"})

    with pytest.raises(ChannelAuthFailed) as raised:
        make_channel(time).read_catalog()

    assert len(shopify.calls) == 1
    assert raised.value.retryable is False
    assert TOKEN not in str(raised.value)
    assert SHOP in str(raised.value)


def test_graphql_errors_are_rejected_with_shopifys_message(shopify, time):
    shopify.post(ENDPOINT, json={"errors": [{"message": "Field 'nope' doesn't exist on type 'Shop'"}]})

    with pytest.raises(RejectedByChannel, match="Field 'nope' doesn't exist"):
        make_channel(time).read_catalog()


def test_the_token_never_reaches_the_logs(shopify, time, caplog):
    shopify.post(ENDPOINT, status=502, body="Bad Gateway")
    shopify.post(ENDPOINT, json=throttled(requested=602, available=100))
    shopify.post(ENDPOINT, json=catalog_answer([]))

    with caplog.at_level(logging.DEBUG):
        channel = make_channel(time)
        channel.read_catalog()

    assert caplog.records, "retries are logged"
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(channel)


def test_reading_quantities_asks_by_inventory_item_or_else_by_variant(shopify, time):
    by_item = ListingRef(
        "gid://shopify/Product/1", "gid://shopify/ProductVariant/1", "gid://shopify/InventoryItem/1"
    )
    by_variant = ListingRef("gid://shopify/Product/2", "gid://shopify/ProductVariant/2")
    gone = ListingRef(
        "gid://shopify/Product/3", "gid://shopify/ProductVariant/3", "gid://shopify/InventoryItem/3"
    )
    level = {"quantities": [{"name": "available", "quantity": 7}]}
    nodes = [
        {"id": "gid://shopify/InventoryItem/1", "tracked": True, "inventoryLevel": level},
        {
            "id": "gid://shopify/ProductVariant/2",
            "inventoryItem": {
                "id": "gid://shopify/InventoryItem/2",
                "tracked": True,
                "inventoryLevel": {"quantities": [{"name": "available", "quantity": -2}]},
            },
        },
        None,
    ]
    shopify.post(ENDPOINT, json=answer({"nodes": nodes}))

    quantities = make_channel(time).read_quantities([by_item, by_variant, gone])

    assert operation(shopify.calls[0]) == "InventoryQuantities"
    assert sent(shopify.calls[0])["variables"] == {
        "ids": [
            "gid://shopify/InventoryItem/1",
            "gid://shopify/ProductVariant/2",
            "gid://shopify/InventoryItem/3",
        ],
        "locationId": LOCATION,
    }
    assert quantities == {by_item: 7, by_variant: -2, gone: None}


def test_every_graphql_document_is_one_named_operation_and_each_is_used():
    folder = Path(documents.__file__).parent
    names = {path.stem for path in (folder / "graphql").glob("*.graphql")}
    source = "\n".join(path.read_text() for path in folder.glob("*.py"))
    used = set(re.findall(r'(?:load|_run)\(\s*"(\w+)"', source))

    assert names == used
    for name in names:
        document = documents.load(name)
        assert document.operation and document.text
