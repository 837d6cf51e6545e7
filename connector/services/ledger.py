"""The stock ledger: every change is a movement with an idempotency key; a replay changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from connector.db import UnitOfWork
from connector.domain import stock
from connector.domain.stock import Change, InsufficientStock, StockLevel
from connector.errors import Conflict, NotFound
from connector.models import Backorder, Item, Merchant, StockMovement


@dataclass(frozen=True)
class Movement:
    """A requested change to one SKU; `key` makes it idempotent."""

    sku: str
    kind: str  # receive | adjust | set | commit | release
    quantity: int
    key: str
    reason: str = ""


@dataclass(frozen=True)
class Recorded:
    """The ledger's answer to one movement: the level right after it, and whether it was a replay."""

    level: StockLevel
    replayed: bool


_RULES: dict[str, Callable[[StockLevel, int], Change]] = {
    "receive": stock.receive,
    "adjust": stock.adjust,
    "set": stock.set_on_hand,
    "release": stock.release,
}


def record(
    uow: UnitOfWork, merchant_id: int, movements: Sequence[Movement], *, allow_shortfall: bool = False
) -> list[Recorded]:
    """Apply movements atomically: lock items in id order, compute, write; all or nothing.

    Commits the unit of work. Raises NotFound for an unknown SKU and one InsufficientStock naming every
    line that could not be committed.
    """
    with uow:
        results = apply(uow, merchant_id, movements, allow_shortfall=allow_shortfall)
        uow.commit()
    return results


def record_and_propagate(
    uow: UnitOfWork, merchant_id: int, movements: Sequence[Movement], now
) -> list[Recorded]:
    """Record movements and, in the same transaction, allocate arrivals to waiting backorders and
    queue the storefront pushes that follow (what every stock change made by hand goes through)."""
    from connector.services.backorders import after_stock_change

    with uow:
        results = apply(uow, merchant_id, movements)
        changed = {r.level.sku for r in results if not r.replayed}
        if changed:
            ids = uow.session.scalars(
                select(Item.id).where(Item.merchant_id == merchant_id, Item.sku.in_(changed))
            )
            after_stock_change(uow, merchant_id, list(ids), now)
        uow.commit()
    return results


def apply(
    uow: UnitOfWork, merchant_id: int, movements: Sequence[Movement], *, allow_shortfall: bool = False
) -> list[Recorded]:
    """Like `record`, inside a unit of work the caller commits (so other writes share the transaction)."""
    session = uow.session
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id}")
    items = _lock_items(uow, merchant_id, {m.sku for m in movements})
    previous = previous_movements(uow, merchant_id, [m.key for m in movements])
    results = apply_locked(uow, merchant, items, previous, movements, allow_shortfall=allow_shortfall)
    session.flush()
    return results


def apply_locked(
    uow: UnitOfWork,
    merchant: Merchant,
    items: dict[str, Item],
    previous: dict[str, StockMovement],
    movements: Sequence[Movement],
    *,
    allow_shortfall: bool = False,
) -> list[Recorded]:
    """`apply`'s work on items the caller locked (by SKU) and movements it looked up (`previous_movements`,
    kept up to date here), for a caller applying many movements in turn: nothing is read or flushed."""
    session = uow.session
    merchant_id = merchant.id
    results: list[Recorded] = []
    shortfalls: list[stock.Shortfall] = []
    for movement in movements:
        item = items[movement.sku]
        level = level_of(item, merchant)
        earlier = previous.get(movement.key)
        if earlier is not None:
            results.append(_replay(earlier, movement, item, level))
            continue
        try:
            change = _change_for(movement, level, allow_shortfall=allow_shortfall)
        except InsufficientStock as short:
            shortfalls.extend(short.shortfalls)
            continue
        after = change.apply(level)
        item.on_hand, item.committed = after.on_hand, after.committed
        entry = StockMovement(
            merchant_id=merchant_id,
            item_id=item.id,
            kind=change.kind,
            on_hand_delta=change.on_hand_delta,
            committed_delta=change.committed_delta,
            on_hand_after=after.on_hand,
            committed_after=after.committed,
            idempotency_key=movement.key,
            reason=movement.reason,
        )
        session.add(entry)
        previous[movement.key] = entry
        results.append(Recorded(after, replayed=False))
    if shortfalls:
        raise InsufficientStock(shortfalls)
    return results


def level_of(item: Item, merchant: Merchant) -> StockLevel:
    safety = item.safety_stock if item.safety_stock is not None else merchant.safety_stock
    return StockLevel(sku=item.sku, on_hand=item.on_hand, committed=item.committed, safety_stock=safety)


def manual_key(sku: str, ref: str | None) -> str:
    """The key for a change made by hand: the user's reference, or a fresh one when none is given."""
    return f"manual:{sku}:{ref}" if ref else f"manual:{sku}:{uuid.uuid4()}"


def backordered_quantity(uow: UnitOfWork, item_id: int) -> int:
    total = uow.session.scalar(
        select(func.coalesce(func.sum(Backorder.units_waiting), 0)).where(
            Backorder.item_id == item_id, Backorder.status == "waiting"
        )
    )
    return int(total or 0)


def _lock_items(uow: UnitOfWork, merchant_id: int, skus: set[str]) -> dict[str, Item]:
    # A fixed order (by id) so two transactions locking the same items cannot deadlock; FOR NO KEY
    # UPDATE so foreign-key checks of rows inserted in the same transactions (order lines) never wait.
    query = select(Item).where(Item.merchant_id == merchant_id, Item.sku.in_(skus)).order_by(Item.id)
    # populate_existing: an Item read earlier in this transaction must take the totals read under the lock.
    locked = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    items = {item.sku: item for item in uow.session.scalars(locked)}
    missing = sorted(skus - items.keys())
    if missing:
        raise NotFound(f"unknown SKU {', '.join(missing)}")
    return items


def previous_movements(uow: UnitOfWork, merchant_id: int, keys: list[str]) -> dict[str, StockMovement]:
    """The movements already recorded under these keys, by key."""
    query = select(StockMovement).where(
        StockMovement.merchant_id == merchant_id, StockMovement.idempotency_key.in_(keys)
    )
    return {m.idempotency_key: m for m in uow.session.scalars(query)}


def _change_for(movement: Movement, level: StockLevel, *, allow_shortfall: bool) -> Change:
    if movement.kind == "commit":
        return stock.commit(level, movement.quantity, allow_shortfall=allow_shortfall)
    rule = _RULES.get(movement.kind)
    if rule is None:
        raise ValueError(f"unknown movement kind {movement.kind!r}")
    return rule(level, movement.quantity)


def _replay(earlier: StockMovement, movement: Movement, item: Item, level: StockLevel) -> Recorded:
    if earlier.item_id != item.id or not _same_request(earlier, movement):
        raise Conflict(f"reference {movement.key!r} was already used for a different stock change")
    after = StockLevel(
        sku=item.sku,
        on_hand=earlier.on_hand_after,
        committed=earlier.committed_after,
        safety_stock=level.safety_stock,
    )
    return Recorded(after, replayed=True)


def _same_request(earlier: StockMovement, movement: Movement) -> bool:
    if earlier.kind != movement.kind:
        return False
    recorded = {
        "receive": earlier.on_hand_delta,
        "adjust": earlier.on_hand_delta,
        "set": earlier.on_hand_after,
        "commit": earlier.committed_delta,
        "release": -earlier.committed_delta,
    }
    return recorded.get(earlier.kind) == movement.quantity


def stock_report(uow: UnitOfWork, merchant_id: int, sku: str) -> dict[str, object]:
    """What `stock show` prints: the ledger's totals for one SKU."""
    item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
    if item is None:
        raise NotFound(f"unknown SKU {sku!r}")
    merchant = uow.session.get(Merchant, merchant_id)
    assert merchant is not None
    level = level_of(item, merchant)
    return {
        "sku": item.sku,
        "title": item.title,
        "on_hand": level.on_hand,
        "committed": level.committed,
        "safety_stock": level.safety_stock,
        "available": level.available,
        "backordered": backordered_quantity(uow, item.id),
        "movements": uow.session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.item_id == item.id)
        ),
    }
