"""An in-memory storefront implementing the Channel port's catalogue reading, for service tests."""

from __future__ import annotations

from adapters.base import CatalogEntry, CatalogPage, ListingRef


def entry(
    variant: str, sku: str | None, quantity: int = 0, *, product: str | None = None, **extra
) -> CatalogEntry:
    ref = ListingRef(product_id=product or f"P{variant}", variant_id=variant, inventory_item_id=f"I{variant}")
    return CatalogEntry(
        ref=ref,
        sku=sku,
        product_title=extra.pop("title", f"Product {variant}"),
        quantity=quantity,
        raw_policy="DENY",
        **extra,
    )


class FakeCatalog:
    """Serves entries in pages; `fail_after` pages makes the next read raise, like a dropped connection."""

    def __init__(self, entries: list[CatalogEntry], page_size: int = 2, fail_after: int | None = None):
        self.entries = entries
        self.page_size = page_size
        self.fail_after = fail_after
        self.reads: list[str | None] = []

    def read_catalog(self, cursor: str | None = None) -> CatalogPage:
        if self.fail_after is not None and len(self.reads) >= self.fail_after:
            raise ConnectionError("storefront went away")
        self.reads.append(cursor)
        start = int(cursor or 0)
        end = start + self.page_size
        return CatalogPage(self.entries[start:end], str(end) if end < len(self.entries) else None)


class FakeStorefront(FakeCatalog):
    """Also takes quantity pushes; `fail_refs` fail per item, `raise_next` fails a whole call."""

    max_quantity_batch = 250
    max_state_batch = 250

    def __init__(self, entries=(), **kwargs):
        super().__init__(list(entries), **kwargs)
        self.quantities: dict[str, int] = {}
        self.calls: list[list] = []
        self.keys: list[str] = []
        self.fail_refs: set[str] = set()
        self.raise_next: list[Exception] = []

    def set_quantities(self, updates, *, idempotency_key):
        from adapters.base import Outcome

        if self.raise_next:
            raise self.raise_next.pop(0)
        self.calls.append(list(updates))
        self.keys.append(idempotency_key)
        outcomes = []
        for update in updates:
            if update.ref.variant_id in self.fail_refs:
                outcomes.append(Outcome(update.ref, "failed", "injected"))
                continue
            self.quantities[update.ref.variant_id] = update.quantity
            outcomes.append(Outcome(update.ref, "ok", quantity=update.quantity))
        return outcomes

    def read_quantities(self, refs):
        return {ref: self.quantities.get(ref.variant_id) for ref in refs}
