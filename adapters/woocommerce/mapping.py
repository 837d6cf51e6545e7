"""WooCommerce REST resources (products, variations, orders) read into the port's platform-neutral values."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.base import CatalogEntry, InventoryPolicy, ListingRef, OrderInfo, OrderLineInfo

VARIABLE_TYPES = frozenset({"variable", "variable-subscription"})
# Grouped products are containers and external ones are sold elsewhere: neither holds stock here.
UNSELLABLE_TYPES = frozenset({"grouped", "external"})
CANCELLED_STATUSES = frozenset({"cancelled", "refunded"})
TAGS_META_KEY = "_backorder_tags"


def policy_of(backorders: str | None) -> InventoryPolicy:
    """`no` sells out at zero; `notify` and `yes` keep selling (backorders allowed)."""
    return "allow" if backorders in ("notify", "yes") else "deny"


def quantity_of(resource: Mapping[str, Any]) -> int | None:
    """stock_quantity when WooCommerce manages stock for it (a variation may say "parent"), else None."""
    if resource.get("manage_stock") in (False, None):
        return None
    quantity = resource.get("stock_quantity")
    return None if quantity is None else int(quantity)


def money(value: Any) -> Decimal | None:
    """WooCommerce prices are strings ("21.99", "" when unset); order line prices are JSON numbers."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def utc(value: str | None) -> datetime | None:
    """A `*_gmt` field ("2017-03-22T19:28:02", no offset) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def product_entry(product: Mapping[str, Any]) -> CatalogEntry:
    """A simple (or other single-SKU) product: one sellable entry whose variant id is the product id."""
    product_id = str(product["id"])
    return CatalogEntry(
        ref=ListingRef(product_id=product_id, variant_id=product_id),
        sku=product.get("sku") or None,
        product_title=_text(product.get("name")),
        description=product.get("description") or "",
        product_type=_first_name(product.get("categories")),
        vendor=_first_name(product.get("brands")),
        tags=_names(product.get("tags")),
        price=money(product.get("price")),
        quantity=quantity_of(product),
        policy=policy_of(product.get("backorders")),
        raw_policy=product.get("backorders") or "",
    )


def variation_entry(parent: Mapping[str, Any], variation: Mapping[str, Any]) -> CatalogEntry:
    """One variation of a variable product, described with its parent's title, categories and tags."""
    options = _options(variation.get("attributes"))
    return CatalogEntry(
        ref=ListingRef(product_id=str(parent["id"]), variant_id=str(variation["id"])),
        sku=variation.get("sku") or None,
        product_title=_text(parent.get("name")),
        variant_title=" / ".join(options.values()),
        description=variation.get("description") or parent.get("description") or "",
        product_type=_first_name(parent.get("categories")),
        vendor=_first_name(parent.get("brands")),
        tags=_names(parent.get("tags")),
        price=money(variation.get("price")),
        options=options,
        quantity=quantity_of(variation),
        policy=policy_of(variation.get("backorders")),
        raw_policy=variation.get("backorders") or "",
    )


def webhook_product_entry(product: Mapping[str, Any]) -> CatalogEntry:
    """A product.updated body. A variation's own update arrives through the products endpoint with
    type "variation" and its parent_id; its `name` is the full "Parent - Options" title."""
    if product.get("type") != "variation":
        return product_entry(product)
    parent = {"id": product["parent_id"], "name": product.get("name"), "description": ""}
    return variation_entry({**product, **parent}, product)


def order_info(order: Mapping[str, Any]) -> OrderInfo:
    billing = order.get("billing") or {}
    status = order.get("status") or ""
    return OrderInfo(
        order_id=str(order["id"]),
        number=str(order.get("number") or order["id"]),
        placed_at=_placed_at(order),
        updated_at=utc(order.get("date_modified_gmt")),
        customer_name=" ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p),
        customer_email=billing.get("email") or "",
        lines=tuple(_order_line(line) for line in mapping_list(order.get("line_items"))),
        cancelled=status in CANCELLED_STATUSES,
        financial_status=financial_status(order),
        tags=order_tags(order),
    )


def _placed_at(order: Mapping[str, Any]) -> datetime:
    placed = utc(order.get("date_created_gmt"))
    if placed is None:
        raise ValueError(f"order {order.get('id')} has no date_created_gmt")
    return placed


def financial_status(order: Mapping[str, Any]) -> str:
    """WooCommerce has no payment status of its own: derive one from refunds and `date_paid`."""
    total = money(order.get("total")) or Decimal(0)
    refunded = refunded_amount(order)
    if refunded and refunded >= total:
        return "refunded"
    if refunded:
        return "partially_refunded"
    if order.get("status") == "refunded":
        return "refunded"
    return "paid" if order.get("date_paid_gmt") or order.get("date_paid") else "pending"


def refunded_amount(order: Mapping[str, Any]) -> Decimal:
    """Refunds are listed on the order with negative totals ("-10.00")."""
    return sum(
        (abs(money(r.get("total")) or Decimal(0)) for r in mapping_list(order.get("refunds"))), Decimal(0)
    )


def order_tags(order: Mapping[str, Any]) -> tuple[str, ...]:
    raw = meta_value(order, TAGS_META_KEY) or ""
    return tuple(t.strip() for t in str(raw).split(",") if t.strip())


def mapping_list(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list, skipping anything else (a store's plugins can add odd entries)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def meta_value(resource: Mapping[str, Any], key: str) -> Any:
    for meta in mapping_list(resource.get("meta_data")):
        if meta.get("key") == key:
            return meta.get("value")
    return None


def _order_line(line: Mapping[str, Any]) -> OrderLineInfo:
    product_id = int(line.get("product_id") or 0)
    variation_id = int(line.get("variation_id") or 0)
    ref = None
    if product_id:  # 0 when the product has since been deleted
        ref = ListingRef(product_id=str(product_id), variant_id=str(variation_id or product_id))
    return OrderLineInfo(
        line_id=str(line["id"]),
        sku=line.get("sku") or None,
        quantity=int(line.get("quantity") or 0),
        ref=ref,
        title=_text(line.get("name")),
        price=money(line.get("price")),
    )


def _options(attributes: Any) -> dict[str, str]:
    return {_text(a.get("name")): _text(a.get("option")) for a in mapping_list(attributes) if a.get("name")}


def _names(terms: Any) -> tuple[str, ...]:
    return tuple(_text(t.get("name")) for t in mapping_list(terms) if t.get("name"))


def _first_name(terms: Any) -> str:
    names = _names(terms)
    return names[0] if names else ""


def _text(value: Any) -> str:
    """Titles come HTML-escaped ("Ship Your Idea &ndash; Black")."""
    return html.unescape(str(value)) if value is not None else ""
