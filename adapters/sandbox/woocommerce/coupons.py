"""Coupons as `POST coupons` (v3) makes them: the arguments checked against the schema first, then an
empty code, a taken code (codes are lowercased and unique), an amount out of range and a malformed
email restriction refused with WooCommerce's own error codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .store import Store
from .wp import WPError, as_bool, as_int, invalid_param, money, now, one_of, parse_date

DISCOUNT_TYPES = ("percent", "fixed_cart", "fixed_product")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # is_email, near enough (wildcards aside)


@dataclass
class Coupon:
    id: int
    code: str
    amount: Decimal
    discount_type: str
    description: str
    date_created: datetime
    date_expires: datetime | None = None
    individual_use: bool = False
    usage_limit: int | None = None
    usage_limit_per_user: int | None = None
    email_restrictions: list[str] = field(default_factory=list)
    usage_count: int = 0

    @property
    def date_modified(self) -> datetime:
        return self.date_created


def format_code(value: Any) -> str:
    """`wc_format_coupon_code`: decoded, trimmed and lowercased (the `wc_strtolower` filter)."""
    return str(value or "").strip().lower()


def by_code(store: Store, code: str) -> Coupon | None:
    """`wc_get_coupon_id_by_code`."""
    wanted = format_code(code)
    return next((c for c in store.coupons.values() if c.code == wanted), None)


def create_coupon(store: Store, params: Mapping[str, Any]) -> Coupon:
    """`WC_REST_Coupons_Controller::create_item`."""
    args = _checked_args(params)
    code = format_code(params.get("code"))
    if not code:
        raise WPError("woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.", 400)
    if by_code(store, code) is not None:
        raise WPError("woocommerce_rest_coupon_code_already_exists", "The coupon code already exists", 400)
    # The discount type is set before the amount, so a percentage above 100 is caught.
    amount = money(params.get("amount", 0))
    if amount < 0 or (args["discount_type"] == "percent" and amount > 100):
        raise WPError("coupon_invalid_amount", "Invalid discount amount", 400)
    for email in args["email_restrictions"]:
        if not _EMAIL.match(email):
            raise WPError("coupon_invalid_email_address", f"Invalid email address restriction: {email}", 400)
    coupon = Coupon(
        id=store.next_post_id(),
        code=code,
        amount=amount,
        discount_type=args["discount_type"],
        description=str(params.get("description") or ""),
        date_created=now(),
        date_expires=args["date_expires"],
        individual_use=args["individual_use"],
        usage_limit=args["usage_limit"],
        usage_limit_per_user=args["usage_limit_per_user"],
        email_restrictions=[e.lower() for e in args["email_restrictions"]],
    )
    store.coupons[coupon.id] = coupon
    return coupon


def _checked_args(params: Mapping[str, Any]) -> dict[str, Any]:
    """What WordPress checks against the route's schema before the controller runs."""
    args: dict[str, Any] = {
        "discount_type": one_of(params.get("discount_type", "fixed_cart"), "discount_type", DISCOUNT_TYPES),
        "individual_use": as_bool(params.get("individual_use", False)),
    }
    for name in ("usage_limit", "usage_limit_per_user"):
        value = params.get(name)
        args[name] = None if value in (None, "") else as_int(value, name)
    emails = params.get("email_restrictions", [])
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise invalid_param(
            "email_restrictions", "email_restrictions is not of type array.", "rest_invalid_type"
        )
    args["email_restrictions"] = emails
    expires = params.get("date_expires_gmt") or params.get("date_expires")
    name = "date_expires_gmt" if params.get("date_expires_gmt") else "date_expires"
    args["date_expires"] = parse_date(str(expires), name) if expires else None
    return args
