"""Shared fixtures. Database tests run on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from connector import migrate
from connector.db import UnitOfWork, make_engine, session_factory
from connector.models import Base
from connector.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
ENGINES = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pg_url() -> str:
    """TEST_DATABASE_URL with the psycopg 3 driver named."""
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # closing the last connection folds the WAL back into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """The PostgreSQL test database, emptied and migrated once per run. It must be a throwaway database."""
    url = pg_url()
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each engine under test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def new_uow(engine: Engine) -> Callable[[], UnitOfWork]:
    """Makes a fresh unit of work on the test database."""
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url})


@pytest.fixture
def app(settings: Settings, engine: Engine):
    from connector.web.app import create_app

    app = create_app(settings, engine=engine)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def pytest_report_header(config):
    engines = ", ".join(ENGINES)
    return f"database engines under test: {engines}" + (
        "" if PG_URL else " (set TEST_DATABASE_URL for PostgreSQL)"
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Show how many database tests ran and passed on each engine."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            for engine in ENGINES:
                if (
                    f"[{engine}" in report.nodeid
                    or f"-{engine}]" in report.nodeid
                    or f"-{engine}-" in report.nodeid
                ):
                    counts.setdefault(engine, {}).setdefault(outcome, 0)
                    counts[engine][outcome] += 1
    for engine, by_outcome in counts.items():
        summary = ", ".join(f"{n} {outcome}" for outcome, n in by_outcome.items())
        terminalreporter.write_line(f"{engine}: {summary}")


@pytest.fixture
def pg_database_url():
    """A new, empty PostgreSQL database on the TEST_DATABASE_URL server, dropped afterwards."""
    import uuid

    admin = make_engine(pg_url(), isolation_level="AUTOCOMMIT")
    name = f"backorder_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
