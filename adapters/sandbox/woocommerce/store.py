"""The sandbox store's state: products, variations, orders and terms in memory behind one lock, plus the
product writes the REST routes make. Every write runs inside `transaction()`, which collects the
webhook events it causes so they go out only after the state is consistent again."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..common import SkuIndex
from .products import (
    PRODUCT_TYPES,
    Product,
    apply_fields,
    parent_attributes,
    slugify,
    sync_variable,
    update_meta,
    validate_props,
    variation_attributes,
)
from .wp import WPError, as_int, invalid_param, now, one_of

if TYPE_CHECKING:
    from .coupons import Coupon
    from .orders import Order
    from .refunds import Refund

UNCATEGORIZED = 15  # WordPress gives every product without a category the default one


@dataclass(frozen=True)
class Event:
    """Something a webhook topic listens for, e.g. ("product", "updated", 42)."""

    resource: str
    event: str
    resource_id: int


@dataclass
class Term:
    id: int
    name: str
    slug: str


@dataclass
class Transaction:
    events: list[Event] = field(default_factory=list)

    def emit(self, resource: str, event: str, resource_id: int) -> None:
        item = Event(resource, event, resource_id)
        if item not in self.events:  # WC_Webhook::is_already_processed: once per request and resource
            self.events.append(item)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.products: dict[int, Product] = {}
        self._skus = SkuIndex(self.products, lambda product: product.status != "trash")
        self.orders: dict[int, Order] = {}
        self.refunds: dict[int, Refund] = {}
        self.coupons: dict[int, Coupon] = {}
        self.categories: dict[int, Term] = {
            UNCATEGORIZED: Term(UNCATEGORIZED, "Uncategorized", "uncategorized")
        }
        self.tags: dict[int, Term] = {}
        self.emails: list[tuple[str, str]] = []  # (recipient, subject) of mails the store would send
        self._post_ids = itertools.count(101)  # products, variations, orders, refunds, coupons share posts
        self._term_ids = itertools.count(20)
        self._meta_ids = itertools.count(1000)
        self._item_ids = itertools.count(1)
        self._note_ids = itertools.count(1)
        self._tx: Transaction | None = None

    # -- bookkeeping -------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the lock for one request's work and collect the events it raises."""
        with self.lock:
            outer = self._tx
            self._tx = outer or Transaction()
            try:
                yield self._tx
            finally:
                self._tx = outer

    def emit(self, resource: str, event: str, resource_id: int) -> None:
        if self._tx is not None:
            self._tx.emit(resource, event, resource_id)

    def next_post_id(self) -> int:
        return next(self._post_ids)

    def next_meta_id(self) -> int:
        return next(self._meta_ids)

    def next_item_id(self) -> int:
        return next(self._item_ids)

    def next_note_id(self) -> int:
        return next(self._note_ids)

    def term(self, taxonomy: str, name: str) -> int:
        """The id of the category or tag called `name`, created if new."""
        terms = self.categories if taxonomy == "category" else self.tags
        for term in terms.values():
            if term.name == name:
                return term.id
        term = Term(next(self._term_ids), name, slugify(name))
        terms[term.id] = term
        return term.id

    # -- reading -----------------------------------------------------------------------------------

    def product(self, product_id: int) -> Product | None:
        """`wc_get_product`: products and variations alike (the products endpoint serves both), trashed
        ones included; lists and SKU look-ups leave those out."""
        return self.products.get(product_id)

    def variation(self, parent_id: int, variation_id: int) -> Product | None:
        product = self.product(variation_id)
        return product if product is not None and product.is_variation else None

    def children(self, parent: Product) -> list[Product]:
        return [self.products[i] for i in parent.children if i in self.products]

    def by_sku(self, sku: str) -> Product | None:
        return self._skus.find(sku)

    # -- product writes ----------------------------------------------------------------------------

    def create_product(self, payload: Mapping[str, Any]) -> Product:
        if payload.get("id"):
            raise WPError("woocommerce_rest_product_exists", "Cannot create existing product.", 400)
        kind = one_of(payload.get("type", "simple"), "type", PRODUCT_TYPES)
        moment = now()
        product = Product(
            id=0,
            type=kind,
            name=str(payload.get("name", "Product")),
            date_created=moment,
            date_modified=moment,
        )
        self._write(product, payload)
        product.id = self.next_post_id()
        product.slug = product.slug or slugify(product.name) or str(product.id)
        self._save(product, creating=True)
        return product

    def update_product(self, product_id: int, payload: Mapping[str, Any]) -> Product:
        product = self.product(product_id)
        if product is None:
            raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
        if product.is_variation:
            return self.update_variation(product.parent_id, product_id, payload, checked=True)
        draft = _copy(product)
        self._write(draft, payload)
        self._save(draft, creating=False)
        return self.products[product_id]

    def create_variation(self, parent_id: int, payload: Mapping[str, Any]) -> Product:
        parent = self.product(parent_id)
        if parent is None or parent.type != "variable":
            # Real WooCommerce only notices a bad parent while setting attributes; this is its error.
            raise WPError(
                "woocommerce_rest_product_variation_invalid_parent",
                "Cannot set attributes due to invalid parent product.",
                404,
            )
        if payload.get("id"):
            raise WPError(
                "woocommerce_rest_product_variation_exists", "Cannot create existing product_variation.", 400
            )
        moment = now()
        variation = Product(
            id=0, type="variation", name="", parent_id=parent_id, date_created=moment, date_modified=moment
        )
        self._write(variation, payload, parent=parent)
        variation.id = self.next_post_id()
        self._save(variation, creating=True)
        return variation

    def update_variation(
        self, parent_id: int, variation_id: int, payload: Mapping[str, Any], *, checked: bool = False
    ) -> Product:
        variation = self.variation(parent_id, variation_id)
        if variation is None:
            raise WPError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
        if not checked and variation.parent_id != parent_id:
            # An authenticated caller gets rest_authorization_required_code(), which is 403.
            raise WPError(
                "woocommerce_rest_cannot_edit", "Parent product does not match current variation.", 403
            )
        draft = _copy(variation)
        self._write(draft, payload, parent=self.product(variation.parent_id))
        self._save(draft, creating=False)
        return self.products[variation_id]

    def delete_product(self, product_id: int, *, force: bool, variation_of: int | None = None) -> Product:
        product = self.product(product_id)
        wrong_kind = variation_of is not None and (product is None or product.parent_id != variation_of)
        if product is None or wrong_kind:
            code = "product_variation" if variation_of is not None else "product"
            raise WPError(f"woocommerce_rest_{code}_invalid_id", "Invalid ID.", 404)
        if product.status == "trash" and not force:
            raise WPError(
                "woocommerce_rest_already_trashed", f"The {product.type} has already been deleted.", 410
            )
        snapshot = _copy(product)
        for doomed in [product, *self.children(product)]:
            if force:
                del self.products[doomed.id]
            else:
                doomed.status = "trash"
        if not force:
            self.emit("product", "deleted", product_id)  # wp_trash_post; a forced delete fires no webhook
        if product.is_variation and product.parent_id in self.products:
            parent = self.products[product.parent_id]
            parent.children = [c for c in parent.children if c != product_id]
            self._sync_parent(parent)
        return snapshot

    def save_stock(self, product: Product, quantity: int) -> None:
        """`wc_update_product_stock` with 'set': write the quantity and save (rules, events, parent)."""
        product.stock_quantity = quantity
        self._save(product, creating=False)

    # -- internals ---------------------------------------------------------------------------------

    def _write(self, product: Product, payload: Mapping[str, Any], *, parent: Product | None = None) -> None:
        apply_fields(product, payload)
        if payload.get("categories") is not None:
            product.category_ids = _term_ids(payload["categories"], self.categories, "categories")
        if payload.get("tags") is not None:
            product.tag_ids = _term_ids(payload["tags"], self.tags, "tags")
        if payload.get("attributes") is not None:
            if product.is_variation:
                product.attributes = variation_attributes(payload["attributes"], parent)
            else:
                product.attributes = parent_attributes(payload["attributes"])
        for entry in payload.get("meta_data") or []:
            if isinstance(entry, dict) and "key" in entry:
                update_meta(
                    product, str(entry["key"]), entry.get("value"), entry.get("id"), self.next_meta_id
                )

    def _save(self, product: Product, *, creating: bool) -> None:
        """`WC_Product::save`: validate, refuse a duplicate SKU, store, sync a variable parent, tell webhooks."""
        validate_props(product)
        if product.sku:
            other = self.by_sku(product.sku)
            if other is not None and other.id != product.id:
                raise WPError("product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=other.id)
        if not product.is_variation and not product.category_ids:
            product.category_ids = [UNCATEGORIZED]
        product.date_modified = now()
        self.products[product.id] = product
        self.emit("product", "created" if creating else "updated", product.id)
        if product.type == "variable":
            sync_variable(product, self.children(product))
        if product.is_variation and product.parent_id in self.products:
            parent = self.products[product.parent_id]
            if product.id not in parent.children:
                parent.children.append(product.id)
            if not product.name:
                values = ", ".join(a["option"] for a in product.attributes)
                product.name = f"{parent.name} - {values}" if values else parent.name
            self._sync_parent(parent)

    def _sync_parent(self, parent: Product) -> None:
        before = (parent.stock_status, parent.price)
        sync_variable(parent, self.children(parent))
        if (parent.stock_status, parent.price) != before:
            parent.date_modified = now()
            self.emit("product", "updated", parent.id)


def _copy(product: Product) -> Product:
    """A working copy, so that a write refused half-way (say, a duplicate SKU) changes nothing."""
    return deepcopy(product)


def _term_ids(value: Any, terms: dict[int, Term], name: str) -> list[int]:
    if not isinstance(value, list):
        raise invalid_param(name, f"{name} is not of type array.", "rest_invalid_type")
    ids = []
    for entry in value:
        term_id = as_int(entry.get("id", 0), name) if isinstance(entry, dict) else 0
        if term_id in terms and term_id not in ids:  # unknown ids are skipped, as wp_set_object_terms does
            ids.append(term_id)
    return ids
