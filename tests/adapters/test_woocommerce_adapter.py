"""The WooCommerce adapter against `responses`: request shapes, catalogue paging, batch writes, retries, auth."""

from __future__ import annotations

import base64
import json
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from adapters.base import BackorderState, Channel, ListingRef, QuantityUpdate, SubstituteList
from adapters.errors import (
    ChannelAuthFailed,
    ChannelThrottled,
    ChannelUnavailable,
    NotFoundOnChannel,
    RejectedByChannel,
)
from adapters.woocommerce import WooCommerceChannel

STORE = "https://shop.example.com"
API = f"{STORE}/wp-json/wc/v3"
KEY, SECRET = "ck_0123456789abcdef0123456789abcdef01234567", "cs_76543210fedcba9876543210fedcba9876543210"


def product(pid: int, **fields: Any) -> dict[str, Any]:
    """A product as `GET products` shows it (fields trimmed to what the adapter reads)."""
    return {
        "id": pid,
        "name": f"Product {pid}",
        "type": "simple",
        "status": "publish",
        "description": "<p>Soft cotton.</p>",
        "sku": f"SKU-{pid}",
        "price": "21.99",
        "manage_stock": True,
        "stock_quantity": 5,
        "stock_status": "instock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "categories": [{"id": 9, "name": "Clothing", "slug": "clothing"}],
        "tags": [{"id": 3, "name": "summer", "slug": "summer"}],
        "attributes": [],
        "variations": [],
        "cross_sell_ids": [],
        "meta_data": [],
        "date_modified_gmt": "2026-11-20T10:00:00",
        **fields,
    }


def variation(vid: int, color: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": vid,
        "sku": f"VAR-{vid}",
        "price": "9.00",
        "description": "",
        "manage_stock": True,
        "stock_quantity": 2,
        "stock_status": "instock",
        "backorders": "notify",
        "attributes": [{"id": 6, "name": "Color", "option": color}],
        "meta_data": [],
        **fields,
    }


def batch_answer(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"update": list(elements)}


def invalid_id(pid: int, code: str = "woocommerce_rest_product_invalid_id") -> dict[str, Any]:
    return {"id": pid, "error": {"code": code, "message": "Invalid ID.", "data": {"status": 400}}}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def store(sleeps: Sleeps) -> WooCommerceChannel:
    return WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_the_adapter_implements_the_channel_port(store):
    assert isinstance(store, Channel)
    assert store.max_quantity_batch == 100


def test_requests_go_to_wc_v3_with_basic_auth_and_a_timeout_well_above_the_package_default(store, mocked):
    mocked.get(f"{API}/products", json=[], headers={"X-WP-TotalPages": "0"})
    store.read_catalog()
    call = mocked.calls[0]
    expected = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert query(call) == {"page": ["1"], "per_page": ["100"], "orderby": ["id"], "order": ["asc"]}
    assert call.request.req_kwargs["timeout"] >= 20


def test_over_plain_http_the_package_signs_with_oauth_in_the_query_instead(mocked):
    channel = WooCommerceChannel("http://127.0.0.1:8081", KEY, SECRET, sleep=lambda s: None)
    mocked.get("http://127.0.0.1:8081/wp-json/wc/v3/products", json=[])
    channel.read_catalog()
    sent = query(mocked.calls[0])
    assert "Authorization" not in mocked.calls[0].request.headers
    assert sent["oauth_consumer_key"] == [KEY] and sent["oauth_signature_method"] == ["HMAC-SHA256"]
    assert "oauth_signature" in sent and SECRET not in mocked.calls[0].request.url


def read_all(channel: WooCommerceChannel) -> tuple[list, list[str | None]]:
    entries, cursors, cursor = [], [], None
    while True:
        page = channel.read_catalog(cursor)
        entries.extend(page.entries)
        cursors.append(page.next_cursor)
        cursor = page.next_cursor
        if cursor is None:
            return entries, cursors


def test_catalog_follows_total_pages_and_reads_variations_page_by_page(store, mocked):
    shirt = product(22, name="Ship Your Idea", type="variable", sku="", variations=[731, 732, 733])
    plain = product(794, name="Premium Quality", manage_stock=False, stock_quantity=None)
    mug = product(801, name="Mug &amp; Lid", backorders="yes", price="", tags=[])
    mocked.get(f"{API}/products", match=[matchers.query_param_matcher({"page": "1", "per_page": "100", "orderby": "id", "order": "asc"})], json=[shirt, plain], headers={"X-WP-TotalPages": "2"})  # fmt: skip
    mocked.get(f"{API}/products", match=[matchers.query_param_matcher({"page": "2", "per_page": "100", "orderby": "id", "order": "asc"})], json=[mug], headers={"X-WP-TotalPages": "2"})  # fmt: skip
    mocked.get(f"{API}/products/22/variations", match=[matchers.query_param_matcher({"page": "1", "per_page": "100", "orderby": "id", "order": "asc"})], json=[variation(731, "Black"), variation(732, "Green", backorders="no")], headers={"X-WP-TotalPages": "2"})  # fmt: skip
    mocked.get(f"{API}/products/22/variations", match=[matchers.query_param_matcher({"page": "2", "per_page": "100", "orderby": "id", "order": "asc"})], json=[variation(733, "Blue", manage_stock="parent", stock_quantity=7)], headers={"X-WP-TotalPages": "2"})  # fmt: skip

    entries, cursors = read_all(store)

    assert cursors == ["page=1&variable=22&vpage=1", "page=1&variable=22&vpage=2", "page=2", None]
    by_variant = {e.ref.variant_id: e for e in entries}
    assert list(by_variant) == ["794", "731", "732", "733", "801"]
    black = by_variant["731"]
    assert black.ref == ListingRef(product_id="22", variant_id="731")
    assert (black.product_title, black.variant_title, dict(black.options)) == (
        "Ship Your Idea",
        "Black",
        {"Color": "Black"},
    )
    assert (black.sku, black.price, black.quantity, black.policy, black.raw_policy) == (
        "VAR-731",
        Decimal("9.00"),
        2,
        "allow",
        "notify",
    )
    assert black.tags == ("summer",) and black.product_type == "Clothing"
    assert by_variant["732"].policy == "deny"
    assert by_variant["733"].quantity == 7  # stock held by the parent product
    premium = by_variant["794"]
    assert premium.ref == ListingRef(product_id="794", variant_id="794")
    assert premium.quantity is None and premium.price == Decimal("21.99")
    mug_entry = by_variant["801"]
    assert (mug_entry.product_title, mug_entry.price, mug_entry.policy, mug_entry.raw_policy) == (
        "Mug & Lid",
        None,
        "allow",
        "yes",
    )


def test_grouped_and_external_products_are_not_listings(store, mocked):
    mocked.get(f"{API}/products", json=[product(1, type="grouped"), product(2, type="external"), product(3)], headers={"X-WP-TotalPages": "1"})  # fmt: skip
    page = store.read_catalog()
    assert [e.ref.variant_id for e in page.entries] == ["3"] and page.next_cursor is None


def test_an_interrupted_import_resumes_inside_a_variable_product_from_its_cursor(sleeps, mocked):
    fresh = WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps)  # a new process: no page in memory
    mocked.get(f"{API}/products/22", json=product(22, name="Ship Your Idea", type="variable"))
    mocked.get(f"{API}/products/22/variations", match=[matchers.query_param_matcher({"page": "2", "per_page": "100", "orderby": "id", "order": "asc"})], json=[variation(733, "Blue")], headers={"X-WP-TotalPages": "2"})  # fmt: skip

    page = fresh.read_catalog("page=4&variable=22,30&vpage=2")

    assert [(e.ref.product_id, e.ref.variant_id, e.product_title) for e in page.entries] == [
        ("22", "733", "Ship Your Idea")
    ]
    assert page.next_cursor == "page=4&variable=30&vpage=1"


def test_a_variable_product_deleted_mid_import_is_skipped(store, mocked):
    mocked.get(f"{API}/products/30", status=404, json={"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})  # fmt: skip
    page = store.read_catalog("page=4&variable=30&vpage=1")
    assert page.entries == [] and page.next_cursor == "page=5"


def test_a_malformed_cursor_is_refused(store):
    with pytest.raises(ValueError, match="cursor"):
        store.read_catalog("page=zero")


def test_read_quantities_asks_for_just_those_ids_and_fields(store, mocked):
    mocked.get(f"{API}/products", json=[{"id": 794, "manage_stock": True, "stock_quantity": 4}, {"id": 795, "manage_stock": False, "stock_quantity": None}])  # fmt: skip
    mocked.get(
        f"{API}/products/22/variations", json=[{"id": 731, "manage_stock": True, "stock_quantity": -2}]
    )
    refs = [
        ListingRef("794", "794"),
        ListingRef("795", "795"),
        ListingRef("22", "731"),
        ListingRef("22", "999"),
    ]

    found = store.read_quantities(refs)

    assert found == {refs[0]: 4, refs[1]: None, refs[2]: -2}
    assert query(mocked.calls[0])["include"] == ["794,795"]
    assert query(mocked.calls[0])["_fields"] == ["id,manage_stock,stock_quantity"]
    assert query(mocked.calls[1])["include"] == ["731,999"]


def test_set_quantities_batches_products_and_variations_and_checks_every_element(store, mocked):
    mocked.get(f"{API}/products", json=[{"id": 794, "manage_stock": True, "stock_quantity": 5}])
    mocked.post(f"{API}/products/batch", json=batch_answer({"id": 794, "manage_stock": True, "stock_quantity": 3}, invalid_id(795)))  # fmt: skip
    mocked.post(f"{API}/products/22/variations/batch", json=batch_answer({"id": 731, "manage_stock": True, "stock_quantity": 0}, {"id": 732, "error": {"code": "woocommerce_rest_invalid_stock", "message": "Nope.", "data": {"status": 400}}}))  # fmt: skip
    updates = [
        QuantityUpdate(ListingRef("794", "794"), 3, expected=5),
        QuantityUpdate(ListingRef("22", "731"), 0),
        QuantityUpdate(ListingRef("795", "795"), 1),
        QuantityUpdate(ListingRef("22", "732"), 4),
    ]

    outcomes = store.set_quantities(updates, idempotency_key="push-1")

    assert [(o.ref.variant_id, o.status, o.quantity) for o in outcomes] == [
        ("794", "ok", 3),
        ("731", "ok", 0),
        ("795", "not_found", None),
        ("732", "failed", None),
    ]
    assert "woocommerce_rest_invalid_stock: Nope." in outcomes[3].reason
    assert query(mocked.calls[0])["include"] == [
        "794"
    ]  # what it shows now: only where we know what to expect
    assert sent_json(mocked.calls[1]) == {
        "update": [
            {"id": 794, "manage_stock": True, "stock_quantity": 3},
            {"id": 795, "manage_stock": True, "stock_quantity": 1},
        ]
    }
    assert sent_json(mocked.calls[2])["update"][0] == {"id": 731, "manage_stock": True, "stock_quantity": 0}


def test_units_the_store_sold_that_we_have_not_heard_of_are_not_offered_again(store, mocked):
    # We believe 6 are shown and want 4 (another store sold 2); this store sold 1 meanwhile (shows 5);
    # and one that shows more than we believed (a restock we have not heard of) gets our number.
    mocked.get(f"{API}/products", json=[{"id": 1, "manage_stock": True, "stock_quantity": 5}, {"id": 2, "manage_stock": True, "stock_quantity": 9}])  # fmt: skip
    mocked.post(f"{API}/products/batch", json=batch_answer({"id": 1, "manage_stock": True, "stock_quantity": 3}, {"id": 2, "manage_stock": True, "stock_quantity": 7}))  # fmt: skip
    updates = [
        QuantityUpdate(ListingRef("1", "1"), 4, expected=6),
        QuantityUpdate(ListingRef("2", "2"), 7, expected=8),
    ]

    outcomes = store.set_quantities(updates, idempotency_key="k")

    assert sent_json(mocked.calls[1])["update"] == [
        {"id": 1, "manage_stock": True, "stock_quantity": 3},
        {"id": 2, "manage_stock": True, "stock_quantity": 7},
    ]
    assert [(o.status, o.quantity, o.replaced) for o in outcomes] == [("ok", 3, None), ("ok", 7, None)]


def test_when_the_stock_cannot_be_read_first_the_quantities_are_written_as_they_are(sleeps, mocked):
    store = WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps, max_retries=1)
    mocked.get(f"{API}/products", status=503)
    mocked.post(f"{API}/products/batch", json=batch_answer({"id": 1, "manage_stock": True, "stock_quantity": 4}))  # fmt: skip

    [outcome] = store.set_quantities(
        [QuantityUpdate(ListingRef("1", "1"), 4, expected=6)], idempotency_key="k"
    )

    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "POST"]
    assert sent_json(mocked.calls[2])["update"] == [{"id": 1, "manage_stock": True, "stock_quantity": 4}]
    assert (outcome.status, outcome.quantity) == ("ok", 4)


def test_a_store_refusing_our_keys_on_the_first_read_is_not_written_to(store, mocked):
    mocked.get(f"{API}/products", status=401, json={"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid.", "data": {"status": 401}})  # fmt: skip
    with pytest.raises(ChannelAuthFailed):
        store.set_quantities([QuantityUpdate(ListingRef("1", "1"), 4, expected=6)], idempotency_key="k")
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_a_variation_that_is_gone_is_not_found(store, mocked):
    code = "woocommerce_rest_product_variation_invalid_id"
    mocked.post(f"{API}/products/22/variations/batch", json=batch_answer(invalid_id(731, code)))
    [outcome] = store.set_quantities([QuantityUpdate(ListingRef("22", "731"), 1)], idempotency_key="k")
    assert outcome.status == "not_found" and code in outcome.reason


def test_set_quantities_sends_at_most_100_items_per_call(store, mocked):
    def echo(request):
        items = json.loads(request.body)["update"]
        return 200, {}, json.dumps(batch_answer(*({**i} for i in items)))

    mocked.add_callback(responses.POST, f"{API}/products/batch", callback=echo)
    updates = [QuantityUpdate(ListingRef(str(i), str(i)), 1) for i in range(1, 251)]

    outcomes = store.set_quantities(updates, idempotency_key="k")

    assert [len(sent_json(c)["update"]) for c in mocked.calls] == [100, 100, 50]
    assert all(o.status == "ok" for o in outcomes) and len(outcomes) == 250


def test_a_batch_refused_as_too_large_is_split_and_sent_again(store, mocked):
    too_large = {"code": "woocommerce_rest_request_entity_too_large", "message": "Unable to accept more than 2 items for this request.", "data": {"status": 413}}  # fmt: skip

    def limit_two(request):
        items = json.loads(request.body)["update"]
        if len(items) > 2:
            return 413, {}, json.dumps(too_large)
        return 200, {}, json.dumps(batch_answer(*items))

    mocked.add_callback(responses.POST, f"{API}/products/batch", callback=limit_two)
    updates = [QuantityUpdate(ListingRef(str(i), str(i)), i) for i in range(1, 6)]

    outcomes = store.set_quantities(updates, idempotency_key="k")

    assert [len(sent_json(c)["update"]) for c in mocked.calls] == [5, 2, 3, 1, 2]
    assert [o.status for o in outcomes] == ["ok"] * 5


def test_a_write_that_times_out_is_re_read_and_only_what_did_not_land_is_sent_again(store, mocked):
    mocked.post(f"{API}/products/batch", body=requests.ReadTimeout("read timed out"))
    mocked.get(f"{API}/products", json=[{"id": 1, "manage_stock": True, "stock_quantity": 10}, {"id": 2, "manage_stock": True, "stock_quantity": 7}])  # fmt: skip
    mocked.post(
        f"{API}/products/batch", json=batch_answer({"id": 2, "manage_stock": True, "stock_quantity": 20})
    )
    updates = [QuantityUpdate(ListingRef("1", "1"), 10), QuantityUpdate(ListingRef("2", "2"), 20)]

    outcomes = store.set_quantities(updates, idempotency_key="k")

    assert [(o.status, o.quantity) for o in outcomes] == [("ok", 10), ("ok", 20)]
    assert [c.request.method for c in mocked.calls] == ["POST", "GET", "POST"]
    assert query(mocked.calls[1])["include"] == ["1,2"]
    assert sent_json(mocked.calls[2]) == {"update": [{"id": 2, "manage_stock": True, "stock_quantity": 20}]}


def test_a_write_that_times_out_twice_is_reported_as_unknown_not_retried_forever(store, mocked):
    mocked.post(f"{API}/products/batch", body=requests.ReadTimeout("read timed out"))
    mocked.get(f"{API}/products", json=[{"id": 1, "manage_stock": True, "stock_quantity": 3}])
    [outcome] = store.set_quantities([QuantityUpdate(ListingRef("1", "1"), 10)], idempotency_key="k")
    assert outcome.status == "failed" and "outcome unknown" in outcome.reason
    assert len(mocked.calls) == 3


def test_429_waits_as_long_as_retry_after_says(store, mocked, sleeps):
    mocked.get(f"{API}/products", status=429, headers={"Retry-After": "7"})
    mocked.get(f"{API}/products", json=[], headers={"X-WP-TotalPages": "0"})
    store.read_catalog()
    assert sleeps == [7.0]


def test_a_long_retry_after_is_handed_back_to_the_dispatcher(store, mocked, sleeps):
    mocked.get(f"{API}/products", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(ChannelThrottled) as caught:
        store.read_catalog()
    assert caught.value.retry_after == 3600 and sleeps == []


def test_5xx_and_read_timeouts_are_retried_with_bounded_jittered_backoff(store, mocked, sleeps):
    mocked.get(f"{API}/products", status=502, body="<html>Bad gateway</html>")
    mocked.get(f"{API}/products", body=requests.ReadTimeout("read timed out"))
    mocked.get(f"{API}/products", json=[product(1)], headers={"X-WP-TotalPages": "1"})
    page = store.read_catalog()
    assert len(page.entries) == 1
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_a_store_that_keeps_failing_becomes_unavailable(sleeps, mocked):
    channel = WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps, max_retries=3)
    mocked.get(f"{API}/products", status=503)
    with pytest.raises(ChannelUnavailable, match="4 attempts"):
        channel.read_catalog()
    assert len(mocked.calls) == 4 and len(sleeps) == 3


def test_wrong_keys_fail_at_once_without_a_fallback(store, mocked):
    mocked.get(f"{API}/products", status=401, json={"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid.", "data": {"status": 401}})  # fmt: skip
    with pytest.raises(ChannelAuthFailed, match="Consumer key is invalid"):
        store.read_catalog()
    assert len(mocked.calls) == 1 and not store.uses_query_string_auth


def test_keys_without_write_permission_fail_with_403(store, mocked):
    mocked.post(f"{API}/products/batch", status=403, json={"code": "woocommerce_rest_cannot_batch", "message": "Sorry, you are not allowed to batch manipulate this resource.", "data": {"status": 403}})  # fmt: skip
    with pytest.raises(ChannelAuthFailed):
        store.set_quantities([QuantityUpdate(ListingRef("1", "1"), 1)], idempotency_key="k")


def test_a_server_that_strips_the_authorization_header_gets_keys_in_the_query_once_and_for_good(
    store, mocked
):
    cannot_view = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}}  # fmt: skip
    mocked.get(f"{API}/products", status=401, json=cannot_view)
    mocked.get(f"{API}/products", json=[product(1)], headers={"X-WP-TotalPages": "2"})
    mocked.get(f"{API}/products", json=[], headers={"X-WP-TotalPages": "2"})

    first = store.read_catalog()
    store.read_catalog(first.next_cursor)

    assert "Authorization" in mocked.calls[0].request.headers
    for call in mocked.calls[1:]:
        assert "Authorization" not in call.request.headers
        assert query(call)["consumer_key"] == [KEY] and query(call)["consumer_secret"] == [SECRET]
    assert store.uses_query_string_auth


def test_the_query_string_fallback_is_tried_only_once(store, mocked):
    cannot_view = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}}  # fmt: skip
    mocked.get(f"{API}/products", status=401, json=cannot_view)
    with pytest.raises(ChannelAuthFailed, match="woocommerce_rest_cannot_view"):
        store.read_catalog()
    assert len(mocked.calls) == 2


def test_400_is_rejected_with_woocommerces_code_and_message_and_404_is_not_found(store, mocked):
    mocked.get(f"{API}/orders/5", status=400, json={"code": "rest_invalid_param", "message": "Invalid parameter(s): id", "data": {"status": 400}})  # fmt: skip
    mocked.get(f"{API}/orders/6", status=404, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})  # fmt: skip
    with pytest.raises(
        RejectedByChannel, match=r"rest_invalid_param: Invalid parameter\(s\): id"
    ) as rejected:
        store.read_order("5")
    assert rejected.value.code == "rest_invalid_param"
    with pytest.raises(NotFoundOnChannel, match="woocommerce_rest_shop_order_invalid_id"):
        store.read_order("6")


def test_keys_reach_neither_logs_nor_error_messages(sleeps, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    channel = WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps, max_retries=1, query_string_auth=True)
    # requests puts the URL, query and all, in a connection error's text.
    leak = requests.ConnectionError(f"Max retries exceeded with url: /wp-json/wc/v3/products?consumer_key={KEY}&consumer_secret={SECRET}")  # fmt: skip
    mocked.get(f"{API}/products", body=leak)
    mocked.get(f"{API}/products", body=leak)
    with pytest.raises(ChannelUnavailable) as caught:
        channel.read_catalog()
    assert KEY not in str(caught.value) and SECRET not in str(caught.value)
    assert KEY not in caplog.text and SECRET not in caplog.text
    assert KEY not in repr(channel) and SECRET not in repr(channel)


def test_backorder_states_set_backorders_and_wait_meta_without_touching_stock_status(store, mocked):
    from datetime import date

    mocked.post(
        f"{API}/products/batch", json=batch_answer({"id": 794, "manage_stock": True, "stock_quantity": 0})
    )
    mocked.post(f"{API}/products/22/variations/batch", json=batch_answer({"id": 731, "manage_stock": True, "stock_quantity": 4}))  # fmt: skip
    states = [
        BackorderState(
            ListingRef("794", "794"),
            "allow",
            wait_text="Ships in 2–3 weeks",
            expected_date=date(2026, 12, 14),
        ),
        BackorderState(ListingRef("22", "731"), "deny", restore_policy="yes"),
        BackorderState(ListingRef("800", "800"), "deny", restore_policy="sometimes"),
    ]

    outcomes = store.set_backorder_states(states)

    assert [o.status for o in outcomes] == ["ok", "ok", "failed"]
    assert "restore_policy" in outcomes[2].reason and len(mocked.calls) == 2
    assert sent_json(mocked.calls[0]) == {
        "update": [
            {
                "id": 794,
                "backorders": "notify",
                "meta_data": [
                    {"key": "_backorder_wait_text", "value": "Ships in 2–3 weeks"},
                    {"key": "_backorder_expected_date", "value": "2026-12-14"},
                ],
            }
        ]
    }
    assert sent_json(mocked.calls[1])["update"] == [
        {
            "id": 731,
            "backorders": "yes",
            "meta_data": [
                {"key": "_backorder_wait_text", "value": None},
                {"key": "_backorder_expected_date", "value": None},
            ],
        }
    ]


def test_substitutes_go_to_meta_and_opted_in_cross_sells_to_the_parent_product(store, mocked):
    mocked.post(f"{API}/products/22/variations/batch", json=batch_answer({"id": 731}))
    mocked.post(f"{API}/products/batch", json=batch_answer({"id": 22}, {"id": 794}))
    lists = [
        SubstituteList(
            ListingRef("22", "731"), (ListingRef("30", "301"), ListingRef("794", "794")), cross_sell=True
        ),
        SubstituteList(ListingRef("794", "794"), (ListingRef("22", "732"),), cross_sell=True),
    ]

    outcomes = store.set_substitutes(lists)

    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert [o.ref for o in outcomes] == [lists[0].ref, lists[1].ref]
    products = {c.request.url.split("/wc/v3/")[1]: sent_json(c)["update"] for c in mocked.calls}
    assert products["products/22/variations/batch"] == [
        {"id": 731, "meta_data": [{"key": "_backorder_substitutes", "value": [301, 794]}]}
    ]
    assert products["products/batch"] == [
        {"id": 794, "meta_data": [{"key": "_backorder_substitutes", "value": [732]}], "cross_sell_ids": [22]},
        {"id": 22, "cross_sell_ids": [30, 794]},
    ]


def test_a_failed_cross_sell_write_fails_the_variations_substitutes(store, mocked):
    mocked.post(f"{API}/products/22/variations/batch", json=batch_answer({"id": 731}))
    mocked.post(f"{API}/products/batch", json=batch_answer(invalid_id(22)))
    lists = [SubstituteList(ListingRef("22", "731"), (ListingRef("30", "30"),), cross_sell=True)]
    [outcome] = store.set_substitutes(lists)
    assert outcome.status == "not_found" and outcome.ref == lists[0].ref


def test_a_write_that_could_not_connect_is_sent_again_and_5xx_on_a_batch_is_retried(store, mocked, sleeps):
    mocked.post(f"{API}/products/batch", body=requests.ConnectTimeout("connect timed out"))
    mocked.post(f"{API}/products/batch", status=503, body="")
    mocked.post(
        f"{API}/products/batch", json=batch_answer({"id": 1, "manage_stock": True, "stock_quantity": 4})
    )
    [outcome] = store.set_quantities([QuantityUpdate(ListingRef("1", "1"), 4)], idempotency_key="k")
    assert outcome.status == "ok" and len(mocked.calls) == 3 and len(sleeps) == 2


def test_an_injected_random_generator_makes_backoff_repeatable(mocked):
    import random

    delays = []
    for _ in range(2):
        sleeps = Sleeps()
        channel = WooCommerceChannel(STORE, KEY, SECRET, sleep=sleeps, rng=random.Random(7), max_retries=2)
        mocked.get(f"{API}/products", status=500)
        with pytest.raises(ChannelUnavailable):
            channel.read_catalog()
        delays.append(list(sleeps))
    assert delays[0] == delays[1] and len(delays[0]) == 2
