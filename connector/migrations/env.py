"""Alembic environment: uses the connection handed in by connector.migrate, or the configured URL."""

from alembic import context
from sqlalchemy import Column

from connector.db import make_engine
from connector.models import Base

config = context.config
target_metadata = Base.metadata
# Indexes on expressions, which autogenerate cannot compare (SQLite does not reflect them, PostgreSQL
# gives them back rewritten): their migrations are written by hand and tests/test_migrations.py checks them.
EXPRESSION_INDEXES = frozenset(
    index.name
    for table in target_metadata.tables.values()
    for index in table.indexes
    if any(not isinstance(part, Column) for part in index.expressions)
)


def comparable(object_, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter: everything but the expression indexes."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=comparable,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
