"""Engine, sessions and the unit of work. Nothing here is built at import time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_MS = 30_000
READ_ONLY = "backorder_read_only"  # the execution option of a transaction that only reads


def make_engine(url: str, **kwargs) -> Engine:
    """Build an engine; on SQLite, serialise writers so the ledger never loses an update."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_MS / 1000, "factory": TakingTurns}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle this long is checked before use: the server, or a proxy's idle timeout, may
# have dropped it. One handed back moments ago is not: a ping is a round trip, and a worker opens several
# units of work per batch (pinging them all cost a tenth of its time under load). Should the server go
# away in that moment, the statement fails, the pool is invalidated, and the next unit of work connects
# afresh.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # As pool_pre_ping does: the others of the pool predate it too (a server restart), so all go.
            raise InvalidatePoolError(f"pooled connection lost while idle: {error}") from error


def _serialise_sqlite_writers(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions lazily, so two writers can both read
    # the last unit before either writes. BEGIN IMMEDIATE takes the write lock up front instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        dbapi_connection = connection.connection.dbapi_connection
        if connection.get_execution_options().get(READ_ONLY):
            # A reader needs no turn: in WAL mode it reads a snapshot while one writer writes.
            dbapi_connection.read_only()
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection.take_turn()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_connection.end_turn()
            raise


class TakingTurns(sqlite3.Connection):
    """A SQLite connection whose writes take turns with every other writer to the same file, in any
    process, through an exclusive lock on a file beside it (`<database>-writers.lock`).

    SQLite's own wait for its write lock sleeps and retries (up to 100 ms between tries), so a writer
    that commits and begins again at once keeps the lock while others sleep: under the worker's steady
    batches the webhook intake's inserts waited 30 s. A writer blocked on the file lock is woken the moment
    it is released. The turn is taken before BEGIN IMMEDIATE and ends with the commit or rollback; a
    process that dies gives it up with its file descriptor. In-memory databases have no file and no turns."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fsdecode(database)
        self._turns = (
            None if _in_memory(name) else os.open(f"{name}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        )
        self._holding = False
        self._reading = False

    def read_only(self) -> None:
        """Refuse writes until the transaction ends (a reader does not hold the writers' turn)."""
        self.execute("PRAGMA query_only = ON")
        self._reading = True

    def take_turn(self) -> None:
        if self._turns is not None and not self._holding:
            fcntl.flock(self._turns, fcntl.LOCK_EX)
            self._holding = True

    def try_turn(self) -> bool:
        """Take the turn if no one has it now; False (not waiting) when another writer has it."""
        if self._turns is None or self._holding:
            return True
        try:
            fcntl.flock(self._turns, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._holding = True
        return True

    def end_turn(self) -> None:
        if self._reading:
            self._reading = False
            self.execute("PRAGMA query_only = OFF")
        if self._holding:
            self._holding = False
            fcntl.flock(self._turns, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def turn(self):
        """A write outside BEGIN … COMMIT (autocommit), in its turn."""
        self.take_turn()
        try:
            yield
        finally:
            self.end_turn()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
            if self._turns is not None:
                os.close(self._turns)
                self._turns = None


def file_beside(engine: Engine, suffix: str) -> str | None:
    """`<database>-<suffix>` beside a SQLite database file (its lock, spool, doorbell); None on a database
    server or in memory."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if _in_memory(database):
        return None
    return f"{database}-{suffix}"


def _in_memory(name: str) -> bool:
    return name in ("", ":memory:") or name.startswith("file::memory:") or "mode=memory" in name


def writing(dbapi_connection):
    """The context for one autocommitted write on a driver connection: its turn on SQLite (`TakingTurns`),
    nothing to wait for on a database server."""
    return dbapi_connection.turn() if isinstance(dbapi_connection, TakingTurns) else contextlib.nullcontext()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


class UnitOfWork:
    """A transaction: `with uow:` opens it, `uow.commit()` keeps it, leaving without a commit rolls back."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions
        self._read_only = False
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        if self._read_only:
            self.session.connection(execution_options={READ_ONLY: True})
        return self

    def reading(self) -> UnitOfWork:
        """This unit of work only reads: on SQLite it does not wait for, or hold up, the writers (a write
        in it fails). `with uow.reading():` in place of `with uow:`."""
        self._read_only = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back what was not committed, and, unlike rollback(), leaves loaded objects readable.
        self.session.close()
        self._read_only = False  # `reading()` was for that one transaction

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    @property
    def engine(self) -> Engine:
        return self._sessions.kw["bind"]

    @property
    def locks_rows(self) -> bool:
        """True where SELECT … FOR UPDATE locks rows (PostgreSQL); SQLite locks the whole database."""
        return self.engine.dialect.name == "postgresql"
