"""Importing items from a catalogue CSV into a merchant's stock pool."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.domain.catalog import ItemDraft, parse_catalog
from connector.errors import ImportFailed, NotFound
from connector.models import Item, Merchant
from connector.services import ledger


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    skipped: list[tuple[int, str]]


def import_items(
    uow: UnitOfWork, merchant_id: int, lines: Iterable[str], *, partial: bool = False
) -> ImportReport:
    """Create or update items from CSV lines; with bad rows nothing is written unless `partial`."""
    text = list(lines)
    parsed = parse_catalog(text)
    if parsed.problems and not partial:
        raise ImportFailed(parsed.problems)
    digest = hashlib.sha256("".join(text).encode()).hexdigest()[:16]
    created = updated = 0
    with uow:
        if uow.session.get(Merchant, merchant_id) is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        existing = _existing(uow, merchant_id, [d.sku for d in parsed.drafts])
        counts: list[ledger.Movement] = []
        for draft in parsed.drafts:
            item = existing.get(draft.sku)
            if item is None:
                item = Item(merchant_id=merchant_id, sku=draft.sku)
                uow.session.add(item)
                created += 1
            else:
                updated += 1
            _describe(item, draft)
            if draft.on_hand != item.on_hand or draft.sku not in existing:
                # The file's on_hand is a count; the key makes re-importing the same file a no-op.
                key = f"import:{digest}:{draft.sku}"
                counts.append(
                    ledger.Movement(draft.sku, "set", draft.on_hand, key, reason="catalogue import")
                )
        uow.session.flush()
        if counts:
            ledger.apply(uow, merchant_id, counts)
        uow.commit()
    return ImportReport(created=created, updated=updated, skipped=parsed.problems)


def _existing(uow: UnitOfWork, merchant_id: int, skus: list[str]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        query = select(Item).where(Item.merchant_id == merchant_id, Item.sku.in_(chunk))
        found.update((item.sku, item) for item in uow.session.scalars(query))
    return found


def _describe(item: Item, draft: ItemDraft) -> None:
    item.title = draft.title
    item.product_type = draft.product_type
    item.vendor = draft.vendor
    item.tags = list(draft.tags)
    item.price = draft.price
    item.options = dict(draft.options)
