"""One substitute index per merchant catalogue, built once and reused for many targets.

Fitting the text model over a large catalogue takes seconds, and its word weights are only right over
the whole catalogue, so the index is kept in the process (a few merchants at a time) and only stock is
read fresh for each use. It is rebuilt when items are added or removed, and at least hourly, so edited
titles and descriptions count within the hour.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from connector.db import UnitOfWork
from connector.models import Item, Listing, Merchant
from connector.substitutes import Product, SubstituteIndex

MAX_AGE_SECONDS = 3600.0
MAX_CATALOGUES = 8  # merchants whose index a process keeps


@dataclass(frozen=True)
class Catalogue:
    """A merchant's index and the item id of each of its rows (ascending)."""

    index: SubstituteIndex
    item_ids: np.ndarray
    signature: tuple
    built_at: float


_lock = threading.Lock()
_catalogues: OrderedDict[tuple, Catalogue] = OrderedDict()


def catalogue_of(uow: UnitOfWork, merchant: Merchant) -> Catalogue:
    """The merchant's catalogue index with stock at zero (see `in_stock`), built if missing or stale."""
    key, signature = _identity(uow, merchant)
    found = _kept(key, signature)
    return found or _keep(key, _build(signature, _rows(uow, merchant)))


def prepare(new_uow: Callable[[], UnitOfWork], merchant_id: int) -> None:
    """Build a missing or stale index outside any transaction: a first build (seconds on a large
    catalogue, with scikit-learn's import) then holds no database lock."""
    with new_uow() as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            return
        key, signature = _identity(uow, merchant)
        if _kept(key, signature):
            return
        rows = _rows(uow, merchant)
    _keep(key, _build(signature, rows))


def _identity(uow: UnitOfWork, merchant: Merchant) -> tuple[tuple, tuple]:
    # The database and the merchant's creation time tell apart merchants that share an id.
    key = (str(uow.session.get_bind().url), merchant.id, merchant.created_at)
    count_and_last = select(func.count(), func.max(Item.id)).where(Item.merchant_id == merchant.id)
    return key, tuple(uow.session.execute(count_and_last).one())


def _kept(key: tuple, signature: tuple) -> Catalogue | None:
    with _lock:
        found = _catalogues.get(key)
        if found and found.signature == signature and time.monotonic() - found.built_at < MAX_AGE_SECONDS:
            _catalogues.move_to_end(key)
            return found
    return None


def _rows(uow: UnitOfWork, merchant: Merchant) -> list:
    columns = (Item.id, Item.sku, Item.title, Item.product_type, Item.vendor, Item.tags, Item.description)
    query = select(*columns, Item.price, Item.options).where(Item.merchant_id == merchant.id)
    return uow.session.execute(query.order_by(Item.id)).all()


def _build(signature: tuple, rows: list) -> Catalogue:
    products = [
        Product(
            sku,
            title or sku,
            kind or "",
            vendor or "",
            tuple(tags or ()),
            text or "",
            price,
            dict(options or {}),
        )
        for _, sku, title, kind, vendor, tags, text, price, options in rows
    ]
    ids = np.array([row[0] for row in rows], np.int64)
    return Catalogue(SubstituteIndex.build(products), ids, signature, time.monotonic())


def _keep(key: tuple, built: Catalogue) -> Catalogue:
    with _lock:
        _catalogues[key] = built
        _catalogues.move_to_end(key)
        while len(_catalogues) > MAX_CATALOGUES:
            _catalogues.popitem(last=False)
    return built


def in_stock(
    uow: UnitOfWork, merchant: Merchant, catalogue: Catalogue, *, channel_id: int | None = None
) -> SubstituteIndex:
    """The catalogue's index with what can ship now (only items listed on `channel_id`, when given)."""
    sellable = Item.on_hand - Item.committed - func.coalesce(Item.safety_stock, merchant.safety_stock)
    query = select(Item.id, sellable).where(Item.merchant_id == merchant.id, sellable > 0)
    if channel_id is not None:
        query = query.where(Item.id.in_(select(Listing.item_id).where(Listing.channel_id == channel_id)))
    found = np.array(uow.session.execute(query).all(), np.int64).reshape(-1, 2)
    available = np.zeros(len(catalogue.item_ids), np.int64)
    rows = np.searchsorted(catalogue.item_ids, found[:, 0])
    # An item added since the index was built has no row yet: it waits for the next build.
    known = (rows < len(catalogue.item_ids)) & (
        catalogue.item_ids[np.minimum(rows, len(catalogue.item_ids) - 1)] == found[:, 0]
    )
    available[rows[known]] = found[known, 1]
    return catalogue.index.with_available(available)


def forget() -> None:
    """Drop every kept index (tests; a process that changed many titles at once)."""
    with _lock:
        _catalogues.clear()
