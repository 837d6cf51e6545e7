"""Orders from Shopify's two shapes, GraphQL (reads) and REST (webhooks), into one OrderInfo.

Line quantities are what is still on the order (`currentQuantity`, REST `current_quantity`), so an
`orders/updated` after a partial cancellation shows what remains. Financial statuses use the REST
spelling (`partially_refunded`) for both shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.base import ListingRef, OrderInfo, OrderLineInfo
from adapters.shopify.catalog import money, split_tags
from adapters.shopify.ids import gid, optional_gid

CANCEL_REASONS = {"customer", "declined", "fraud", "inventory", "staff", "other"}  # OrderCancelReason


def cancel_reason(reason: str) -> str:
    """Our reason as Shopify's OrderCancelReason enum; anything Shopify does not know is OTHER."""
    reason = (reason or "").strip().lower()
    return reason.upper() if reason in CANCEL_REASONS else "OTHER"


def timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (Shopify writes `Z` or an offset)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def order_from_graphql(order: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> OrderInfo:
    """An `order` node (graphql/order_read.graphql) with all its line item nodes."""
    customer = order.get("customer") or {}
    return OrderInfo(
        order_id=order["id"],
        number=order.get("name") or "",
        placed_at=timestamp(order["createdAt"]),  # type: ignore[arg-type]
        updated_at=timestamp(order.get("updatedAt")),
        customer_name=customer.get("displayName") or "",
        customer_email=order.get("email") or "",
        lines=tuple(_line_from_graphql(line) for line in lines),
        cancelled=order.get("cancelledAt") is not None,
        financial_status=(order.get("displayFinancialStatus") or "").lower(),
        tags=tuple(order.get("tags") or ()),
    )


def _line_from_graphql(line: Mapping[str, Any]) -> OrderLineInfo:
    variant = line.get("variant") or None
    ref = None
    if variant:
        ref = ListingRef(
            product_id=(variant.get("product") or {}).get("id", ""),
            variant_id=variant["id"],
            inventory_item_id=(variant.get("inventoryItem") or {}).get("id"),
        )
    quantity = line.get("currentQuantity")
    unit_price = ((line.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount")
    return OrderLineInfo(
        line_id=line["id"],
        sku=line.get("sku") or None,
        quantity=int(line["quantity"] if quantity is None else quantity),
        ref=ref,
        title=line.get("title") or "",
        price=money(unit_price),
    )


def order_from_rest(order: Mapping[str, Any]) -> OrderInfo:
    """A REST order, as the `orders/*` webhooks send it."""
    return OrderInfo(
        order_id=gid("Order", order.get("admin_graphql_api_id") or order["id"]),
        number=order.get("name") or str(order.get("order_number") or ""),
        placed_at=timestamp(order["created_at"]),  # type: ignore[arg-type]
        updated_at=timestamp(order.get("updated_at")),
        customer_name=_rest_customer_name(order),
        customer_email=order.get("email") or order.get("contact_email") or "",
        lines=tuple(_line_from_rest(line) for line in order.get("line_items") or []),
        cancelled=order.get("cancelled_at") is not None,
        financial_status=(order.get("financial_status") or "").lower(),
        tags=split_tags(order.get("tags")),
    )


def _line_from_rest(line: Mapping[str, Any]) -> OrderLineInfo:
    ref = None
    if line.get("variant_id"):
        ref = ListingRef(
            product_id=optional_gid("Product", line.get("product_id")) or "",
            variant_id=gid("ProductVariant", line["variant_id"]),
        )
    quantity = line.get("current_quantity")
    return OrderLineInfo(
        line_id=gid("LineItem", line.get("admin_graphql_api_id") or line["id"]),
        sku=line.get("sku") or None,
        quantity=int(line["quantity"] if quantity is None else quantity),
        ref=ref,
        title=line.get("title") or "",
        price=money(line.get("price")),
    )


def _rest_customer_name(order: Mapping[str, Any]) -> str:
    for person in (order.get("customer"), order.get("billing_address"), order.get("shipping_address")):
        if person:
            name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
            name = name or person.get("name") or ""
            if name:
                return name
    return ""


def restocked_by_cancellation(order: Mapping[str, Any]) -> bool:
    """Whether an `orders/cancelled` body says stock went back: a refund line restocked by cancel or
    return. A body without `refunds` at all tells nothing, and then we assume the default (True)."""
    if "refunds" not in order:
        return True
    restock_types = {
        (item.get("restock_type") or "").lower()
        for refund in order.get("refunds") or []
        for item in refund.get("refund_line_items") or []
    }
    return bool(restock_types & {"cancel", "return", "legacy_restock"})
