"""The sandbox WooCommerce store, over real HTTP, behaves as WooCommerce's `wc/v3` API does."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import threading
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import woocommerce

from adapters.sandbox.common import Faults
from adapters.sandbox.server import start_in_thread
from adapters.sandbox.woocommerce import CheckoutRefused, WooCommerceSandbox, build_sandbox
from connector.domain.catalog import ItemDraft

CK = "ck_" + "a" * 40
CS = "cs_" + "b" * 40
CATALOG = [
    ItemDraft("MUG-1", "Mug", product_type="Kitchen", tags=["mugs"], price=Decimal("9.50"), on_hand=5),
    ItemDraft("PEN-1", "Pen", price=Decimal("1.20"), on_hand=0),
    ItemDraft("TEE-S", "Tee", options={"Size": "S"}, price=Decimal("20.00"), on_hand=2),
    ItemDraft("TEE-M", "Tee", options={"Size": "M"}, price=Decimal("20.00"), on_hand=0),
]


class Shop:
    """A running sandbox store and an authenticated client for it."""

    def __init__(self, sandbox: WooCommerceSandbox, url: str):
        self.sandbox = sandbox
        self.url = url
        self.http = requests.Session()
        self.http.auth = (CK, CS)

    def api(self, path: str) -> str:
        return f"{self.url}/wp-json/wc/v3/{path}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.api(path), timeout=5, **kwargs)

    def post(self, path: str, body: dict, **kwargs) -> requests.Response:
        return self.http.post(self.api(path), json=body, timeout=5, **kwargs)

    def put(self, path: str, body: dict) -> requests.Response:
        return self.http.put(self.api(path), json=body, timeout=5)

    def product(self, sku: str) -> dict:
        found = self.sandbox.product_by_sku(sku)
        assert found is not None, sku
        return found


class Switch:
    """One server for the whole module (stopping one takes half a second); each test plugs in its store."""

    def __init__(self) -> None:
        self.app = None
        self.server = start_in_thread(self)
        self.url = self.server.url

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)

    def serve(self, sandbox: WooCommerceSandbox) -> str:
        self.app = sandbox.wsgi_app
        return self.url


@pytest.fixture(scope="module")
def switch() -> Iterator[Switch]:
    running = Switch()
    try:
        yield running
    finally:
        running.server.stop()


@pytest.fixture
def shop(switch) -> Iterator[Shop]:
    sandbox = WooCommerceSandbox(consumer_key=CK, consumer_secret=CS)
    sandbox.seed(CATALOG)
    client = Shop(sandbox, switch.serve(sandbox))
    try:
        yield client
    finally:
        client.http.close()


class Receiver:
    """A tiny HTTP endpoint that records what it is sent and answers with `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        self.server = start_in_thread(self.app)
        self.url = self.server.url + "/hook"

    def app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        with self.arrived:
            self.received.append((headers, body))
            self.arrived.notify_all()
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def deliveries(self, topic: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in self.received if h.get("X-Wc-Webhook-Topic") == topic]


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    hook = Receiver()
    try:
        yield hook
    finally:
        hook.server.stop()


@pytest.fixture
def receiver(hooks) -> Receiver:
    hooks.status = 200
    hooks.received.clear()
    return hooks


# -- authentication -----------------------------------------------------------------------------------


def test_keys_are_accepted_by_basic_auth_and_in_the_query_string(shop):
    assert shop.get("products").status_code == 200
    anonymous = requests.get(
        shop.api("products"), params={"consumer_key": CK, "consumer_secret": CS}, timeout=5
    )
    assert anonymous.status_code == 200


def test_a_wrong_secret_or_no_key_gets_woocommerces_401(shop):
    wrong = requests.get(shop.api("products"), auth=(CK, "cs_wrong"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer secret is invalid.",
        "data": {"status": 401},
    }
    nobody = requests.get(shop.api("products"), timeout=5)
    assert (nobody.status_code, nobody.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    stranger = requests.post(
        shop.api("products"), json={"name": "x"}, auth=("ck_other", "cs_other"), timeout=5
    )
    assert (stranger.status_code, stranger.json()["code"]) == (401, "woocommerce_rest_cannot_create")


def test_the_woocommerce_package_signs_plain_http_requests_with_oauth(shop):
    api = woocommerce.API(url=shop.url, consumer_key=CK, consumer_secret=CS, version="wc/v3", timeout=5)
    listed = api.get("products", params={"per_page": 2, "page": 1})
    assert listed.status_code == 200 and len(listed.json()) == 2
    mug = shop.product("MUG-1")
    assert api.put(f"products/{mug['id']}", {"stock_quantity": 4}).json()["stock_quantity"] == 4
    forged = woocommerce.API(url=shop.url, consumer_key=CK, consumer_secret="cs_forged", version="wc/v3")
    refused = forged.get("products")
    assert refused.status_code == 401
    assert refused.json()["message"] == "Invalid signature - provided signature does not match."


# -- products -----------------------------------------------------------------------------------------


def test_lists_are_paged_with_wordpress_headers_and_per_page_is_capped_at_100(switch):
    sandbox = WooCommerceSandbox()  # no key configured: any non-empty pair is accepted
    sandbox.seed([ItemDraft(f"SKU-{n}", f"Item {n}", on_hand=1) for n in range(25)])
    url = f"{switch.serve(sandbox)}/wp-json/wc/v3/products"
    page = requests.get(url, params={"per_page": 10, "page": 2}, auth=("ck_any", "cs_any"), timeout=5)
    assert page.status_code == 200 and len(page.json()) == 10
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"]) == ("25", "3")
    assert 'rel="prev"' in page.headers["Link"] and 'rel="next"' in page.headers["Link"]
    assert "page=3" in page.links["next"]["url"]
    too_many = requests.get(url, params={"per_page": 101}, auth=("ck_any", "cs_any"), timeout=5)
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "rest_invalid_param"
    reason = too_many.json()["data"]["params"]["per_page"]
    assert reason == "per_page must be between 1 (inclusive) and 100 (inclusive)"


def test_a_batch_of_more_than_100_items_is_refused_whole(shop):
    mug = shop.product("MUG-1")
    response = shop.post("products/batch", {"update": [{"id": mug["id"], "stock_quantity": 1}] * 101})
    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert shop.product("MUG-1")["stock_quantity"] == 5


def test_a_batch_reports_each_failed_item_inside_a_200(shop):
    mug = shop.product("MUG-1")
    response = shop.post(
        "products/batch",
        {"update": [{"id": mug["id"], "stock_quantity": 7}, {"id": 999999, "stock_quantity": 1}]},
    )
    assert response.status_code == 200
    done, failed = response.json()["update"]
    assert (done["id"], done["stock_quantity"]) == (mug["id"], 7)
    assert failed == {
        "id": 999999,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert shop.sandbox.calls.snapshot()["products/batch"] == 1


@pytest.mark.parametrize(
    ("quantity", "backorders", "status", "allowed"),
    [
        (3, "no", "instock", False),
        (0, "no", "outofstock", False),
        (0, "notify", "onbackorder", True),
        (-2, "yes", "onbackorder", True),
    ],
)
def test_stock_status_is_derived_from_quantity_and_backorders(shop, quantity, backorders, status, allowed):
    mug = shop.product("MUG-1")
    body = {"stock_quantity": quantity, "backorders": backorders, "stock_status": "instock"}
    saved = shop.put(f"products/{mug['id']}", body).json()
    assert (saved["stock_status"], saved["backorders_allowed"]) == (status, allowed)
    assert saved["backordered"] is (status == "onbackorder")


def test_an_unmanaged_product_drops_quantity_and_backorders(shop):
    mug = shop.product("MUG-1")
    saved = shop.put(f"products/{mug['id']}", {"manage_stock": False, "backorders": "notify"}).json()
    assert (saved["stock_quantity"], saved["backorders"], saved["stock_status"]) == (None, "no", "instock")


def test_meta_data_is_updated_by_key_and_deleted_by_null(shop):
    mug = shop.product("MUG-1")
    first = shop.put(
        f"products/{mug['id']}", {"meta_data": [{"key": "_bo_eta", "value": "Ships in 2 weeks"}]}
    )
    (entry,) = first.json()["meta_data"]
    second = shop.put(f"products/{mug['id']}", {"meta_data": [{"key": "_bo_eta", "value": 14}]}).json()
    assert second["meta_data"] == [{"id": entry["id"], "key": "_bo_eta", "value": "14"}]
    third = shop.put(f"products/{mug['id']}", {"meta_data": [{"key": "_bo_eta", "value": None}]}).json()
    assert third["meta_data"] == []


def test_variations_are_found_by_sku_and_written_through_their_own_endpoint(shop):
    (variation,) = shop.get("products", params={"sku": "TEE-M"}).json()
    assert (variation["type"], variation["stock_status"]) == ("variation", "outofstock")
    parent_id = variation["parent_id"]
    path = f"products/{parent_id}/variations"
    assert shop.put(f"{path}/{variation['id']}", {"stock_quantity": 3}).json()["stock_status"] == "instock"
    batch = shop.post(
        f"{path}/batch", {"update": [{"id": variation["id"], "backorders": "notify"}, {"id": 1}]}
    )
    done, failed = batch.json()["update"]
    assert done["backorders"] == "notify"
    assert failed["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"


# -- orders -------------------------------------------------------------------------------------------


def order_body(product_id: int, quantity: int, **extra) -> dict:
    return {
        "line_items": [{"product_id": product_id, "quantity": quantity}],
        "billing": {"email": "a@b.c"},
        **extra,
    }


def test_a_paid_order_reduces_stock_once(shop):
    mug = shop.product("MUG-1")
    response = shop.post("orders", order_body(mug["id"], 2, set_paid=True))
    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["total"]) == ("processing", "19.00")
    assert {"key": "_reduced_stock", "value": "2"}.items() <= order["line_items"][0]["meta_data"][0].items()
    assert shop.product("MUG-1")["stock_quantity"] == 3
    shop.put(f"orders/{order['id']}", {"status": "completed"})
    assert shop.product("MUG-1")["stock_quantity"] == 3


def test_the_admin_api_takes_an_order_beyond_stock_as_woocommerce_does(shop):
    mug = shop.product("MUG-1")
    assert shop.post("orders", order_body(mug["id"], 8, set_paid=True)).status_code == 201
    assert (shop.product("MUG-1")["stock_quantity"], shop.product("MUG-1")["stock_status"]) == (
        -3,
        "outofstock",
    )


def test_checkout_refuses_more_than_the_stock_when_backorders_are_off(shop):
    with pytest.raises(CheckoutRefused) as refused:
        shop.sandbox.place_order([("MUG-1", 6)])
    assert refused.value.code == "woocommerce_rest_product_partially_out_of_stock"
    with pytest.raises(CheckoutRefused) as sold_out:
        shop.sandbox.place_order([("PEN-1", 1)])
    assert sold_out.value.code == "woocommerce_rest_product_out_of_stock"
    assert shop.product("MUG-1")["stock_quantity"] == 5


def test_checkout_with_notify_backorders_marks_the_backordered_quantity(shop):
    mug = shop.product("MUG-1")
    shop.put(f"products/{mug['id']}", {"stock_quantity": 1, "backorders": "notify"})
    order = shop.sandbox.place_order([("MUG-1", 3)])
    meta = {m["key"]: m["value"] for m in order["line_items"][0]["meta_data"]}
    assert meta["Backordered"] == "2"
    after = shop.product("MUG-1")
    assert (after["stock_quantity"], after["stock_status"], after["backordered"]) == (-2, "onbackorder", True)
    shop.put(f"products/{mug['id']}", {"backorders": "yes"})
    quiet = shop.sandbox.place_order([("MUG-1", 1)])
    assert "Backordered" not in {m["key"] for m in quiet["line_items"][0]["meta_data"]}


def test_cancelling_restocks_only_an_order_whose_stock_was_reduced(shop):
    mug = shop.product("MUG-1")
    paid = shop.post("orders", order_body(mug["id"], 2, set_paid=True)).json()
    unpaid = shop.post("orders", order_body(mug["id"], 1)).json()
    assert shop.product("MUG-1")["stock_quantity"] == 3
    assert shop.put(f"orders/{unpaid['id']}", {"status": "cancelled"}).json()["status"] == "cancelled"
    assert shop.product("MUG-1")["stock_quantity"] == 3
    shop.put(f"orders/{paid['id']}", {"status": "cancelled"})
    assert shop.product("MUG-1")["stock_quantity"] == 5


def test_a_refund_with_api_restock_returns_the_stock(shop):
    order = shop.sandbox.place_order([("MUG-1", 2)], payment_method="bacs")
    line = order["line_items"][0]
    body = {"line_items": [{"id": line["id"], "quantity": 1, "refund_total": 9.5}], "api_restock": True}
    gateway_refund = shop.post(f"orders/{order['id']}/refunds", body)
    assert gateway_refund.status_code == 500
    assert gateway_refund.json()["code"] == "woocommerce_rest_cannot_create_order_refund"
    refund = shop.post(f"orders/{order['id']}/refunds", {**body, "api_refund": False})
    assert refund.status_code == 201
    assert (refund.json()["amount"], refund.json()["line_items"][0]["quantity"]) == ("9.50", -1)
    assert shop.product("MUG-1")["stock_quantity"] == 4
    assert shop.get(f"orders/{order['id']}").json()["refunds"][0]["total"] == "-9.50"


def test_a_refund_keeps_the_meta_data_it_was_sent_with(shop):
    order = shop.sandbox.place_order([("MUG-1", 2)])
    line = order["line_items"][0]
    mark = {"key": "_backorder_refund_request", "value": "backorder-cancellation:9:abc"}
    body = {"line_items": [{"id": line["id"], "quantity": 1, "refund_total": 9.5}], "meta_data": [mark]}
    made = shop.post(f"orders/{order['id']}/refunds", body).json()
    assert [{k: m[k] for k in ("key", "value")} for m in made["meta_data"]] == [mark]
    [listed] = shop.get(f"orders/{order['id']}/refunds").json()
    assert listed["id"] == made["id"] and listed["meta_data"] == made["meta_data"]


def test_a_customer_note_is_mailed_and_listed(shop):
    mug = shop.product("MUG-1")
    order = shop.post("orders", order_body(mug["id"], 1)).json()
    note = shop.post(f"orders/{order['id']}/notes", {"note": "Ships on the 14th", "customer_note": True})
    assert note.status_code == 201 and note.json()["customer_note"] is True
    assert shop.sandbox.emails == [("a@b.c", f"Note added to your order #{order['id']}")]
    customer_notes = shop.get(f"orders/{order['id']}/notes", params={"type": "customer"}).json()
    assert [n["note"] for n in customer_notes] == ["Ships on the 14th"]


# -- webhooks -----------------------------------------------------------------------------------------


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-Wc-Webhook-Signature"])


def test_the_ping_is_unsigned_and_deliveries_are_signed(shop, receiver):
    created = shop.post(
        "webhooks",
        {"name": "stock", "topic": "product.updated", "delivery_url": receiver.url, "secret": "s3cret"},
    )
    assert created.status_code == 201 and created.json()["status"] == "active"
    ((ping_headers, ping_body),) = receiver.received
    assert ping_body == f"webhook_id={created.json()['id']}".encode()
    assert "X-Wc-Webhook-Signature" not in ping_headers
    shop.post("webhooks", {"topic": "order.created", "delivery_url": receiver.url, "secret": "s3cret"})
    shop.sandbox.place_order([("TEE-S", 1)])
    assert shop.sandbox.flush_webhooks()
    updates = receiver.deliveries("product.updated")
    assert {json.loads(body)["sku"] for _, body in updates} == {"TEE-S"}
    (order_headers, order_body_bytes) = receiver.deliveries("order.created")[0]
    for headers, body in [*updates, (order_headers, order_body_bytes)]:
        assert verify(headers, body, "s3cret")
        assert headers["X-Wc-Webhook-Source"] == shop.url + "/"
        assert headers["X-Wc-Webhook-Delivery-Id"] and headers["X-Wc-Webhook-Id"]
    assert (
        order_headers["X-Wc-Webhook-Resource"] == "order" and order_headers["X-Wc-Webhook-Event"] == "created"
    )
    assert json.loads(order_body_bytes)["line_items"][0]["sku"] == "TEE-S"


def test_a_webhook_is_disabled_after_repeated_failed_deliveries(shop, receiver):
    hook = shop.post("webhooks", {"topic": "product.updated", "delivery_url": receiver.url}).json()
    receiver.status = 500
    mug = shop.product("MUG-1")
    for quantity in range(6):
        shop.put(f"products/{mug['id']}", {"stock_quantity": quantity})
        assert shop.sandbox.flush_webhooks()
    # WC_Webhook::failed_delivery disables only when a failure finds more than 5 already counted.
    assert shop.get(f"webhooks/{hook['id']}").json()["status"] == "active"
    shop.put(f"products/{mug['id']}", {"stock_quantity": 9})
    assert shop.sandbox.flush_webhooks()
    assert shop.get(f"webhooks/{hook['id']}").json()["status"] == "disabled"
    delivered = len(receiver.received)
    shop.put(f"products/{mug['id']}", {"stock_quantity": 10})
    assert shop.sandbox.flush_webhooks() and len(receiver.received) == delivered


# -- wc-auth and faults -------------------------------------------------------------------------------


def test_wc_auth_posts_new_keys_to_the_callback_and_redirects_back(shop, receiver):
    params = {
        "app_name": "Backorder Connector",
        "scope": "read_write",
        "user_id": "merchant-7",
        "return_url": "https://connector.example/return",
        "callback_url": receiver.url,
    }
    answer = requests.get(f"{shop.url}/wc-auth/v1/authorize", params=params, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert (back.netloc, parse_qs(back.query)) == (
        "connector.example",
        {"success": ["1"], "user_id": ["merchant-7"]},
    )
    ((_, body),) = receiver.received
    keys = json.loads(body)
    assert set(keys) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert keys["user_id"] == "merchant-7" and keys["key_permissions"] == "read_write"
    assert len(keys["consumer_key"]) == 43 and keys["consumer_key"].startswith("ck_")
    assert len(keys["consumer_secret"]) == 43 and keys["consumer_secret"].startswith("cs_")
    issued = requests.get(
        shop.api("products"), auth=(keys["consumer_key"], keys["consumer_secret"]), timeout=5
    )
    assert issued.status_code == 200
    receiver.status = 500
    failed = requests.get(f"{shop.url}/wc-auth/v1/authorize", params=params, allow_redirects=False, timeout=5)
    assert failed.status_code == 401


def test_injected_failures_answer_5xx_and_are_counted(switch):
    sandbox = WooCommerceSandbox(faults=Faults(fail_rate=1.0, rng=random.Random(3)))
    url = f"{switch.serve(sandbox)}/wp-json/wc/v3/products"
    statuses = {requests.get(url, auth=("ck_x", "cs_x"), timeout=5).status_code for _ in range(6)}
    assert statuses <= {500, 502, 503}
    assert sandbox.calls.snapshot() == {"products": 6}


def test_a_timed_out_write_still_happened(switch):
    sandbox = WooCommerceSandbox(faults=Faults(timeout_rate=1.0, timeout_seconds=0.4))
    sandbox.seed(CATALOG)
    mug = sandbox.product_by_sku("MUG-1")
    url = f"{switch.serve(sandbox)}/wp-json/wc/v3/products/{mug['id']}"
    with pytest.raises(requests.Timeout):
        requests.put(url, json={"stock_quantity": 1}, auth=("ck_x", "cs_x"), timeout=0.1)
    assert sandbox.product_by_sku("MUG-1")["stock_quantity"] == 1


def test_a_scripted_lost_answer_does_the_work_then_answers_502_and_scripted_failures_do_nothing(switch):
    sandbox = WooCommerceSandbox()
    sandbox.seed(CATALOG)
    mug = sandbox.product_by_sku("MUG-1")
    url = f"{switch.serve(sandbox)}/wp-json/wc/v3/products/{mug['id']}"
    sandbox.faults.script("PUT", "products/<id>", "lost", "fail")
    lost = requests.put(url, json={"stock_quantity": 1}, auth=("ck_x", "cs_x"), timeout=5)
    assert lost.status_code == 502 and sandbox.product_by_sku("MUG-1")["stock_quantity"] == 1
    failed = requests.put(url, json={"stock_quantity": 2}, auth=("ck_x", "cs_x"), timeout=5)
    assert failed.status_code == 503 and sandbox.product_by_sku("MUG-1")["stock_quantity"] == 1
    assert requests.put(url, json={"stock_quantity": 3}, auth=("ck_x", "cs_x"), timeout=5).status_code == 200
    assert requests.get(url, auth=("ck_x", "cs_x"), timeout=5).json()["stock_quantity"] == 3
    with pytest.raises(ValueError, match="unknown scripted outcome"):
        sandbox.faults.script("GET", "products", "slow")


def test_duplicate_deliveries_can_be_injected(switch, receiver):
    sandbox = WooCommerceSandbox(faults=Faults(duplicate_rate=1.0))
    sandbox.seed(CATALOG)
    switch.serve(sandbox)
    sandbox.add_webhook("order.created", receiver.url, secret="k")
    order = sandbox.place_order([("MUG-1", 1)])
    assert sandbox.flush_webhooks()
    first, second = receiver.deliveries("order.created")
    assert first == second and json.loads(first[1])["id"] == order["id"]


def test_concurrent_checkouts_never_sell_more_than_the_stock(shop):
    sold: list[int] = []

    def buy() -> None:
        with contextlib.suppress(CheckoutRefused):
            sold.append(shop.sandbox.place_order([("MUG-1", 1)])["id"])

    buyers = [threading.Thread(target=buy) for _ in range(12)]
    for buyer in buyers:
        buyer.start()
    for buyer in buyers:
        buyer.join()
    assert len(sold) == 5
    assert shop.product("MUG-1")["stock_quantity"] == 0


def test_the_command_line_store_is_stocked_from_a_catalogue_file(tmp_path):
    catalogue = tmp_path / "catalog.csv"
    catalogue.write_text(
        "sku,title,product_type,vendor,tags,price,options,on_hand\n"
        'CAP-1,Cap,Hats,Acme,"red,wool",12.00,,3\n'
        "SOCK-S,Socks,,Acme,,4.00,Size:S,2\n"
        "SOCK-L,Socks,,Acme,,4.00,Size:L,0\n"
    )
    sandbox = build_sandbox(catalog=catalogue, key=CK, secret=CS, webhook_secret="whs")
    cap, sock = sandbox.product_by_sku("CAP-1"), sandbox.product_by_sku("SOCK-L")
    assert (cap["price"], cap["stock_quantity"], [t["name"] for t in cap["tags"]]) == (
        "12.00",
        3,
        ["red", "wool"],
    )
    assert (sock["attributes"], sock["stock_status"]) == (
        [{"id": 0, "name": "Size", "option": "L"}],
        "outofstock",
    )
    assert sandbox.webhooks.default_secret == "whs"
    with pytest.raises(ValueError):
        build_sandbox(fail_rate=2.0)
