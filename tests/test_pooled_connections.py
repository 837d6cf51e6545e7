"""Pooled PostgreSQL connections are checked before use only after sitting idle: a ping is a round trip."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from connector import db


@pytest.fixture
def server(engine, database_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("only a database server drops a connection from under us")
    outside = create_engine(database_url, poolclass=NullPool)
    yield outside
    outside.dispose()


def backend(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def drop(server, pid: int) -> None:
    with server.connect() as connection:  # as a server restart or an idle timeout would
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_connection_dropped_while_idle_is_replaced_before_use(server, database_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = db.make_engine(database_url, pool_size=1)
    try:
        first = backend(engine)
        drop(server, first)
        assert backend(engine) != first  # answered on a new connection, no error
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged_again(server, database_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.make_engine(database_url, pool_size=1)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    try:
        assert backend(engine) == backend(engine)
        assert pings == []
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        backend(engine)
        assert len(pings) == 1
    finally:
        engine.dispose()
