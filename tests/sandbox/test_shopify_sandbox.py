"""The Shopify sandbox, over real HTTP on loopback: it must behave as Shopify's Admin API does."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask, request
from graphql import build_client_schema, build_schema

from adapters.sandbox.common import Faults, WebhookSender
from adapters.sandbox.server import start_in_thread
from adapters.sandbox.shopify import ShopifySandbox
from adapters.sandbox.shopify.schema import SDL_PATH
from connector.domain.catalog import ItemDraft

from .schema_subset import subset_problems

TOKEN = "shpat_test"
VERSION = "2026-10"
REAL_SCHEMA = Path(
    os.environ.get(
        "SHOPIFY_ADMIN_SCHEMA",
        Path(__file__).resolve().parents[3] / "shared/reference/shopify/admin_schema_2025-01.json.gz",
    )
)

CATALOG = [
    ItemDraft("TEE-M", "Tee", "Shirts", "Acme", ["cotton"], Decimal("20.00"), {"Size": "M"}, 5),
    ItemDraft("TEE-L", "Tee", "Shirts", "Acme", ["cotton"], Decimal("20.00"), {"Size": "L"}, 1),
    ItemDraft("MUG", "Mug", "Kitchen", "Acme", [], Decimal("8.50"), {}, 0),
    ItemDraft("CAP", "Cap", "Hats", "Acme", ["sale"], Decimal("12.00"), {}, 3),
    ItemDraft("SOCK", "Socks", "Shirts", "Acme", [], Decimal("4.00"), {}, 10),
]


class Switchboard:
    """A WSGI app that hands each request to whichever app the current test plugged in."""

    def __init__(self):
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def lines():
    """Two loopback servers for the whole module (starting and stopping one per test is slow)."""
    boards = [Switchboard(), Switchboard()]
    servers = [start_in_thread(board) for board in boards]
    yield list(zip(boards, servers, strict=True))
    for server in servers:
        server.stop()


@pytest.fixture
def serve(lines):
    """Serves a sandbox (or any WSGI app) on a free line for this test; answers its base URL."""
    free = iter(lines)

    def plug(app):
        board, server = next(free)
        board.app = app.wsgi_app if isinstance(app, ShopifySandbox) else app
        return server.url

    yield plug
    for board, _ in lines:
        board.app = None


class Client:
    def __init__(self, base: str, token: str = TOKEN, version: str = VERSION):
        self.url = f"{base}/admin/api/{version}/graphql.json"
        self.token = token

    def post(self, query: str, variables: dict | None = None) -> requests.Response:
        headers = {"X-Shopify-Access-Token": self.token}
        return requests.post(
            self.url, json={"query": query, "variables": variables}, headers=headers, timeout=10
        )

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def shop(serve):
    """A seeded sandbox and a client for it."""
    sandbox = ShopifySandbox(token=TOKEN)
    sandbox.seed(CATALOG)
    return sandbox, Client(serve(sandbox))


SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes(quantityNames: ["available"]) { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""


def set_input(sandbox: ShopifySandbox, sku: str, quantity: int, **expected) -> dict:
    entry = {
        "inventoryItemId": sandbox.variant(sku)["inventory_item_id"],
        "locationId": sandbox.location_id,
        "quantity": quantity,
        **expected,
    }
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "app://backorder/push/1",
        "quantities": [entry],
    }


# The schema is a faithful subset of Shopify's


@pytest.mark.skipif(
    not REAL_SCHEMA.exists(), reason="Shopify's published schema is not beside the repository"
)
def test_every_type_field_argument_and_enum_value_exists_in_shopifys_schema():
    real = build_client_schema(json.loads(gzip.decompress(REAL_SCHEMA.read_bytes()))["data"])
    sandbox = build_schema(SDL_PATH.read_text())
    assert subset_problems(sandbox, real) == []


@pytest.mark.skipif(
    not REAL_SCHEMA.exists(), reason="Shopify's published schema is not beside the repository"
)
def test_the_subset_check_catches_a_wrong_type_a_made_up_argument_and_a_dropped_requirement():
    real = build_client_schema(json.loads(gzip.decompress(REAL_SCHEMA.read_bytes()))["data"])
    wrong = (
        SDL_PATH.read_text()
        .replace(
            "  sku: String\n  title: String!\n  updatedAt", "  sku: String!\n  title: String!\n  updatedAt"
        )
        .replace("tagsAdd(id: ID!, tags: [String!]!)", "tagsAdd(id: ID!, tags: [String!]!, force: Boolean)")
        .replace("    reason: OrderCancelReason!\n", "")
    )
    assert subset_problems(build_schema(wrong), real) == [
        "Mutation.orderCancel lacks Shopify's required argument reason",
        "Mutation.tagsAdd(force) is not in Shopify's schema",
        "ProductVariant.sku is String!, Shopify's String",
    ]


# Reading the catalogue


def test_products_page_by_cursor_until_has_next_page_is_false(shop):
    _, client = shop
    query = "query($after: String) { products(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { title } } }"
    titles, after = [], None
    while True:
        page = client(query, {"after": after})["data"]["products"]
        titles += [p["title"] for p in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert titles == ["Tee", "Mug", "Cap", "Socks"]


def test_variants_of_one_product_share_it_and_carry_their_options(shop):
    _, client = shop
    data = client(
        '{ productVariants(first: 10, query: "sku:TEE-*") { nodes { sku title selectedOptions { name value } product { title variants(first: 5) { nodes { sku } } } } } }'
    )["data"]["productVariants"]["nodes"]
    assert [v["sku"] for v in data] == ["TEE-M", "TEE-L"]
    assert data[1]["selectedOptions"] == [{"name": "Size", "value": "L"}]
    assert [v["sku"] for v in data[0]["product"]["variants"]["nodes"]] == ["TEE-M", "TEE-L"]


def test_a_connection_without_first_is_refused_as_shopify_refuses_it(shop):
    _, client = shop
    body = client("{ products { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    assert body["data"] is None


def test_a_field_shopify_lacks_is_a_validation_error_in_shopifys_words(shop):
    _, client = shop
    body = client("{ shop { name bogus } }")
    assert body["errors"][0]["message"] == "Field 'bogus' doesn't exist on type 'Shop'"
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"
    assert "data" not in body


def test_quantities_and_nodes_read_as_the_adapter_reads_them(shop):
    sandbox, client = shop
    tee = sandbox.variant("TEE-M")
    data = client(
        """query($ids: [ID!]!, $loc: ID!) { nodes(ids: $ids) {
             ... on InventoryItem { id inventoryLevel(locationId: $loc) { quantities(names: ["available", "on_hand", "committed"]) { name quantity } } }
             ... on ProductVariant { id inventoryQuantity } } }""",
        {
            "ids": [tee["inventory_item_id"], tee["id"], "gid://shopify/InventoryItem/1"],
            "loc": sandbox.location_id,
        },
    )["data"]["nodes"]
    assert data[0]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": 5},
        {"name": "on_hand", "quantity": 5},
        {"name": "committed", "quantity": 0},
    ]
    assert data[1] == {"id": tee["id"], "inventoryQuantity": 5}
    assert data[2] is None


# Cost and throttling


def test_every_response_reports_cost_and_the_unused_part_is_refunded(serve):
    sandbox = ShopifySandbox(token=TOKEN, restore_rate=1)  # slow refill, so the figures are exact
    sandbox.seed(CATALOG)
    body = Client(serve(sandbox))("{ products(first: 20) { nodes { id } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 20
    assert cost["actualQueryCost"] == 2 + 4
    assert cost["throttleStatus"] == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 994,
        "restoreRate": 1.0,
    }


def test_connections_cost_two_plus_first_times_the_cost_of_a_node(shop):
    _, client = shop
    body = client(
        "{ products(first: 10) { edges { node { title variants(first: 5) { edges { node { price } } } } } } }"
    )
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 5 * 1)


def test_an_empty_bucket_answers_throttled_without_data_then_refills(serve):
    sandbox = ShopifySandbox(token=TOKEN, bucket_size=25, restore_rate=5)
    client = Client(serve(sandbox))
    mutation = 'mutation { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { userErrors { message } } }'
    assert "data" in client(mutation) and "data" in client(mutation)
    throttled = client(mutation)
    assert "data" not in throttled
    assert throttled["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    cost = throttled["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 10 and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < 10
    time.sleep((10 - cost["throttleStatus"]["currentlyAvailable"]) / 5 + 0.2)
    assert "data" in client(mutation)
    assert sandbox.calls.snapshot() == {"tagsAdd": 4, "THROTTLED": 1}


def test_a_query_dearer_than_the_single_query_limit_is_refused(shop):
    _, client = shop
    body = client("{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["errors"][0]["message"].startswith(
        "Query cost is 63252, which exceeds the single query max cost limit (1000)."
    )


# Authentication and versions


def test_a_missing_or_wrong_token_is_refused_with_shopifys_401(shop):
    _sandbox, client = shop
    for token in ("", "shpat_wrong"):
        response = Client(client.url.split("/admin")[0], token=token).post("{ shop { name } }")
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_an_unknown_api_version_is_not_found(shop):
    _, client = shop
    response = Client(client.url.split("/admin")[0], version="2019-04").post("{ shop { name } }")
    assert response.status_code == 404


# Inventory


def test_a_stale_change_from_quantity_changes_nothing(shop):
    sandbox, client = shop
    body = client(SET_QUANTITIES, {"input": set_input(sandbox, "CAP", 9, changeFromQuantity=2), "key": "k1"})
    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert sandbox.quantity("CAP") == 3
    body = client(SET_QUANTITIES, {"input": set_input(sandbox, "CAP", 9, changeFromQuantity=3), "key": "k2"})
    changes = body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"]
    assert changes == [{"name": "available", "delta": 6, "quantityAfterChange": 9}]
    assert sandbox.quantity("CAP") == 9


def test_from_2026_04_change_from_quantity_and_the_idempotency_key_are_required(shop):
    sandbox, client = shop
    no_change_from = client(SET_QUANTITIES, {"input": set_input(sandbox, "CAP", 9), "key": "k1"})
    assert no_change_from["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"
    without_key = SET_QUANTITIES.replace(", $key: String!", "").replace(" @idempotent(key: $key)", "")
    body = client(without_key, {"input": set_input(sandbox, "CAP", 9, changeFromQuantity=None)})
    assert (
        body["errors"][0]["message"]
        == "The @idempotent directive is required for this mutation but was not provided."
    )
    assert sandbox.quantity("CAP") == 3


def test_before_2026_04_compare_quantity_applies_unless_ignored(shop):
    sandbox, client = shop
    old = Client(client.url.split("/admin")[0], version="2025-01")
    errors = old(SET_QUANTITIES, {"input": set_input(sandbox, "CAP", 9), "key": "a"})["data"][
        "inventorySetQuantities"
    ]
    assert errors["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    ignored = {**set_input(sandbox, "CAP", 9), "ignoreCompareQuantity": True}
    assert (
        old(SET_QUANTITIES, {"input": ignored, "key": "b"})["data"]["inventorySetQuantities"]["userErrors"]
        == []
    )
    assert sandbox.quantity("CAP") == 9


def test_replaying_an_idempotency_key_answers_the_first_result_and_changes_nothing(shop):
    sandbox, client = shop
    variables = {"input": set_input(sandbox, "SOCK", 7, changeFromQuantity=None), "key": "push-1"}
    first = client(SET_QUANTITIES, variables)["data"]["inventorySetQuantities"]
    sandbox.place_order({"SOCK": 2})
    replay = client(SET_QUANTITIES, variables)["data"]["inventorySetQuantities"]
    assert replay == first
    assert sandbox.quantity("SOCK") == 5
    other = {"input": set_input(sandbox, "SOCK", 6, changeFromQuantity=None), "key": "push-1"}
    mismatch = client(SET_QUANTITIES, other)["data"]["inventorySetQuantities"]
    assert mismatch["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert sandbox.quantity("SOCK") == 5


# Orders and the inventory policy


POLICY = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { inventoryPolicy } userErrors { code field message } } }"""


def test_decrement_obeying_policy_will_not_oversell_a_deny_variant_but_continue_allows_it(shop):
    sandbox, client = shop
    refused = sandbox.place_order({"TEE-L": 2})
    assert refused["order"] is None
    assert refused["userErrors"][0]["code"] == "INVENTORY_CLAIM_FAILED"
    assert sandbox.quantity("TEE-L") == 1 and sandbox.orders == []
    tee = sandbox.variant("TEE-L")
    changed = client(
        POLICY,
        {"productId": tee["product_id"], "variants": [{"id": tee["id"], "inventoryPolicy": "CONTINUE"}]},
    )
    assert changed["data"]["productVariantsBulkUpdate"] == {
        "productVariants": [{"inventoryPolicy": "CONTINUE"}],
        "userErrors": [],
    }
    placed = sandbox.place_order({"TEE-L": 2})
    assert placed["userErrors"] == [] and placed["order"]["name"] == "#1001"
    assert sandbox.quantity("TEE-L") == -1
    assert sandbox.quantity("TEE-L", "committed") == 2 and sandbox.quantity("TEE-L", "on_hand") == 1


def test_bypass_leaves_stock_alone_and_ignoring_policy_takes_it_below_zero(shop):
    sandbox, _ = shop
    sandbox.place_order({"MUG": 1}, inventory_behaviour="BYPASS")
    assert sandbox.quantity("MUG") == 0
    sandbox.place_order({"MUG": 1}, inventory_behaviour="DECREMENT_IGNORING_POLICY")
    assert sandbox.quantity("MUG") == -1


CANCEL = """mutation($id: ID!) { orderCancel(orderId: $id, refund: true, restock: true, reason: CUSTOMER) {
  job { id done } orderCancelUserErrors { code field message } } }"""


def test_cancelling_with_restock_returns_the_units_and_refunds_the_money(shop):
    sandbox, client = shop
    order_id = sandbox.place_order({"TEE-M": 3})["order"]["id"]
    assert sandbox.quantity("TEE-M") == 2
    payload = client(CANCEL, {"id": order_id})["data"]["orderCancel"]
    assert payload["orderCancelUserErrors"] == [] and payload["job"]["id"].startswith("gid://shopify/Job/")
    assert sandbox.quantity("TEE-M") == 5 and sandbox.quantity("TEE-M", "committed") == 0
    order = client(
        "query($id: ID!) { order(id: $id) { cancelledAt cancelReason displayFinancialStatus } }",
        {"id": order_id},
    )
    assert order["data"]["order"]["cancelReason"] == "CUSTOMER"
    assert order["data"]["order"]["displayFinancialStatus"] == "REFUNDED"
    again = client(CANCEL, {"id": order_id})["data"]["orderCancel"]["orderCancelUserErrors"]
    assert again[0]["code"] == "INVALID"


REFUND = """mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) {
  refund { id totalRefundedSet { shopMoney { amount } } refundLineItems(first: 5) { nodes { quantity restockType restocked } } }
  userErrors { field message } } }"""


def test_a_restocking_refund_returns_units_and_one_without_restock_does_not(shop):
    sandbox, client = shop
    order_id = sandbox.place_order({"SOCK": 4})["order"]["id"]
    lines = client(
        "query($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { id } } transactions { id } } }",
        {"id": order_id},
    )
    line_id = lines["data"]["order"]["lineItems"]["nodes"][0]["id"]
    sale_id = lines["data"]["order"]["transactions"][0]["id"]
    money = [
        {"orderId": order_id, "parentId": sale_id, "kind": "REFUND", "gateway": "manual", "amount": "4.00"}
    ]
    restocked = {
        "orderId": order_id,
        "refundLineItems": [{"lineItemId": line_id, "quantity": 1, "restockType": "CANCEL"}],
        "transactions": money,
    }
    refund = client(REFUND, {"input": restocked, "key": "r1"})["data"]["refundCreate"]
    assert refund["userErrors"] == []
    assert refund["refund"]["totalRefundedSet"]["shopMoney"]["amount"] == "4.00"
    assert refund["refund"]["refundLineItems"]["nodes"] == [
        {"quantity": 1, "restockType": "CANCEL", "restocked": True}
    ]
    assert sandbox.quantity("SOCK") == 7
    kept = {
        "orderId": order_id,
        "refundLineItems": [{"lineItemId": line_id, "quantity": 1, "restockType": "NO_RESTOCK"}],
    }
    assert client(REFUND, {"input": kept, "key": "r2"})["data"]["refundCreate"]["userErrors"] == []
    assert sandbox.quantity("SOCK") == 7 and sandbox.quantity("SOCK", "on_hand") == 9
    too_many = {"orderId": order_id, "refundLineItems": [{"lineItemId": line_id, "quantity": 5}]}
    assert client(REFUND, {"input": too_many, "key": "r3"})["data"]["refundCreate"]["userErrors"][0][
        "field"
    ] == [
        "refundLineItems",
        "0",
        "quantity",
    ]


def test_tags_and_notes_land_on_the_order(shop):
    sandbox, client = shop
    order_id = sandbox.place_order({"CAP": 1})["order"]["id"]
    client(
        'mutation($id: ID!) { tagsAdd(id: $id, tags: ["backordered"]) { userErrors { message } } }',
        {"id": order_id},
    )
    client(
        'mutation($id: ID!) { orderUpdate(input: {id: $id, note: "Ships in 2 weeks"}) { userErrors { message } } }',
        {"id": order_id},
    )
    order = client("query($id: ID!) { order(id: $id) { tags note } }", {"id": order_id})["data"]["order"]
    assert order == {"tags": ["backordered"], "note": "Ships in 2 weeks"}


# Metafields


METAFIELDS_SET = """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
  metafields { namespace key value } userErrors { code elementIndex field message } } }"""


def test_metafields_set_takes_at_most_25_and_is_atomic(shop):
    sandbox, client = shop
    owner = sandbox.variant("MUG")["id"]
    many = [
        {
            "ownerId": owner,
            "namespace": "$app:backorder",
            "key": f"k{i:02}",
            "type": "single_line_text_field",
            "value": "x",
        }
        for i in range(26)
    ]
    body = client(METAFIELDS_SET, {"m": many})
    assert (
        body["errors"][0]["message"]
        == "The input array size of 26 is greater than the maximum allowed of 25."
    )
    assert body["errors"][0]["extensions"] == {"code": "MAX_INPUT_SIZE_EXCEEDED"}
    assert body["data"] == {"metafieldsSet": None}
    bad = [*many[:2], {**many[2], "type": "number_integer", "value": "soon"}]
    payload = client(METAFIELDS_SET, {"m": bad})["data"]["metafieldsSet"]
    assert (
        payload["userErrors"][0]["elementIndex"] == 2 and payload["userErrors"][0]["code"] == "INVALID_VALUE"
    )
    assert sandbox.variant("MUG")["metafields"] == {}
    written = client(METAFIELDS_SET, {"m": many[:25]})["data"]["metafieldsSet"]
    assert written["userErrors"] == [] and len(written["metafields"]) == 25
    namespace = f"app--{sandbox.app_id}--backorder"
    assert written["metafields"][0]["namespace"] == namespace
    value = client(
        'query($id: ID!) { productVariant(id: $id) { metafield(namespace: "$app:backorder", key: "k00") { value } } }',
        {"id": owner},
    )
    assert value["data"]["productVariant"]["metafield"] == {"value": "x"}


# Webhooks


class Receiver:
    """A tiny webhook endpoint that records raw bodies and headers."""

    def __init__(self):
        self.url = ""
        self.received: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        self.app = Flask("receiver")
        self.app.add_url_rule("/hooks", "hooks", self._take, methods=["POST"])

    def _take(self):
        with self.lock:
            self.received.append((dict(request.headers), request.get_data()))
        return "", 200

    def topics(self) -> list[str]:
        return [headers["X-Shopify-Topic"] for headers, _ in self.received]


SUBSCRIBE = """mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message } } }"""


def subscribed_shop(serve, **options):
    sandbox = ShopifySandbox(token=TOKEN, client_secret="app-secret", **options)
    sandbox.seed(CATALOG)
    client = Client(serve(sandbox))
    receiver = Receiver()
    hooks = receiver.url = serve(receiver.app) + "/hooks"
    for topic in ("ORDERS_CREATE", "INVENTORY_LEVELS_UPDATE"):
        created = client(SUBSCRIBE, {"topic": topic, "url": hooks})["data"]["webhookSubscriptionCreate"]
        assert (
            created["userErrors"] == [] and created["webhookSubscription"]["endpoint"]["callbackUrl"] == hooks
        )
    return sandbox, client, receiver


def test_webhooks_are_signed_and_headed_like_shopifys(serve):
    sandbox, _client, receiver = subscribed_shop(serve)
    order = sandbox.place_order({"CAP": 2})["order"]
    assert sandbox.webhooks.flush(timeout=5)
    assert sorted(receiver.topics()) == ["inventory_levels/update", "orders/create"]
    for headers, body in receiver.received:
        expected = base64.b64encode(hmac.new(b"app-secret", body, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"], expected)
        assert headers["X-Shopify-Shop-Domain"] == "sandbox.myshopify.com"
        assert headers["X-Shopify-Api-Version"] == VERSION
        for name in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"):
            assert headers[name]
    bodies = {headers["X-Shopify-Topic"]: json.loads(body) for headers, body in receiver.received}
    assert bodies["orders/create"]["admin_graphql_api_id"] == order["id"]
    assert bodies["orders/create"]["line_items"][0]["sku"] == "CAP"
    level = bodies["inventory_levels/update"]
    assert level["available"] == 1
    assert level["inventory_item_id"] == int(sandbox.variant("CAP")["inventory_item_id"].rsplit("/", 1)[1])
    assert level["location_id"] == int(sandbox.location_id.rsplit("/", 1)[1])


def test_our_own_quantity_push_comes_back_as_an_inventory_webhook(serve):
    sandbox, client, receiver = subscribed_shop(serve)
    client(SET_QUANTITIES, {"input": set_input(sandbox, "MUG", 4, changeFromQuantity=0), "key": "echo"})
    assert sandbox.webhooks.flush(timeout=5)
    ((headers, body),) = receiver.received
    assert headers["X-Shopify-Topic"] == "inventory_levels/update" and json.loads(body)["available"] == 4


def test_injected_duplicates_repeat_the_webhook_id_as_shopifys_retries_do(serve):
    faults = Faults(duplicate_rate=1.0)
    sandbox, _, receiver = subscribed_shop(serve, faults=faults, webhooks=WebhookSender(faults))
    sandbox.place_order({"CAP": 1}, inventory_behaviour="BYPASS")
    assert sandbox.webhooks.flush(timeout=5)
    assert receiver.topics() == ["orders/create", "orders/create"]
    ids = {headers["X-Shopify-Webhook-Id"] for headers, _ in receiver.received}
    assert len(ids) == 1


def test_subscriptions_can_be_listed_and_deleted(serve):
    _, client, _ = subscribed_shop(serve)
    listed = client("{ webhookSubscriptions(first: 10, topics: [ORDERS_CREATE]) { nodes { id topic } } }")
    (subscription,) = listed["data"]["webhookSubscriptions"]["nodes"]
    deleted = client(
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId } }",
        subscription,
    )
    assert deleted["data"]["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"] == subscription["id"]


# OAuth and faults


def test_oauth_round_trip_gives_a_token_that_works_once_per_code(serve):
    sandbox = ShopifySandbox(client_id="app-id", client_secret="app-secret")
    base = serve(sandbox)
    query = {
        "client_id": "app-id",
        "scope": "read_products,write_inventory",
        "redirect_uri": "https://app.example/cb",
        "state": "n0nce",
    }
    redirect = requests.get(f"{base}/admin/oauth/authorize", params=query, allow_redirects=False, timeout=5)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://app.example/cb"
    params = dict(parse_qsl(location.query))
    assert params["state"] == "n0nce" and params["shop"] == "sandbox.myshopify.com"
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    assert params["hmac"] == hmac.new(b"app-secret", message.encode(), hashlib.sha256).hexdigest()
    form = {"client_id": "app-id", "client_secret": "app-secret", "code": params["code"]}
    granted = requests.post(f"{base}/admin/oauth/access_token", data=form, timeout=5)
    assert granted.json()["scope"] == "read_products,write_inventory"
    assert granted.json()["access_token"].startswith("shpat_")
    assert Client(base, token=granted.json()["access_token"])("{ shop { myshopifyDomain } }")["data"] == {
        "shop": {"myshopifyDomain": "sandbox.myshopify.com"}
    }
    assert requests.post(f"{base}/admin/oauth/access_token", data=form, timeout=5).status_code == 400


def test_injected_failures_answer_5xx(serve):
    sandbox = ShopifySandbox(token=TOKEN, faults=Faults(fail_rate=1.0))
    response = Client(serve(sandbox)).post("{ shop { name } }")
    assert response.status_code in (500, 502, 503)


# Every field the schema declares is really served


ARGUMENTS = {
    "first": "2",
    "locationId": "$loc",
    "inventoryItemId": "$item",
    "names": '["available", "on_hand", "committed"]',
    "key": '"note"',
    "namespace": '"custom"',
}


def select_all(schema, type_, depth: int) -> str:
    """A selection of every field of `type_` down to `depth`, filling arguments from ARGUMENTS."""
    from graphql import get_named_type, is_abstract_type, is_leaf_type, is_non_null_type

    if is_abstract_type(type_):
        fragments = [
            f"... on {t.name} {{ {select_all(schema, t, depth)} }}" for t in schema.get_possible_types(type_)
        ]
        return "__typename " + " ".join(fragments)
    parts = []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        required = [a for a, arg in field.args.items() if is_non_null_type(arg.type)]
        if named is schema.query_type or any(a not in ARGUMENTS for a in required):
            continue
        args = [
            f"{a}: {ARGUMENTS[a]}"
            for a in field.args
            if a in ARGUMENTS and (a in required or a in ("first", "namespace"))
        ]
        call = f"{name}({', '.join(args)})" if args else name
        if is_leaf_type(named):
            parts.append(call)
        elif depth > 0:
            parts.append(f"{call} {{ {select_all(schema, named, depth - 1)} }}")
    return " ".join(parts) or "__typename"


def test_every_declared_field_resolves_without_error(shop):
    from graphql import execute, parse

    from adapters.sandbox.shopify.execution import RequestContext
    from adapters.sandbox.shopify.schema import sandbox_schema

    sandbox, client = shop
    sock = sandbox.variant("SOCK")
    order_id = sandbox.place_order({"SOCK": 2, "CAP": 1})["order"]["id"]
    sandbox.place_order({"TEE-M": 1})
    client(CANCEL, {"id": order_id})
    owners = [sock["id"], sock["product_id"], order_id, sandbox.location_id, "gid://shopify/Shop/1000000001"]
    entries = [
        {"ownerId": o, "namespace": "custom", "key": "note", "type": "single_line_text_field", "value": "hi"}
        for o in owners
    ]
    assert client(METAFIELDS_SET, {"m": entries})["data"]["metafieldsSet"]["userErrors"] == []
    client(SUBSCRIBE, {"topic": "ORDERS_CREATE", "url": "https://app.example/hooks"})
    schema = sandbox_schema()
    root = select_all(schema, schema.query_type, 5)
    document = parse(f"query Everything($loc: ID!, $item: ID!) {{ {root} }}")
    context = RequestContext(sandbox.store, VERSION, sandbox.app_id)
    variables = {"loc": sandbox.location_id, "item": sock["inventory_item_id"]}
    with sandbox.store.lock:
        result = execute(schema, document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors[:3]
    assert result.data["orders"]["nodes"][0]["refunds"][0]["refundLineItems"]["nodes"]
    assert result.data["shop"]["metafield"]["value"] == "hi"


def test_cancellations_and_policy_changes_reach_their_topics(serve):
    sandbox, client, receiver = subscribed_shop(serve)
    for topic in ("ORDERS_CANCELLED", "PRODUCTS_UPDATE", "REFUNDS_CREATE"):
        client(SUBSCRIBE, {"topic": topic, "url": receiver.url})
    mug = sandbox.variant("MUG")
    client(
        POLICY,
        {"productId": mug["product_id"], "variants": [{"id": mug["id"], "inventoryPolicy": "CONTINUE"}]},
    )
    order_id = sandbox.place_order({"MUG": 2})["order"]["id"]
    client(CANCEL, {"id": order_id})
    assert sandbox.webhooks.flush(timeout=5)
    bodies = {headers["X-Shopify-Topic"]: json.loads(body) for headers, body in receiver.received}
    assert bodies["products/update"]["variants"][0]["inventory_policy"] == "continue"
    assert bodies["orders/cancelled"]["cancel_reason"] == "customer"
    assert bodies["refunds/create"]["refund_line_items"][0]["restock_type"] == "cancel"
    assert bodies["inventory_levels/update"]["available"] == 0  # the last one: back after the cancel


def test_uninstalling_the_app_says_so_and_then_refuses_its_token(serve):
    sandbox, client, receiver = subscribed_shop(serve)
    client(SUBSCRIBE, {"topic": "APP_UNINSTALLED", "url": receiver.url})
    sandbox.uninstall()
    assert sandbox.webhooks.flush(timeout=5)
    assert receiver.topics() == ["app/uninstalled"]
    assert json.loads(receiver.received[0][1])["myshopify_domain"] == "sandbox.myshopify.com"
    assert client.post("{ shop { name } }").status_code == 401


def test_a_timed_out_write_still_happened(serve):
    sandbox = ShopifySandbox(token=TOKEN, faults=Faults(timeout_rate=1.0, timeout_seconds=0.5))
    sandbox.seed(CATALOG)
    client = Client(serve(sandbox))
    variables = {"input": set_input(sandbox, "CAP", 8, changeFromQuantity=3), "key": "slow"}
    headers = {"X-Shopify-Access-Token": TOKEN}
    with pytest.raises(requests.Timeout):
        requests.post(
            client.url, json={"query": SET_QUANTITIES, "variables": variables}, headers=headers, timeout=0.2
        )
    assert sandbox.quantity("CAP") == 8


def test_the_cli_options_build_a_store_seeded_from_a_catalogue(tmp_path):
    import argparse

    from adapters.sandbox.shopify import add_cli_arguments, build_sandbox

    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "sku,title,product_type,vendor,tags,price,options,on_hand\n"
        'HAT-S,Hat,Hats,Acme,"wool,winter",15.00,Size:S,4\n'
        "HAT-L,Hat,Hats,Acme,,15.00,Size:L,0\n"
        "PIN,Pin,,,,2.00,,9\n"
    )
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    options = parser.parse_args(
        [
            "--port",
            "0",
            "--catalog",
            str(catalog),
            "--token",
            "t",
            "--bucket-size",
            "100",
            "--fail-rate",
            "0.5",
        ]
    )
    sandbox = build_sandbox(options)
    assert sandbox.token == "t" and sandbox.bucket.size == 100 and sandbox.faults.fail_rate == 0.5
    assert sandbox.variant("HAT-S")["product_id"] == sandbox.variant("HAT-L")["product_id"]
    assert sandbox.quantity("HAT-S") == 4 and sandbox.quantity("PIN") == 9
