"""The sandbox WooCommerce store's coupons, over real HTTP: created, refused and listed as `wc/v3` does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from adapters.sandbox.server import start_in_thread
from adapters.sandbox.woocommerce import WooCommerceSandbox

CK = "ck_" + "c" * 40
CS = "cs_" + "d" * 40
APOLOGY = {
    "code": "SORRY-7K3M9Q2XAB",
    "discount_type": "percent",
    "amount": "10",
    "description": "Apology for the late order #727",
    "individual_use": True,
    "usage_limit": 1,
    "usage_limit_per_user": 1,
    "date_expires_gmt": "2026-12-27T09:00:00",
    "email_restrictions": ["John.Doe@example.com"],
}


class Store:
    def __init__(self, sandbox: WooCommerceSandbox, url: str):
        self.sandbox, self.url = sandbox, url
        self.http = requests.Session()
        self.http.auth = (CK, CS)

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(f"{self.url}/wp-json/wc/v3/{path}", json=body, timeout=5)

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.url}/wp-json/wc/v3/{path}", params=params, timeout=5)


class Plug:
    """One server for the module (stopping one takes half a second); each test plugs its store in."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def plug() -> Iterator[tuple[Plug, str]]:
    board = Plug()
    server = start_in_thread(board)
    yield board, server.url
    server.stop()


@pytest.fixture
def store(plug) -> Store:
    board, url = plug
    sandbox = WooCommerceSandbox(consumer_key=CK, consumer_secret=CS)
    board.app = sandbox.wsgi_app
    return Store(sandbox, url)


def test_a_coupon_is_created_lowercased_with_its_limits_and_read_back(store):
    response = store.post("coupons", APOLOGY)

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"].endswith(f"/wp-json/wc/v3/coupons/{body['id']}")
    assert {k: body[k] for k in ("code", "amount", "discount_type", "individual_use")} == {
        "code": "sorry-7k3m9q2xab",
        "amount": "10.00",
        "discount_type": "percent",
        "individual_use": True,
    }
    assert (body["usage_limit"], body["usage_limit_per_user"], body["usage_count"]) == (1, 1, 0)
    assert (body["date_expires_gmt"], body["email_restrictions"]) == ("2026-12-27T09:00:00", ["john.doe@example.com"])  # fmt: skip
    assert store.get(f"coupons/{body['id']}").json() == body
    assert store.sandbox.coupons == [body]


def test_the_same_code_in_any_case_is_refused_and_nothing_is_added(store):
    assert store.post("coupons", APOLOGY).status_code == 201
    again = store.post("coupons", {**APOLOGY, "code": "sorry-7K3M9Q2XAB"})
    assert again.status_code == 400
    assert again.json() == {
        "code": "woocommerce_rest_coupon_code_already_exists",
        "message": "The coupon code already exists",
        "data": {"status": 400},
    }
    assert len(store.sandbox.coupons) == 1


def test_listing_by_code_finds_the_coupon_whatever_the_case(store):
    made = store.post("coupons", APOLOGY).json()
    store.post("coupons", {**APOLOGY, "code": "OTHER"})
    listed = store.get("coupons", code="SORRY-7K3M9Q2XAB")
    assert [c["id"] for c in listed.json()] == [made["id"]] and listed.headers["X-WP-Total"] == "1"
    assert store.get("coupons", code="nope").json() == []
    assert len(store.get("coupons").json()) == 2


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"code": "  "}, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty."),
        ({"amount": "150"}, "coupon_invalid_amount", "Invalid discount amount"),
        ({"amount": "-1", "discount_type": "fixed_cart"}, "coupon_invalid_amount", "Invalid discount amount"),
        ({"discount_type": "percent_off"}, "rest_invalid_param", "Invalid parameter(s): discount_type"),
        ({"usage_limit": "once"}, "rest_invalid_param", "Invalid parameter(s): usage_limit"),
        (
            {"email_restrictions": ["not-an-address"]},
            "coupon_invalid_email_address",
            "Invalid email address restriction: not-an-address",
        ),
    ],
)
def test_what_woocommerce_refuses_is_a_400_with_its_code_and_creates_nothing(store, change, code, message):
    response = store.post("coupons", {**APOLOGY, **change})
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"]) == (code, message)
    assert store.sandbox.coupons == []


def test_an_invalid_type_names_the_allowed_ones_as_wordpress_does(store):
    body = store.post("coupons", {**APOLOGY, "discount_type": "percent_off"}).json()
    assert body["data"]["params"] == {
        "discount_type": "discount_type is not one of percent, fixed_cart, and fixed_product."
    }


def test_an_unknown_coupon_is_a_404(store):
    response = store.get("coupons/999")
    assert (
        response.status_code == 404 and response.json()["code"] == "woocommerce_rest_shop_coupon_invalid_id"
    )
