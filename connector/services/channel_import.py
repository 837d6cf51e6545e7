"""Linking a storefront's catalogue to the merchant's items by SKU, page by page, resumably.

Never guesses: a listing with no SKU, or a SKU that appears twice on one channel, is reported and not
linked. Each page is its own transaction and the cursor is saved with it, so an interrupted import
continues from the last page it finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from adapters.base import CatalogEntry, CatalogPage
from adapters.base import Channel as ChannelPort
from connector.db import UnitOfWork
from connector.errors import NotFound
from connector.models import Channel, Item, Listing
from connector.services import ledger


@dataclass
class ImportProgress:
    status: str = "running"  # running | done
    cursor: str | None = None
    pages: int = 0
    linked: int = 0
    created: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    conflicted: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, state: dict | None) -> ImportProgress:
        if not state or state.get("status") == "done":
            return cls()
        return cls(**{k: v for k, v in state.items() if k in cls.__dataclass_fields__})

    def dump(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def import_catalog(
    new_uow: Callable[[], UnitOfWork], channel_id: int, port: ChannelPort, *, max_pages: int | None = None
) -> ImportProgress:
    """Read the storefront's catalogue and link listings; stops early after `max_pages` (to resume later)."""
    with new_uow() as uow:
        channel = uow.session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"unknown channel {channel_id}")
        progress = ImportProgress.load(channel.import_state)
    pages_now = 0
    while progress.status == "running" and (max_pages is None or pages_now < max_pages):
        page = port.read_catalog(progress.cursor)
        with new_uow() as uow:
            _link_page(uow, channel_id, page, progress)
            progress.pages += 1
            progress.cursor = page.next_cursor
            if page.next_cursor is None:
                progress.status = "done"
            uow.session.get(Channel, channel_id).import_state = progress.dump()
            uow.commit()
        pages_now += 1
    return progress


def _link_page(uow: UnitOfWork, channel_id: int, page: CatalogPage, progress: ImportProgress) -> None:
    channel = uow.session.get(Channel, channel_id)
    merchant_id = channel.merchant_id
    skus = {e.sku.strip() for e in page.entries if e.sku and e.sku.strip()}
    items = {
        i.sku: i
        for i in uow.session.scalars(select(Item).where(Item.merchant_id == merchant_id, Item.sku.in_(skus)))
    }
    # Only the listings this page can touch, so a page costs the same however big the catalogue is.
    variant_ids = [e.ref.variant_id for e in page.entries]
    item_ids = [i.id for i in items.values()]
    nearby = select(Listing).where(
        Listing.channel_id == channel_id, Listing.item_id.in_(item_ids) | Listing.variant_id.in_(variant_ids)
    )
    listings = {lst.item_id: lst for lst in uow.session.scalars(nearby)}
    by_variant = {lst.variant_id: lst for lst in listings.values()}
    counts: list[ledger.Movement] = []
    seen_here: set[str] = set()
    for entry in page.entries:
        sku = (entry.sku or "").strip()
        if not sku:
            _problem(progress, entry, "no SKU")
            continue
        if sku in progress.conflicted:
            _problem(progress, entry, f"SKU {sku!r} appears more than once on this channel")
            continue
        item = items.get(sku)
        existing = listings.get(item.id) if item is not None else None
        if sku in seen_here or (existing is not None and existing.variant_id != entry.ref.variant_id):
            _conflict(uow, progress, entry, sku, existing)
            continue
        seen_here.add(sku)
        if item is None:
            item = _create_item(uow, merchant_id, entry)
            items[sku] = item
            progress.created += 1
            counts.append(
                ledger.Movement(
                    sku,
                    "set",
                    max(entry.quantity or 0, 0),
                    f"import:channel:{channel_id}:{sku}",
                    reason=f"first seen on channel {channel_id}",
                )
            )
        listing = existing or by_variant.get(entry.ref.variant_id)
        if listing is None:
            listing = Listing(merchant_id=merchant_id, channel_id=channel_id, item_id=item.id)
            uow.session.add(listing)
            progress.linked += 1
        listing.item_id = item.id
        listing.product_id = entry.ref.product_id
        listing.variant_id = entry.ref.variant_id
        listing.inventory_item_id = entry.ref.inventory_item_id
        listing.original_policy = entry.raw_policy or listing.original_policy
        listing.last_pushed_quantity = entry.quantity
        listings[item.id] = listing
        by_variant[entry.ref.variant_id] = listing
    uow.session.flush()
    if counts:
        ledger.apply(uow, merchant_id, counts)


def _create_item(uow: UnitOfWork, merchant_id: int, entry: CatalogEntry) -> Item:
    title = (
        entry.product_title
        if not entry.variant_title or entry.variant_title == "Default Title"
        else (f"{entry.product_title} - {entry.variant_title}")
    )
    item = Item(
        merchant_id=merchant_id,
        sku=entry.sku.strip(),
        title=title,
        description=entry.description,
        product_type=entry.product_type,
        vendor=entry.vendor,
        tags=list(entry.tags),
        price=entry.price,
        options=dict(entry.options),
    )
    uow.session.add(item)
    uow.session.flush()
    return item


def _conflict(
    uow: UnitOfWork, progress: ImportProgress, entry: CatalogEntry, sku: str, existing: Listing | None
):
    """A SKU seen twice on one channel: unlink the first sighting too, and remember the SKU."""
    progress.conflicted.append(sku)
    _problem(progress, entry, f"SKU {sku!r} appears more than once on this channel")
    if existing is not None:
        progress.problems.append(
            {
                "product_id": existing.product_id,
                "variant_id": existing.variant_id,
                "sku": sku,
                "reason": f"SKU {sku!r} appears more than once on this channel",
            }
        )
        progress.linked -= 1
        uow.session.delete(existing)


def _problem(progress: ImportProgress, entry: CatalogEntry, reason: str) -> None:
    progress.problems.append(
        {
            "product_id": entry.ref.product_id,
            "variant_id": entry.ref.variant_id,
            "sku": entry.sku or "",
            "reason": reason,
        }
    )
