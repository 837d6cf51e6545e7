"""Catalogue entries from Shopify's two shapes: GraphQL variants (reads) and REST products (webhooks).

Both give the same ids (GIDs) and the same `raw_policy` (the GraphQL enum, DENY or CONTINUE), so an
entry from a `products/update` webhook compares equal to one from `read_catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.base import CatalogEntry, InventoryPolicy, ListingRef
from adapters.shopify.ids import gid, optional_gid

POLICIES: dict[str, InventoryPolicy] = {"CONTINUE": "allow", "DENY": "deny"}


def policy_of(raw: str | None) -> InventoryPolicy:
    return POLICIES.get((raw or "").upper(), "deny")


def money(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def available_quantity(inventory_item: Mapping[str, Any] | None) -> int | None:
    """The `available` quantity at our location; None when untracked or not stocked there."""
    if not inventory_item or not inventory_item.get("tracked", True):
        return None
    level = inventory_item.get("inventoryLevel")
    if not level:
        return None
    for quantity in level.get("quantities") or []:
        if quantity.get("name") == "available":
            return int(quantity["quantity"])
    return None


def entry_from_variant(node: Mapping[str, Any]) -> CatalogEntry:
    """One `productVariants` node (see graphql/catalog_page.graphql)."""
    product = node.get("product") or {}
    inventory_item = node.get("inventoryItem") or {}
    raw_policy = node.get("inventoryPolicy") or "DENY"
    return CatalogEntry(
        ref=ListingRef(
            product_id=product.get("id", ""),
            variant_id=node["id"],
            inventory_item_id=inventory_item.get("id"),
        ),
        sku=node.get("sku") or None,
        product_title=product.get("title", ""),
        variant_title=node.get("title") or "",
        description=product.get("descriptionHtml") or "",
        product_type=product.get("productType") or "",
        vendor=product.get("vendor") or "",
        tags=tuple(product.get("tags") or ()),
        price=money(node.get("price")),
        options=real_options({o["name"]: o["value"] for o in node.get("selectedOptions") or []}),
        quantity=available_quantity(inventory_item),
        policy=policy_of(raw_policy),
        raw_policy=raw_policy,
    )


def entries_from_rest_product(product: Mapping[str, Any]) -> tuple[CatalogEntry, ...]:
    """The variants of a REST product (a `products/update` body).

    The body has no per-location quantity (only the deprecated total over all locations), so
    `quantity` is None: stock news comes from `inventory_levels/update`."""
    product_id = gid("Product", product.get("admin_graphql_api_id") or product["id"])
    option_names = [o.get("name", "") for o in product.get("options") or []]
    common = {
        "product_title": product.get("title") or "",
        "description": product.get("body_html") or "",
        "product_type": product.get("product_type") or "",
        "vendor": product.get("vendor") or "",
        "tags": split_tags(product.get("tags")),
    }
    entries = []
    for variant in product.get("variants") or []:
        raw_policy = (variant.get("inventory_policy") or "deny").upper()
        options = {}
        for position, name in enumerate(option_names, start=1):
            value = variant.get(f"option{position}")
            if name and value is not None:
                options[name] = value
        entries.append(
            CatalogEntry(
                ref=ListingRef(
                    product_id=product_id,
                    variant_id=gid("ProductVariant", variant.get("admin_graphql_api_id") or variant["id"]),
                    inventory_item_id=optional_gid("InventoryItem", variant.get("inventory_item_id")),
                ),
                sku=variant.get("sku") or None,
                variant_title=variant.get("title") or "",
                price=money(variant.get("price")),
                options=real_options(options),
                quantity=None,
                policy=policy_of(raw_policy),
                raw_policy=raw_policy,
                **common,
            )
        )
    return tuple(entries)


def split_tags(tags: object) -> tuple[str, ...]:
    """REST sends tags as one comma-separated string, GraphQL as a list."""
    if isinstance(tags, str):
        return tuple(t.strip() for t in tags.split(",") if t.strip())
    return tuple(str(t) for t in tags or ())


def real_options(options: dict[str, str]) -> dict[str, str]:
    """Drop the placeholder Shopify gives a product without options (Title: Default Title)."""
    return {} if options == {"Title": "Default Title"} else options
