"""The models and the migrations describe the same schema, on every engine, both ways."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from connector import migrate
from connector.db import make_engine
from connector.models import Base
from tests.conftest import ENGINES


@pytest.fixture(params=ENGINES)
def fresh_url(request, tmp_path):
    """An empty database of each engine under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    return request.getfixturevalue("pg_database_url")


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
