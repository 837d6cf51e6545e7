"""Waking idle workers when there is work, across processes (PostgreSQL's LISTEN/NOTIFY); the same
connection tells other workers this process is alive.

A worker thread with nothing to do waits up to `worker.IDLE_WAIT` before looking again. A delivery
stored by the web process, or outbox rows written by another worker, ring the bell: the notification
goes out when their transaction commits, and every listening worker wakes its idle threads at once.
On SQLite there is no bell: in-process callers wake the worker themselves, other processes poll.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, func, select

from connector.db import UnitOfWork
from connector.services import dispatch

log = logging.getLogger(__name__)
CHANNEL = "backorder_work"
# After a ring, further rings within this time wake the threads once: a burst of deliveries (hundreds
# a second) must not turn every idle thread into hundreds of looks a second.
QUIET = 0.25
RECONNECT = 5.0


def ring(uow: UnitOfWork) -> None:
    """Wake the listening workers when this transaction commits (nothing on SQLite)."""
    if uow.locks_rows:
        uow.session.execute(select(func.pg_notify(CHANNEL, "")))


def ringing_sql(returning_sql: str) -> str:
    """A PostgreSQL statement returning rows, made to ring the bell for each (one round trip): the
    intake stores a delivery and wakes the workers with the same statement."""
    # Built from our own compiled statement and constant, never from input.
    return f"WITH stored AS ({returning_sql}) SELECT stored.*, pg_notify('{CHANNEL}', '') FROM stored"  # noqa: S608


def listen(
    engine: Engine, wakeup: threading.Event, stop: threading.Event, *, present_as: str | None = None
) -> threading.Thread | None:
    """Set `wakeup` whenever the bell rings, from a thread of its own, until `stop`; None on SQLite.
    With `present_as` (a worker process's name), its listening connection also holds the presence lock
    by which other workers know the process is alive (`dispatch.present`)."""
    if engine.dialect.name != "postgresql":
        return None
    args = (engine, wakeup, stop, present_as)
    thread = threading.Thread(target=_listen, args=args, name="doorbell", daemon=True)
    thread.start()
    return thread


def _listen(engine: Engine, wakeup: threading.Event, stop: threading.Event, present_as: str | None) -> None:
    while not stop.is_set():
        try:
            pooled = engine.raw_connection()
            pooled.detach()  # ours for as long as we listen; the pool neither counts nor resets it
            connection = pooled.dbapi_connection
            try:
                connection.autocommit = True
                connection.execute(f"LISTEN {CHANNEL}")
                if present_as and not dispatch.present(connection, present_as):
                    log.warning("worker %s: presence lock already held; its leases outlive it", present_as)
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0, stop_after=1):
                        wakeup.set()
                        stop.wait(QUIET)
            finally:
                pooled.close()
        except Exception as error:  # the database went away: poll meanwhile, listen again shortly
            log.warning("not listening for work (%s); trying again in %.0f s", error, RECONNECT)
            stop.wait(RECONNECT)
