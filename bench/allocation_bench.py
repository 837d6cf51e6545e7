"""Allocation benchmark: one receipt covering N waiting backorders, oldest first, in bulk.

    .venv/bin/python bench/allocation_bench.py --database-url postgresql://postgres@127.0.0.1:5432/DB [--backorders N]

Runs twice (N/10 and N backorders) on a fresh schema and prints, for each, the seconds the receipt took and
the SQL statements it issued; the statement count must not grow with N. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import _reset
from connector import migrate
from connector.db import UnitOfWork, make_engine, session_factory
from connector.models import Backorder, Item
from connector.services import ledger, merchants
from connector.services.backorders import after_stock_change


def seed(engine, sessions, waiting: int) -> tuple[int, str]:
    """A merchant, one channel, one item with `waiting` single-unit backorders and nothing on hand."""
    merchant_id = merchants.create_merchant(UnitOfWork(sessions), "Bench")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO channels (merchant_id, kind, address, status, created_at) "
                "VALUES (:m, 'shopify', 'bench.myshopify.com', 'active', :t)"
            ),
            {"m": merchant_id, "t": start},
        )
        channel_id = connection.execute(text("SELECT max(id) FROM channels")).scalar()
        connection.execute(
            text(
                "INSERT INTO items (merchant_id, sku, title, description, product_type, vendor, tags, options, on_hand,"
                " committed, backorder_policy, created_at, updated_at) VALUES (:m, 'BENCH-1', 'Bench', '', '', '', '[]',"
                " '{}', 0, :n, 'allow', :t, :t)"
            ),
            {"m": merchant_id, "n": waiting, "t": start},
        )
        item_id = connection.execute(text("SELECT max(id) FROM items")).scalar()
        rows = [
            {"m": merchant_id, "c": channel_id, "e": str(n), "t": start + timedelta(seconds=n)}
            for n in range(waiting)
        ]
        connection.execute(
            text(
                "INSERT INTO orders (merchant_id, channel_id, external_id, number, customer_name, customer_email,"
                " placed_at, status, created_at) VALUES (:m, :c, :e, :e, '', '', :t, 'open', :t)"
            ),
            rows,
        )
        connection.execute(
            text(
                "INSERT INTO order_lines (order_id, item_id, external_id, sku, quantity, quantity_committed,"
                " quantity_backordered, quantity_cancelled, status) SELECT id, :i, '1', 'BENCH-1', 1, 1, 1, 0, 'open'"
                " FROM orders WHERE merchant_id = :m"
            ),
            {"i": item_id, "m": merchant_id},
        )
        connection.execute(
            text(
                "INSERT INTO backorders (merchant_id, item_id, order_line_id, quantity, quantity_allocated,"
                " quantity_cancelled, status, oversold, created_at) SELECT :m, :i, l.id, 1, 0, 0, 'waiting', false,"
                " o.placed_at FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.merchant_id = :m"
            ),
            {"m": merchant_id, "i": item_id},
        )
    return merchant_id, "BENCH-1"


def run(url: str, waiting: int) -> dict:
    engine = make_engine(url)
    _reset(engine)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    merchant_id, sku = seed(engine, sessions, waiting)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - count every statement sent
    event.listen(engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    uow = UnitOfWork(sessions)
    with uow:
        ledger.apply(uow, merchant_id, [ledger.Movement(sku, "receive", waiting, "bench-receipt")])
        item_id = uow.session.scalar(select(Item.id).where(Item.sku == sku))
        allocated = after_stock_change(uow, merchant_id, [item_id], datetime.now(UTC))
        uow.commit()
    seconds = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", listener)
    with UnitOfWork(sessions) as check:
        still_waiting = check.session.scalar(
            select(func.count()).select_from(Backorder).where(Backorder.status == "waiting")
        )
        level = ledger.stock_report(check, merchant_id, sku)
    engine.dispose()
    return {
        "backorders": waiting,
        "seconds": round(seconds, 3),
        "statements": len(statements),
        "allocated": allocated,
        "still_waiting": still_waiting,
        "available_after": level["available"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (a throwaway database: it is emptied)")
    parser.add_argument("--backorders", type=int, default=100_000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'allocation.sqlite3'}"
    small = run(url, max(args.backorders // 10, 1))
    print(f"  {small}", flush=True)
    large = run(url, args.backorders)
    print(f"  {large}", flush=True)
    print(
        json.dumps(
            {
                "engine": url.split(":")[0],
                "backorders": large["backorders"],
                "seconds": large["seconds"],
                "statements": large["statements"],
                "statements_at_tenth": small["statements"],
                "statements_grow": large["statements"] > small["statements"],
                "all_allocated": large["still_waiting"] == 0 and large["allocated"] == large["backorders"],
            }
        )
    )


if __name__ == "__main__":
    main()
