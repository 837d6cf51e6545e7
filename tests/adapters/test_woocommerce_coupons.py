"""Coupons on WooCommerce (`POST coupons`): the body sent, and never two coupons for one code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from adapters.base import DiscountCode, DiscountCodeRequest
from adapters.errors import OutcomeUnknown, RejectedByChannel
from adapters.woocommerce import WooCommerceChannel

STORE = "https://shop.example.com"
API = f"{STORE}/wp-json/wc/v3"
STARTS = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> WooCommerceChannel:
    return WooCommerceChannel(STORE, "ck_test", "cs_test", sleep=lambda s: None)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def request(kind: str = "percentage", value: str = "10", email: str | None = "john.doe@example.com"):
    return DiscountCodeRequest(
        code="SORRY-7K3M9Q2XAB",
        kind=kind,
        value=Decimal(value),
        title="Apology for the late order #727",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(days=30),
        customer_email=email,
    )


def coupon(cid: int = 719, code: str = "sorry-7k3m9q2xab", **fields: Any) -> dict[str, Any]:
    """A coupon as WooCommerce answers it (codes come back lowercased)."""
    return {"id": cid, "code": code, "amount": "10.00", "discount_type": "percent", "usage_limit": 1, "usage_limit_per_user": 1, "individual_use": True, "email_restrictions": ["john.doe@example.com"], **fields}  # fmt: skip


def wp_error(code: str, message: str, status: int = 400) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def test_a_percent_coupon_for_one_use_by_the_customer_with_its_expiry(store, mocked):
    mocked.post(f"{API}/coupons", status=201, json=coupon())

    made = store.create_discount_code(request())

    assert made == DiscountCode("sorry-7k3m9q2xab", "719", created=True)
    assert sent_json(mocked.calls[0]) == {
        "code": "SORRY-7K3M9Q2XAB",
        "discount_type": "percent",
        "amount": "10",
        "description": "Apology for the late order #727",
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "date_expires_gmt": "2026-12-27T09:00:00",
        "email_restrictions": ["john.doe@example.com"],
    }


def test_a_fixed_amount_is_a_fixed_cart_coupon_and_no_email_means_no_restriction(store, mocked):
    mocked.post(f"{API}/coupons", status=201, json=coupon(discount_type="fixed_cart"))
    store.create_discount_code(request("fixed_amount", "5.00", email=None))
    body = sent_json(mocked.calls[0])
    assert (body["discount_type"], body["amount"]) == ("fixed_cart", "5.00")
    assert "email_restrictions" not in body


def test_a_code_that_already_exists_is_the_coupon_made_before(store, mocked):
    mocked.post(f"{API}/coupons", status=400, json=wp_error("woocommerce_rest_coupon_code_already_exists", "The coupon code already exists"))  # fmt: skip
    mocked.get(f"{API}/coupons", json=[coupon()])

    made = store.create_discount_code(request())

    assert made == DiscountCode("sorry-7k3m9q2xab", "719", created=False)
    assert mocked.calls[1].request.params["code"] == "SORRY-7K3M9Q2XAB"
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]


def test_a_coupon_woocommerce_refuses_is_rejected_with_its_code_and_not_retried(store, mocked):
    mocked.post(f"{API}/coupons", status=400, json=wp_error("coupon_invalid_amount", "Invalid discount amount"))  # fmt: skip
    with pytest.raises(RejectedByChannel, match="coupon_invalid_amount: Invalid discount amount") as raised:
        store.create_discount_code(request(value="150"))
    assert raised.value.code == "coupon_invalid_amount" and not raised.value.retryable
    assert len(mocked.calls) == 1


def test_a_create_that_timed_out_but_landed_is_found_by_its_code(store, mocked):
    mocked.post(f"{API}/coupons", body=requests.ReadTimeout("read timed out"))
    mocked.get(f"{API}/coupons", json=[coupon()])
    assert store.create_discount_code(request()) == DiscountCode("sorry-7k3m9q2xab", "719", created=False)
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]


def test_a_5xx_without_a_woocommerce_error_that_did_not_land_stays_unknown_and_is_not_resent(store, mocked):
    mocked.post(f"{API}/coupons", status=502, body="<html>Bad Gateway</html>")
    mocked.get(f"{API}/coupons", json=[])
    with pytest.raises(OutcomeUnknown):
        store.create_discount_code(request())
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]
