"""What every command gets: settings, a database, and units of work, built on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from connector import logs, migrate
from connector.crypto import Vault
from connector.db import UnitOfWork, make_engine, session_factory
from connector.errors import ConfigError, InvalidInput
from connector.settings import Settings


class UsageError(Exception):
    """The command line itself is wrong (exit 2)."""


@dataclass
class Outcome:
    data: dict[str, Any]
    text: str = ""


@dataclass
class Context:
    _settings: Settings | None = None
    _engine: Engine | None = None
    _checked_schema: bool = field(default=False)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
            logs.configure(
                production=self._settings.production,
                level=self._settings.logging_level,
                secrets=self._settings.secrets(),
            )
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def uow(self) -> UnitOfWork:
        """A unit of work on a database whose schema is current; configuration error otherwise."""
        if not self._checked_schema:
            if not migrate.at_head(self.engine):
                raise ConfigError(
                    "DATABASE_URL", "the database schema is not current: run `backorder db upgrade`"
                )
            self._checked_schema = True
        return UnitOfWork(session_factory(self.engine))

    def new_uow(self) -> UnitOfWork:
        """`uow` as a factory, for services that open one transaction per step."""
        return self.uow()

    @property
    def vault(self) -> Vault:
        return Vault(self.settings.encryption_keys)


def whole_number(text: str, what: str) -> int:
    """Parse a signed whole number given on the command line, or fail with a clear message."""
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit():
        raise InvalidInput(f"{what} must be a whole number, got {text!r}")
    return int(stripped)
