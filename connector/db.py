"""Engine, sessions and the unit of work. Nothing here is built at import time."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_MS = 30_000


def make_engine(url: str, **kwargs) -> Engine:
    """Build an engine; on SQLite, serialise writers so the ledger never loses an update."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


class UnitOfWork:
    """A transaction: `with uow:` opens it, `uow.commit()` keeps it, leaving without a commit rolls back."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back what was not committed, and, unlike rollback(), leaves loaded objects readable.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    @property
    def locks_rows(self) -> bool:
        """True where SELECT … FOR UPDATE locks rows (PostgreSQL); SQLite locks the whole database."""
        return self.session.get_bind().dialect.name == "postgresql"
