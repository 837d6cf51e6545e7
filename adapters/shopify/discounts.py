"""Single-use discount codes on Shopify (`discountCodeBasicCreate`), created at most once per code.

The mutation takes no idempotency key, so the code string itself is the key: a code the shop already
has comes back as `TAKEN` on the `code` field, and a create whose outcome is unknown (a timeout or 5xx
on the write) is settled by looking the code up with `codeDiscountNodeByCode`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.base import DiscountCode, DiscountCodeRequest
from adapters.errors import OutcomeUnknown
from adapters.shopify import documents
from adapters.shopify.transport import GraphQLTransport

RaiseUserErrors = Callable[[list[dict[str, Any]] | None, str], None]


def create(
    transport: GraphQLTransport, raise_user_errors: RaiseUserErrors, request: DiscountCodeRequest
) -> DiscountCode:
    """Create the code, or answer the one already there under the same string."""
    variables = {"basicCodeDiscount": basic_input(request)}
    try:
        result = transport.execute(documents.load("discount_code_basic_create"), variables)
    except OutcomeUnknown:
        existing = find(transport, request.code)
        if existing is None:
            raise
        return existing
    payload = result["discountCodeBasicCreate"]
    errors = payload.get("userErrors") or []
    if errors and all(_code_taken(e) for e in errors):
        existing = find(transport, request.code)
        if existing is not None:
            return existing
    raise_user_errors(errors, f"discount code {request.code}")
    node = payload.get("codeDiscountNode") or {}
    return DiscountCode(_code_of(node) or request.code, node.get("id", ""), created=True)


def find(transport: GraphQLTransport, code: str) -> DiscountCode | None:
    """The discount `code` belongs to, or None."""
    node = transport.execute(documents.load("discount_code_by_code"), {"code": code})[
        "codeDiscountNodeByCode"
    ]
    if not node:
        return None
    return DiscountCode(_code_of(node) or code, node["id"], created=False)


def basic_input(request: DiscountCodeRequest) -> dict[str, Any]:
    """DiscountCodeBasicInput: one use in all, once per customer, on every item; no customer id is
    known to the connector, so anyone holding the code may use it once."""
    if request.kind == "percentage":
        value: dict[str, Any] = {"percentage": float(request.value / Decimal(100))}  # 0.0 to 1.0
    else:
        value = {"discountAmount": {"amount": str(request.value), "appliesOnEachItem": False}}
    return {
        "title": request.title,
        "code": request.code,
        "startsAt": _iso(request.starts_at),
        "endsAt": _iso(request.ends_at) if request.ends_at else None,
        "customerSelection": {"all": True},
        "customerGets": {"value": value, "items": {"all": True}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
    }


def _code_taken(error: Mapping[str, Any]) -> bool:
    return error.get("code") == "TAKEN" and (error.get("field") or [""])[-1] == "code"


def _code_of(node: Mapping[str, Any]) -> str | None:
    codes = ((node.get("codeDiscount") or {}).get("codes") or {}).get("nodes") or []
    return codes[0].get("code") if codes else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
