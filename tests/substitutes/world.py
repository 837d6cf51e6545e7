"""A merchant owning the labelled catalogue, and storefronts listing it that record substitute pushes."""

from __future__ import annotations

from adapters.base import Outcome
from connector.crypto import Vault
from connector.models import Item
from connector.services import channels, ledger, merchants
from connector.services.channel_import import import_catalog
from tests.fakes import FakeStorefront, entry
from tests.substitutes.catalogue import load_products

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="


def labelled_shop(new_uow) -> int:
    """A merchant with the 228 labelled items, each received up to its catalogue quantity."""
    merchant_id = merchants.create_merchant(new_uow(), "Labelled Shop")
    products = load_products()
    with new_uow() as uow:
        for p in products:
            uow.session.add(
                Item(
                    merchant_id=merchant_id,
                    sku=p.sku,
                    title=p.title,
                    product_type=p.product_type,
                    vendor=p.vendor,
                    tags=list(p.tags),
                    description=p.description,
                    price=p.price,
                    options=dict(p.options),
                )
            )
        uow.commit()
    moves = [ledger.Movement(p.sku, "receive", p.available, f"seed:{p.sku}") for p in products if p.available]
    ledger.record(new_uow(), merchant_id, moves)
    return merchant_id


class ListStore(FakeStorefront):
    """Lists every labelled item (variants of one title share a product) and records substitute lists."""

    def __init__(self, prefix: str):
        products = load_products()
        entries = [
            entry(f"{prefix}{n}", p.sku, p.available, product=f"{prefix}P-{p.title}")
            for n, p in enumerate(products)
        ]
        super().__init__(entries, page_size=250)
        self.sku_of = {e.ref.variant_id: e.sku for e in entries}
        self.substitute_calls: list[list] = []
        self.not_found: set[str] = set()

    def set_backorder_states(self, states):
        return [Outcome(s.ref, "ok") for s in states]

    def set_substitutes(self, lists):
        self.substitute_calls.append(list(lists))
        outcomes = []
        for entry_ in lists:
            variant = entry_.ref.variant_id
            if variant in self.fail_refs or variant in self.not_found:
                outcomes.append(
                    Outcome(entry_.ref, "not_found" if variant in self.not_found else "failed", "injected")
                )
            else:
                outcomes.append(Outcome(entry_.ref, "ok"))
        return outcomes

    def shown(self, sku: str) -> list[str] | None:
        """The substitute SKUs last pushed for this SKU's listing (None if never)."""
        for call in reversed(self.substitute_calls):
            for sent in call:
                if self.sku_of[sent.ref.variant_id] == sku:
                    return [self.sku_of[s.variant_id] for s in sent.substitutes]
        return None


def connect(new_uow, merchant_id: int, name: str) -> tuple[int, ListStore]:
    """A channel listing the whole catalogue."""
    channel_id = channels.add_channel(
        new_uow(), Vault([KEY]), merchant_id, channels.ShopifyConnection(f"{name}.myshopify.com", "t")
    )
    store = ListStore(prefix=f"{name}-")
    import_catalog(new_uow, channel_id, store)
    return channel_id, store
