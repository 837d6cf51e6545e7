"""Single-use coupons on WooCommerce (`POST coupons`), created at most once per code.

WooCommerce keeps no idempotency keys, but a coupon code is unique in a store: sending the same code
again is refused with `woocommerce_rest_coupon_code_already_exists`, and a create whose outcome is
unknown is settled by listing coupons with that `code`. Codes are stored lowercased.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from adapters.base import DiscountCode, DiscountCodeRequest
from adapters.errors import OutcomeUnknown, RejectedByChannel

from .mapping import mapping_list
from .transport import Transport

ALREADY_EXISTS = "woocommerce_rest_coupon_code_already_exists"


def create(transport: Transport, request: DiscountCodeRequest) -> DiscountCode:
    """Create the coupon, or answer the one already there under the same code."""
    try:
        reply = transport.write("POST", "coupons", coupon_body(request), idempotent=False)
    except OutcomeUnknown:
        existing = find(transport, request.code)
        if existing is None:
            raise
        return existing
    except RejectedByChannel as error:
        existing = find(transport, request.code) if getattr(error, "code", "") == ALREADY_EXISTS else None
        if existing is None:
            raise
        return existing
    coupon = reply.data or {}
    return DiscountCode(str(coupon.get("code") or request.code), str(coupon.get("id", "")), created=True)


def find(transport: Transport, code: str) -> DiscountCode | None:
    """The coupon with this code (matched as WooCommerce matches codes: case-insensitively), or None."""
    coupons = transport.read("coupons", {"code": code}).data
    for coupon in mapping_list(coupons):
        if str(coupon.get("code", "")).casefold() == code.casefold():
            return DiscountCode(str(coupon["code"]), str(coupon.get("id", "")), created=False)
    return None


def coupon_body(request: DiscountCodeRequest) -> dict[str, Any]:
    """One use in all, by one customer (their billing email), not combined with other coupons."""
    body: dict[str, Any] = {
        "code": request.code,
        "discount_type": "percent" if request.kind == "percentage" else "fixed_cart",
        "amount": str(request.value),
        "description": request.title,
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
    }
    if request.ends_at is not None:
        body["date_expires_gmt"] = request.ends_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if request.customer_email:
        body["email_restrictions"] = [request.customer_email]
    return body
