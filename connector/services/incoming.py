"""Incoming stock: purchase orders with expected dates, partial receipts, and supplier history."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.errors import Conflict, ImportFailed, InvalidInput, NotFound
from connector.models import AuditEntry, IncomingStock, Item, Merchant, Supplier
from connector.services import ledger
from connector.services.backorders import after_stock_change, merchant_today


def add_incoming(
    uow: UnitOfWork,
    merchant_id: int,
    sku: str,
    quantity: int,
    expected: date,
    *,
    supplier: str | None,
    now: datetime,
) -> int:
    """Record stock on its way; ETAs of waiting backorders and wait texts follow. Returns its id."""
    if quantity <= 0:
        raise InvalidInput(f"incoming quantity must be a positive whole number (got {quantity})")
    with uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        if expected < merchant_today(merchant, now):
            raise InvalidInput(f"--eta {expected.isoformat()} is in the past")
        item = _item(uow, merchant_id, sku)
        row = IncomingStock(
            merchant_id=merchant_id,
            item_id=item.id,
            quantity=quantity,
            expected_date=expected,
            supplier_id=_supplier_id(uow, merchant_id, supplier),
        )
        uow.session.add(row)
        uow.session.flush()
        after_stock_change(uow, merchant_id, [item.id], now)
        incoming_id = row.id
        uow.commit()
    return incoming_id


@dataclass(frozen=True)
class Receipt:
    incoming_id: int
    sku: str
    received: int
    remaining: int
    allocated_to_backorders: int
    on_hand: int
    available: int


def receive_incoming(uow: UnitOfWork, incoming_id: int, *, quantity: int | None, now: datetime) -> Receipt:
    """Stock arrived (all that is left, or `quantity` of it): on hand goes up, waiting backorders get it
    first, oldest first, and the supplier's record gets the actual date."""
    with uow:
        row = uow.session.get(IncomingStock, incoming_id, with_for_update=uow.locks_rows)
        if row is None:
            raise NotFound(f"unknown incoming stock {incoming_id}")
        remaining = row.quantity - row.quantity_received
        if row.status in ("received", "cancelled") or remaining <= 0:
            raise Conflict(f"incoming stock {incoming_id} is already {row.status}")
        units = remaining if quantity is None else quantity
        if units <= 0 or units > remaining:
            raise InvalidInput(
                f"--qty must be between 1 and {remaining} (what is still expected), got {units}"
            )
        merchant = uow.session.get(Merchant, row.merchant_id)
        item = uow.session.get(Item, row.item_id)
        key = f"incoming:{row.id}:received:{row.quantity_received}+{units}"
        ledger.apply(
            uow,
            row.merchant_id,
            [ledger.Movement(item.sku, "receive", units, key, reason=f"incoming {row.id}")],
        )
        row.quantity_received += units
        row.status = "received" if row.quantity_received == row.quantity else "partial"
        if row.received_date is None or row.status == "received":
            row.received_date = merchant_today(merchant, now)
        allocated = after_stock_change(uow, row.merchant_id, [item.id], now)
        uow.session.add(
            AuditEntry(
                merchant_id=row.merchant_id,
                actor="cli",
                action="incoming.received",
                subject=f"incoming:{row.id}",
                details={"units": units},
            )
        )
        level = ledger.level_of(item, merchant)
        receipt = Receipt(
            row.id,
            item.sku,
            units,
            row.quantity - row.quantity_received,
            allocated,
            level.on_hand,
            level.available,
        )
        uow.commit()
    return receipt


def import_incoming(uow_factory, merchant_id: int, lines: Iterable[str], *, now: datetime) -> list[int]:
    """Import `sku,quantity,eta,supplier` rows; a bad row stops the import before anything is written."""
    reader = csv.DictReader(lines)
    missing = {"sku", "quantity", "eta"} - set(reader.fieldnames or [])
    if missing:
        raise ImportFailed([(1, f"header is missing column(s): {', '.join(sorted(missing))}")])
    rows, problems = [], []
    for row in reader:
        try:
            quantity = int((row.get("quantity") or "").strip())
            expected = date.fromisoformat((row.get("eta") or "").strip())
            rows.append(
                ((row["sku"] or "").strip(), quantity, expected, (row.get("supplier") or "").strip() or None)
            )
        except ValueError as error:
            problems.append((reader.line_num, str(error)))
    if problems:
        raise ImportFailed(problems)
    return [add_incoming(uow_factory(), merchant_id, *r[:3], supplier=r[3], now=now) for r in rows]


def _item(uow: UnitOfWork, merchant_id: int, sku: str) -> Item:
    item = uow.session.scalar(select(Item).where(Item.merchant_id == merchant_id, Item.sku == sku))
    if item is None:
        raise NotFound(f"unknown SKU {sku!r}")
    return item


def _supplier_id(uow: UnitOfWork, merchant_id: int, name: str | None) -> int | None:
    if not name:
        return None
    found = uow.session.scalar(
        select(Supplier).where(Supplier.merchant_id == merchant_id, Supplier.name == name)
    )
    if found is None:
        found = Supplier(merchant_id=merchant_id, name=name)
        uow.session.add(found)
        uow.session.flush()
    return found.id
