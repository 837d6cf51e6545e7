"""The models and the migrations describe the same schema, on every engine, both ways."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from connector import migrate
from connector.db import make_engine
from connector.models import Base
from tests.conftest import ENGINES, pg_url


@pytest.fixture(params=ENGINES)
def fresh_url(request, tmp_path):
    """An empty database of each engine under test, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    admin = make_engine(pg_url(), isolation_level="AUTOCOMMIT")
    name = f"backorder_migrations_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_at_head_match_the_models(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert differences == [], f"models and migrations disagree: {differences}"


def test_migrations_go_down_to_nothing_and_up_again(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    assert migrate.at_head(engine)
    config = migrate.alembic_config(fresh_url)
    from alembic import command

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.at_head(engine)
    engine.dispose()


def test_nothing_outside_tests_calls_create_all():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("connector", "adapters", "jobs")
        for path in (root / folder).rglob("*.py")
        if "create_all(" in path.read_text()
    ]
    assert offenders == []
