"""Reading a store's catalogue page by page, and reading stock back for given listings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.base import CatalogEntry, CatalogPage, ListingRef
from adapters.errors import NotFoundOnChannel

from .cursor import CatalogCursor
from .mapping import UNSELLABLE_TYPES, VARIABLE_TYPES, product_entry, quantity_of, variation_entry
from .paging import PER_PAGE, total_pages
from .transport import Reply, Transport

# Stable order: new products land on the last page, so a resumed import misses nothing.
_ORDER = {"orderby": "id", "order": "asc"}
_STOCK_FIELDS = "id,manage_stock,stock_quantity"


class CatalogReader:
    def __init__(self, transport: Transport):
        self.transport = transport
        self._parents: dict[int, Mapping[str, Any]] = {}  # variable products of the page being read

    def read(self, cursor: str | None) -> CatalogPage:
        """One products page (its simple products), or one variations page of one variable product."""
        position = CatalogCursor.decode(cursor)
        if position.variable:
            return self._variations_page(position)
        return self._products_page(position)

    def _products_page(self, position: CatalogCursor) -> CatalogPage:
        reply = self.transport.read("products", {"page": position.page, "per_page": PER_PAGE, **_ORDER})
        products = [p for p in _list(reply) if isinstance(p, Mapping)]
        entries: list[CatalogEntry] = []
        variable: list[int] = []
        for product in products:
            kind = product.get("type")
            if kind in VARIABLE_TYPES:
                variable.append(int(product["id"]))
                self._parents[int(product["id"])] = product
            elif kind not in UNSELLABLE_TYPES:
                entries.append(product_entry(product))
        if variable:
            return CatalogPage(entries, CatalogCursor(position.page, tuple(variable)).encode())
        more = position.page < total_pages(reply, position.page, len(products))
        return CatalogPage(entries, CatalogCursor(position.page + 1).encode() if more else None)

    def _variations_page(self, position: CatalogCursor) -> CatalogPage:
        product_id = position.variable[0]
        try:
            parent = self._parent(product_id)
            reply = self.transport.read(
                f"products/{product_id}/variations", {"page": position.vpage, "per_page": PER_PAGE, **_ORDER}
            )
        except NotFoundOnChannel:  # deleted since its products page was read
            entries, pages = [], 0
        else:
            variations = [v for v in _list(reply) if isinstance(v, Mapping)]
            entries = [variation_entry(parent, v) for v in variations]
            pages = total_pages(reply, position.vpage, len(variations))
        following = position.after_variations_page(pages)
        if following is None or following.variable[0] != product_id:
            self._parents.pop(product_id, None)
        # After the last variable product, the next products page (empty past the end, which ends the read).
        following = following or CatalogCursor(position.page + 1)
        return CatalogPage(entries, following.encode())

    def _parent(self, product_id: int) -> Mapping[str, Any]:
        """From the page just read, or fetched again when an import resumes in a new process."""
        if product_id not in self._parents:
            self._parents[product_id] = self.transport.read(f"products/{product_id}").data
        return self._parents[product_id]

    def quantities(self, refs: Sequence[ListingRef]) -> dict[ListingRef, int | None]:
        """Stock as the store has it now; listings it no longer has are left out of the answer."""
        by_endpoint: dict[str, list[ListingRef]] = {}
        for ref in refs:
            simple = ref.variant_id == ref.product_id
            endpoint = "products" if simple else f"products/{ref.product_id}/variations"
            by_endpoint.setdefault(endpoint, []).append(ref)
        found: dict[ListingRef, int | None] = {}
        for endpoint, group in by_endpoint.items():
            for start in range(0, len(group), PER_PAGE):
                found.update(self._stock_of(endpoint, group[start : start + PER_PAGE]))
        return found

    def _stock_of(self, endpoint: str, refs: list[ListingRef]) -> dict[ListingRef, int | None]:
        ids = ",".join(dict.fromkeys(r.variant_id for r in refs))
        params = {"include": ids, "per_page": PER_PAGE, "_fields": _STOCK_FIELDS}
        try:
            reply = self.transport.read(endpoint, params)
        except NotFoundOnChannel:  # a variations endpoint whose parent is gone
            return {}
        stock = {str(r.get("id")): quantity_of(r) for r in _list(reply) if isinstance(r, Mapping)}
        return {ref: stock[ref.variant_id] for ref in refs if ref.variant_id in stock}


def _list(reply: Reply) -> list[Any]:
    return reply.data if isinstance(reply.data, list) else []
