"""Waking idle workers when there is work, across processes (PostgreSQL's LISTEN/NOTIFY); the same
connection tells other workers this process is alive.

A worker thread with nothing to do waits up to `worker.IDLE_WAIT` before looking again. A delivery
stored by the web process, or outbox rows written by another worker, ring the bell: the notification
goes out when their transaction commits, and every listening worker wakes its idle threads at once.
On SQLite the bell is a named pipe beside the database (`<database>-doorbell`): the intake writes a
byte to it when it stored a delivery, and a listening worker process wakes its idle threads (only one
worker process hears each ring; others poll). Nothing waits on it: a ring with no one listening, or
with the pipe full of earlier rings, is dropped.
"""

from __future__ import annotations

import logging
import os
import select as os_select
import threading

from sqlalchemy import Engine, func, select

from connector.db import UnitOfWork, file_beside
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


def pipe_beside(engine: Engine) -> str | None:
    """The SQLite database's doorbell pipe; None on PostgreSQL and in memory."""
    return file_beside(engine, "doorbell")


def ring_pipe(path: str) -> None:
    """Ring a SQLite database's doorbell; never waits, and a ring no one can hear is dropped."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no worker listening (ENXIO), or none ever did (ENOENT)
        return
    try:
        os.write(fd, b"\0")
    except OSError:  # full of rings not yet heard (EAGAIN): this one adds nothing
        pass
    finally:
        os.close(fd)


def listen(
    engine: Engine, wakeup: threading.Event, stop: threading.Event, *, present_as: str | None = None
) -> threading.Thread | None:
    """Set `wakeup` whenever the bell rings, from a thread of its own, until `stop`. With `present_as` (a
    worker process's name), its PostgreSQL connection also holds the presence lock by which other
    workers know the process is alive (`dispatch.present`). None for a SQLite database in memory."""
    if engine.dialect.name == "postgresql":
        target, args = _listen, (engine, wakeup, stop, present_as)
    elif (path := pipe_beside(engine)) is not None:
        target, args = _listen_to_pipe, (path, wakeup, stop)
    else:
        return None
    thread = threading.Thread(target=target, args=args, name="doorbell", daemon=True)
    thread.start()
    return thread


def _listen_to_pipe(path: str, wakeup: threading.Event, stop: threading.Event) -> None:
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    except OSError as error:  # a file system without named pipes: poll
        log.warning("not listening for work (%s); polling", error)
        return
    reading = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    keeping = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # never at end of file while we listen
    try:
        while not stop.is_set():
            ready, _, _ = os_select.select([reading], [], [], 1.0)
            if ready:
                os.read(reading, 4096)  # every ring so far: one wake-up
                wakeup.set()
                stop.wait(QUIET)
    finally:
        os.close(keeping)
        os.close(reading)


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
