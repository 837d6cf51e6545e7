"""Products and variations as WooCommerce keeps them, with the rules it applies on every save:
stock status is derived on stock-managed products, backorders are dropped on unmanaged ones, and meta
data follows `WC_Data::update_meta_data`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .wp import WPError, as_bool, as_int, invalid_param, meta_text, money, money_text, one_of

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
NO_STOCK_AMOUNT = 0  # woocommerce_notify_no_stock_amount: at or below it a product is out of stock

# Internal meta keys that WooCommerce turns into setter calls instead of storing as meta.
_INTERNAL_META = {
    "_sku": "sku",
    "_stock": "stock_quantity",
    "_manage_stock": "manage_stock",
    "_backorders": "backorders",
    "_stock_status": "stock_status",
    "_regular_price": "regular_price",
    "_sale_price": "sale_price",
}


@dataclass
class Meta:
    id: int
    key: str
    value: Any


@dataclass
class Product:
    """A product post; a variation is a Product whose type is `variation` and whose parent is variable."""

    id: int
    type: str
    name: str
    date_created: datetime
    date_modified: datetime
    parent_id: int = 0
    slug: str = ""
    status: str = "publish"
    sku: str = ""
    regular_price: str = ""
    sale_price: str = ""
    description: str = ""
    short_description: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    low_stock_amount: int | None = None
    category_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    meta: list[Meta] = field(default_factory=list)
    cross_sell_ids: list[int] = field(default_factory=list)
    upsell_ids: list[int] = field(default_factory=list)
    total_sales: int = 0
    menu_order: int = 0
    weight: str = ""
    virtual: bool = False
    featured: bool = False
    catalog_visibility: str = "visible"
    tax_status: str = "taxable"
    tax_class: str = ""
    purchase_note: str = ""
    lowest_child_price: str = ""  # what `price` reads on a variable product, kept by sync_variable

    @property
    def is_variation(self) -> bool:
        return self.type == "variation"

    @property
    def on_sale(self) -> bool:
        return self.sale_price != "" and money(self.sale_price) < money(self.regular_price or "0")

    @property
    def price(self) -> str:
        if self.type == "variable":
            return self.lowest_child_price
        return self.sale_price if self.on_sale else self.regular_price

    @property
    def backorders_allowed(self) -> bool:
        return self.backorders in ("yes", "notify")

    @property
    def backorders_require_notification(self) -> bool:
        return self.manage_stock and self.backorders == "notify"

    def is_on_backorder(self, quantity: int = 0) -> bool:
        """`WC_Product::is_on_backorder`: the REST field `backordered` is this with no quantity."""
        if self.stock_status == "onbackorder":
            return True
        return self.manage_stock and self.backorders_allowed and (self.stock_quantity or 0) - quantity < 0

    @property
    def is_in_stock(self) -> bool:
        return self.stock_status != "outofstock"

    def meta_value(self, key: str) -> Any:
        return next((m.value for m in self.meta if m.key == key), None)


def validate_props(product: Product) -> None:
    """`WC_Product::validate_props`, run on every save: stock props are aligned, never trusted."""
    if not product.manage_stock:
        product.stock_quantity = None
        product.backorders = "no"
        product.low_stock_amount = None
        return
    quantity = product.stock_quantity or 0
    product.stock_quantity = quantity
    if product.type == "variable":
        return  # a variable product's status always comes from its children (sync_variable)
    if quantity > NO_STOCK_AMOUNT:
        product.stock_status = "instock"
    elif product.backorders_allowed:
        product.stock_status = "onbackorder"
    else:
        product.stock_status = "outofstock"


def sync_variable(parent: Product, children: list[Product]) -> None:
    """`WC_Product_Variable::sync`: the parent is in stock if any published child is."""
    statuses = {child.stock_status for child in children if child.status == "publish"}
    if "instock" in statuses:
        parent.stock_status = "instock"
    elif "onbackorder" in statuses:
        parent.stock_status = "onbackorder"
    else:
        parent.stock_status = "outofstock"
    prices = [money(child.price) for child in children if child.price != ""]
    parent.regular_price = parent.sale_price = ""
    parent.lowest_child_price = money_text(min(prices)) if prices else ""


def update_meta(product: Product, key: str, value: Any, meta_id: Any, new_id: Callable[[], int]) -> None:
    """`WC_Data::update_meta_data`: by id if given, else the first entry with that key (other entries
    with the key are dropped), else a new entry. A null value deletes the entry on save."""
    if key in _INTERNAL_META:
        apply_fields(product, {_INTERNAL_META[key]: value})
        return
    target = None
    if meta_id not in (None, "", 0):
        target = next((m for m in product.meta if m.id == _int_or_none(meta_id)), None)
    else:
        matches = [m for m in product.meta if m.key == key]
        if matches:
            target = matches[0]
            product.meta = [m for m in product.meta if m.key != key or m is target]
    if value is None:
        if target is not None:
            product.meta.remove(target)
        return
    if target is None:
        product.meta.append(Meta(new_id(), key, meta_text(value)))
    else:
        target.key, target.value = key, meta_text(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def apply_fields(product: Product, payload: Mapping[str, Any]) -> None:
    """Copy the writable product fields of a REST payload onto `product` (read-only ones are ignored,
    as WordPress ignores any argument outside the schema); stock rules run later, on save."""
    text_fields = ("name", "slug", "description", "short_description", "purchase_note", "tax_class")
    for name in text_fields:
        if payload.get(name) is not None:
            setattr(product, name, str(payload[name]))
    if payload.get("sku") is not None:
        product.sku = str(payload["sku"]).strip()
    for name in ("regular_price", "sale_price"):
        if payload.get(name) is not None:
            setattr(product, name, _price_text(payload[name], name))
    if payload.get("status") is not None:
        product.status = one_of(payload["status"], "status", ("draft", "pending", "private", "publish"))
    if payload.get("manage_stock") is not None:
        # "parent" on a variation means its parent manages the stock; the sandbox keeps it per variation.
        product.manage_stock = payload["manage_stock"] != "parent" and as_bool(payload["manage_stock"])
    if payload.get("backorders") is not None:
        product.backorders = one_of(payload["backorders"], "backorders", BACKORDERS)
    if payload.get("stock_status") is not None:
        product.stock_status = one_of(payload["stock_status"], "stock_status", STOCK_STATUSES)
    _apply_stock_quantity(product, payload)
    if "low_stock_amount" in payload:
        value = payload["low_stock_amount"]
        product.low_stock_amount = None if value is None else as_int(value, "low_stock_amount")
    for name in ("cross_sell_ids", "upsell_ids"):
        if payload.get(name) is not None:
            setattr(product, name, [as_int(v, name) for v in _list(payload[name], name)])
    for name in ("featured", "virtual"):
        if payload.get(name) is not None:
            setattr(product, name, as_bool(payload[name]))
    if payload.get("menu_order") is not None:
        product.menu_order = as_int(payload["menu_order"], "menu_order")
    if payload.get("weight") is not None:
        product.weight = str(payload["weight"])


def _apply_stock_quantity(product: Product, payload: Mapping[str, Any]) -> None:
    # The quantity is only read when the product (as it will be saved) manages stock.
    if not product.manage_stock:
        return
    if payload.get("stock_quantity") is not None:
        product.stock_quantity = as_int(payload["stock_quantity"], "stock_quantity")
    elif payload.get("inventory_delta") is not None:
        product.stock_quantity = (product.stock_quantity or 0) + as_int(
            payload["inventory_delta"], "inventory_delta"
        )


def _price_text(value: Any, name: str) -> str:
    text = str(value).strip()
    if text == "":
        return ""
    try:
        Decimal(text)
    except ArithmeticError:
        raise invalid_param(name, f"{name} is not of type string.", "rest_invalid_type") from None
    return text


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid_param(name, f"{name} is not of type array.", "rest_invalid_type")
    return value


def parent_attributes(payload_attributes: Any) -> list[dict[str, Any]]:
    """Product-level attributes as posted: `[{id, name, position, visible, variation, options}]`."""
    attributes = []
    for position, raw in enumerate(_list(payload_attributes, "attributes")):
        if not isinstance(raw, dict) or not (raw.get("name") or raw.get("id")):
            continue
        attributes.append(
            {
                "id": as_int(raw.get("id", 0), "attributes"),
                "name": str(raw.get("name", "")),
                "slug": slugify(str(raw.get("name", ""))),
                "position": as_int(raw.get("position", position), "attributes"),
                "visible": as_bool(raw.get("visible", False)),
                "variation": as_bool(raw.get("variation", False)),
                "options": [str(o) for o in raw.get("options", [])],
            }
        )
    return attributes


def variation_attributes(payload_attributes: Any, parent: Product | None) -> list[dict[str, Any]]:
    """A variation's `[{id, name, option}]`, keeping only attributes its parent uses for variations."""
    if parent is None:
        raise WPError(
            "woocommerce_rest_product_variation_invalid_parent",
            "Cannot set attributes due to invalid parent product.",
            404,
        )
    usable = {slugify(a["name"]): a for a in parent.attributes if a["variation"]}
    chosen = []
    for raw in _list(payload_attributes, "attributes"):
        if isinstance(raw, dict) and slugify(str(raw.get("name", ""))) in usable:
            attribute = usable[slugify(str(raw["name"]))]
            chosen.append(
                {"id": attribute["id"], "name": attribute["name"], "option": str(raw.get("option", ""))}
            )
    return chosen


def slugify(text: str) -> str:
    """`sanitize_title`, close enough for ASCII names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
