"""What a job needs, built fresh for each run from the environment (jobs are stored by reference)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connector.db import UnitOfWork, make_engine, session_factory
from connector.models import utcnow
from connector.settings import Settings
from connector.storefronts import StorefrontCache


@dataclass
class Runtime:
    settings: Settings
    sessions: object
    storefronts: StorefrontCache

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    @staticmethod
    def now():
        return utcnow()


@contextmanager
def runtime() -> Iterator[Runtime]:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        yield Runtime(settings, session_factory(engine), StorefrontCache(settings))
    finally:
        engine.dispose()
