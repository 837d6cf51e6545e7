"""The models and the migrations describe the same schema, on every engine, both ways."""

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, text

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
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _comparable}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models and migrations disagree: {differences}"


# Beyond autogenerate's comparison (SQLite does not reflect them, PostgreSQL rewrites them): each one's
# definition in the database after the migrations, as it must read.
EXPRESSION_INDEXES = {
    "ix_inbox_waiting": ("webhook_inbox", ["merchant_id", "'order%'", "then 0 else 1", "id", "'received'"]),
}


def _comparable(object_, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def test_expression_indexes_are_as_the_models_declare(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    declared = {
        index.name
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(part, Column) for part in index.expressions)
    }
    assert declared == set(EXPRESSION_INDEXES)  # every one is checked here: autogenerate leaves them out
    with engine.connect() as connection:
        for name, (table, parts) in EXPRESSION_INDEXES.items():
            assert name in declared
            if engine.dialect.name == "sqlite":
                query = "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND name = :name"
            else:
                query = "SELECT tablename, indexdef FROM pg_indexes WHERE indexname = :name"
            found = connection.execute(text(query), {"name": name}).one()
            assert found[0] == table
            definition = " ".join(found[1].lower().replace("(", " ").replace(")", " ").split())
            assert all(part in definition for part in parts), definition
    engine.dispose()


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
