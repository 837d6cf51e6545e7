"""Deliveries kept beside a SQLite database while another writer has the turn (`<database>-spool`).

SQLite has one writer at a time, and under load the worker holds the turn most of the time (at 50 orders
a second, 90% of it, in transactions of 8–90 ms): a store's webhook sender, waiting for each answer,
fell 10–20 s behind, and the ledger heard of orders that late. A group of deliveries that finds the turn
taken is written to the spool instead (a file and lock of its own: a millisecond) and answered at once.
The worker moves spooled deliveries into the inbox before each look at it (`move`), oldest first; one
moved twice is stored once (the inbox's key). PostgreSQL needs none of this: its writers do not queue
on one lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from connector.db import UnitOfWork, file_beside
from connector.models import Channel, InboxDelivery

log = logging.getLogger(__name__)

SPOOL_TIMEOUT_S = 30.0
MOVE = 500  # deliveries moved in one transaction at most

_spools: dict[str, Spool] = {}
_spools_lock = threading.Lock()


def beside(engine: Engine) -> Spool | None:
    """The spool of this engine's database: one per file and process; None on PostgreSQL and in memory."""
    path = file_beside(engine, "spool")
    if path is None:
        return None
    with _spools_lock:
        if path not in _spools:
            _spools[path] = Spool(path)
        return _spools[path]


def move(new_uow: Callable[[], UnitOfWork]) -> int:
    """Move spooled deliveries into the inbox, oldest first, MOVE per transaction; how many were moved.
    A crash between a commit and the spool's delete leaves rows in both places: moved again, they are
    stored once."""
    kept = beside(new_uow().engine)
    moved = 0
    while kept is not None:
        columns, rows = kept.oldest()
        if not rows:
            break
        sql = _insert_sql(columns)
        try:
            with new_uow() as uow:
                uow.session.connection().exec_driver_sql(sql, [tuple(values) for _id, values in rows])
                uow.commit()
        except DBAPIError as error:
            log.warning("spooled deliveries could not be moved together (%s); moving them one by one", error)
            _one_by_one(new_uow, kept, sql, columns, rows)
        kept.forget(rows[-1][0])
        moved += len(rows)
        if len(rows) < MOVE:
            break
    return moved


def _insert_sql(columns: list[str]) -> str:
    table, marks = InboxDelivery.__table__.name, ", ".join("?" * len(columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (our column names)
        " ON CONFLICT (platform, dedupe_key) DO NOTHING"
    )


def _one_by_one(
    new_uow, kept: Spool, sql: str, columns: list[str], rows: list[tuple[int, list[Any]]]
) -> None:
    """Each row in a savepoint: one that cannot be stored (its channel was removed meanwhile, say) is
    dropped when its channel is gone (a removed shop's data is not kept) and set aside otherwise (kept
    in the spool's `set_aside` table with the reason, and logged), and never holds up the others."""
    channel = columns.index("channel_id")
    with new_uow() as uow:
        connection = uow.session.connection()
        for spool_id, values in rows:
            try:
                with connection.begin_nested():
                    connection.exec_driver_sql(sql, tuple(values))
            except DBAPIError as error:
                if connection.scalar(select(Channel.id).where(Channel.id == values[channel])) is None:
                    log.info("spooled delivery %s dropped: channel %s is gone", spool_id, values[channel])
                else:
                    log.warning("spooled delivery %s set aside in %s: %s", spool_id, kept.path, error)
                    kept.set_aside(spool_id, str(error))
        uow.commit()


class Spool:
    """Rows of driver parameters for the inbox's insert, in the insert's column order, unique by key."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()  # one connection per process, one statement sequence at a time
        self._connection: sqlite3.Connection | None = None
        self._columns: list[str] | None = None  # the table's, once it exists

    def write(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], known: set[tuple]) -> list[bool]:
        """Spool rows (the insert's positional parameters for `columns`) in one transaction; whether each
        was new. `known`: the (platform, dedupe_key) pairs the inbox has already."""
        platform, key = columns.index("platform"), columns.index("dedupe_key")
        with self._lock:
            connection = self._open(columns)
            marks = ", ".join("?" * len(columns))
            names = ", ".join(columns)  # ours, from the inbox's insert
            sql = f"INSERT INTO spooled ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING id"  # noqa: S608
            stored = []
            connection.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    if (row[platform], row[key]) in known:
                        stored.append(False)
                        continue
                    stored.append(connection.execute(sql, list(row)).fetchone() is not None)
                connection.execute("COMMIT")
            except BaseException:
                connection.rollback()
                raise
        return stored

    def waiting(self) -> int:
        """How many deliveries are spooled (0 before anything ever was)."""
        with self._lock:
            connection = self._open()
            if connection is None:
                return 0
            return connection.execute("SELECT count(*) FROM spooled").fetchone()[0]

    def oldest(self, limit: int = MOVE) -> tuple[list[str], list[tuple[int, list[Any]]]]:
        """The columns and the oldest spooled rows, each with its id."""
        with self._lock:
            connection = self._open()
            if connection is None:
                return [], []
            columns = self._columns
            found = connection.execute(
                f"SELECT id, {', '.join(columns)} FROM spooled ORDER BY id LIMIT ?",  # noqa: S608 (the table's own)
                (limit,),
            ).fetchall()
        return columns, [(row[0], list(row[1:])) for row in found]

    def set_aside(self, spool_id: int, reason: str) -> None:
        """Keep a row that cannot be moved, with the reason, out of the way of the others."""
        with self._lock:
            connection = self._open()
            connection.execute(
                "CREATE TABLE IF NOT EXISTS set_aside AS SELECT *, '' AS reason FROM spooled WHERE 0"
            )
            connection.execute(
                "INSERT INTO set_aside SELECT *, ? FROM spooled WHERE id = ?", (reason, spool_id)
            )

    def forget(self, up_to: int) -> None:
        """Drop rows up to this id: they are in the inbox (committed) now."""
        with self._lock:
            connection = self._open()
            if connection is not None:
                connection.execute("DELETE FROM spooled WHERE id <= ?", (up_to,))

    def _open(self, columns: Sequence[str] | None = None) -> sqlite3.Connection | None:
        """The connection; the table is made by the first write (`columns`), so looks before it find none."""
        if self._connection is None:
            connection = sqlite3.connect(
                self.path, timeout=SPOOL_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA secure_delete = ON")  # moved bodies do not linger in free pages
            self._connection = connection
        if self._columns is None:
            found = [row[1] for row in self._connection.execute("PRAGMA table_info(spooled)")]
            if not found and columns is None:
                return None
            if not found:
                self._connection.execute(
                    f"CREATE TABLE IF NOT EXISTS spooled (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    f" {', '.join(columns)}, UNIQUE (platform, dedupe_key))"
                )
                found = ["id", *columns]
            self._columns = [name for name in found if name != "id"]
        return self._connection
