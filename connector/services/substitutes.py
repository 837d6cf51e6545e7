"""Substitute suggestions for a merchant's items, from the items that can ship now.

The ranking is `rank_substitutes` over the merchant's whole catalogue (its index is kept between calls,
see substitute_index), with stock read fresh each time.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from connector.db import UnitOfWork
from connector.errors import InvalidInput, NotFound
from connector.models import Item, Listing, Merchant, OrderLine
from connector.services.ledger import level_of
from connector.services.substitute_index import catalogue_of, in_stock
from connector.substitutes import Product, RankSettings, Suggestion, rank_substitutes

log = logging.getLogger(__name__)
SETTINGS_KEY = "substitutes"
TYPICAL_ORDER_LINES = 50  # the latest lines of an item that say what a typical order is


@dataclass(frozen=True)
class Ranked:
    """Suggestions for one item, with the items they name."""

    suggestions: list[Suggestion]
    items: list[Item]


@dataclass(frozen=True)
class SubstituteReport:
    """What `backorder substitutes` shows: the list, why it is empty, and pins that were skipped."""

    sku: str
    status: str
    substitutes: list[Suggestion]
    reason: str = ""
    skipped_pins: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "status": self.status,
            "substitutes": [s.as_dict() for s in self.substitutes],
            "reason": self.reason or None,
            "skipped_pins": self.skipped_pins,
        }


def settings_of(merchant: Merchant) -> RankSettings:
    """The merchant's substitute settings; InvalidInput when what is stored is malformed."""
    return RankSettings.from_mapping((merchant.settings or {}).get(SETTINGS_KEY))


def suggest(uow: UnitOfWork, merchant_id: int, sku: str, now: datetime) -> SubstituteReport:
    """Substitutes for one SKU (for any status: a merchant may look before it runs out)."""
    from connector.services.backorders import availability

    merchant = uow.session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id}")
    item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
    if item is None:
        raise NotFound(f"unknown SKU {sku!r}")
    settings = settings_of(merchant)
    status = availability(uow, merchant, item, now)["status"]
    ranked = rank_items(uow, merchant, [item], settings)[item.id]
    reason = "" if ranked.suggestions else _why_none(uow, merchant, item)
    return SubstituteReport(
        item.sku, status, ranked.suggestions, reason, skipped_pins(uow, merchant, item, settings)
    )


def for_storefront(uow: UnitOfWork, merchant: Merchant, item: Item, channel_id: int) -> list[dict[str, Any]]:
    """Suggestions a shopper on this storefront can buy, with their ids there."""
    try:
        settings = settings_of(merchant)
    except InvalidInput as error:  # a product page must still show availability; the merchant is told
        log.warning("merchant %s: substitute settings ignored: %s", merchant.id, error)
        return []
    ranked = rank_items(uow, merchant, [item], settings, channel_id=channel_id)[item.id]
    listings = {
        listing.item_id: listing
        for listing in uow.session.scalars(
            select(Listing).where(
                Listing.channel_id == channel_id, Listing.item_id.in_([i.id for i in ranked.items])
            )
        )
    }
    return [
        {**s.as_dict(), "product_id": listings[i.id].product_id, "variant_id": listings[i.id].variant_id}
        for s, i in zip(ranked.suggestions, ranked.items, strict=True)
        if i.id in listings
    ]


def rank_items(
    uow: UnitOfWork,
    merchant: Merchant,
    targets: Sequence[Item],
    settings: RankSettings,
    *,
    channel_id: int | None = None,
) -> dict[int, Ranked]:
    """Rank substitutes for many items against the merchant's catalogue index, with stock read now
    (only what is listed on `channel_id`, when given)."""
    if not targets:
        return {}
    index = in_stock(uow, merchant, catalogue_of(uow, merchant), channel_id=channel_id)
    typical = typical_orders(uow, [t.id for t in targets])
    ranked = {
        t.id: rank_substitutes(product_of(t, merchant, typical.get(t.id, 1)), index, settings=settings)
        for t in targets
    }
    named = sorted({s.sku for found in ranked.values() for s in found})
    items = {
        i.sku: i
        for i in uow.session.scalars(select(Item).where(Item.merchant_id == merchant.id, Item.sku.in_(named)))
    }
    return {
        target_id: Ranked(
            [s for s in found if s.sku in items], [items[s.sku] for s in found if s.sku in items]
        )
        for target_id, found in ranked.items()
    }


def product_of(item: Item, merchant: Merchant, typical_order: int = 1) -> Product:
    return Product(
        sku=item.sku,
        title=item.title or item.sku,
        product_type=item.product_type or "",
        vendor=item.vendor or "",
        tags=tuple(item.tags or ()),
        description=item.description or "",
        price=item.price,
        options=dict(item.options or {}),
        available=level_of(item, merchant).sellable,
        typical_order=typical_order,
    )


def can_ship_now(merchant: Merchant) -> ColumnElement[bool]:
    """SQL for "sellable above zero", the storefront's in-stock (on hand − committed − safety stock)."""
    safety = func.coalesce(Item.safety_stock, merchant.safety_stock)
    return (Item.on_hand - Item.committed - safety) > 0


def typical_orders(uow: UnitOfWork, item_ids: Sequence[int]) -> dict[int, int]:
    """Units per order line each item usually sells in (median of its latest lines; 1 without any)."""
    if not item_ids:
        return {}
    lines = uow.session.execute(
        select(OrderLine.item_id, OrderLine.quantity)
        .where(OrderLine.item_id.in_(item_ids))
        .order_by(OrderLine.id.desc())
        .limit(len(item_ids) * TYPICAL_ORDER_LINES)
    )
    quantities: dict[int, list[int]] = {}
    for item_id, quantity in lines:
        quantities.setdefault(item_id, []).append(quantity)
    return {i: max(1, int(statistics.median_low(q[:TYPICAL_ORDER_LINES]))) for i, q in quantities.items()}


def skipped_pins(
    uow: UnitOfWork, merchant: Merchant, item: Item, settings: RankSettings
) -> list[dict[str, str]]:
    """Pins of this item that cannot be offered now, and why (deleted, or cannot ship now)."""
    pins = settings.pins_for(item.sku)
    if not pins:
        return []
    found = {
        i.sku: i
        for i in uow.session.scalars(select(Item).where(Item.merchant_id == merchant.id, Item.sku.in_(pins)))
    }
    needed = typical_orders(uow, [item.id]).get(item.id, 1)
    skipped = []
    for sku in pins:
        pinned = found.get(sku)
        if pinned is None:
            skipped.append({"sku": sku, "reason": "not in the catalogue (deleted?)"})
        elif pinned.id == item.id:
            skipped.append({"sku": sku, "reason": "an item cannot substitute for itself"})
        elif level_of(pinned, merchant).sellable < needed:
            skipped.append({"sku": sku, "reason": "sold out: cannot ship now"})
    return skipped


def _why_none(uow: UnitOfWork, merchant: Merchant, item: Item) -> str:
    """Why an item has no substitute, in words a merchant can act on."""
    others = select(func.count()).where(
        Item.merchant_id == merchant.id, Item.id != item.id, can_ship_now(merchant)
    )
    if not uow.session.scalar(others):
        return "no other item can ship now"
    if item.product_type and not uow.session.scalar(others.where(Item.product_type == item.product_type)):
        return f"no other {item.product_type} item can ship now"
    kind = f"{item.product_type} item" if item.product_type else "item"
    return (
        f"no {kind} that can ship now is close enough: same size, price within the band, "
        "similar title and description"
    )


def configure(uow: UnitOfWork, merchant_id: int, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Change a merchant's substitute settings (checked before saving) and recompute every list."""
    from connector.services.substitute_lists import refresh_substitutes

    with uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        stored = {**(merchant.settings or {}).get(SETTINGS_KEY, {}), **changes}
        stored = {k: v for k, v in stored.items() if v is not None}
        RankSettings.from_mapping(stored)
        # A new dict, so SQLAlchemy sees the JSON column change.
        merchant.settings = {**(merchant.settings or {}), SETTINGS_KEY: stored}
        uow.session.flush()
        queued = refresh_substitutes(uow, merchant_id, now)
        uow.commit()
    return {"merchant": merchant_id, "settings": stored, "lists_queued": queued}
