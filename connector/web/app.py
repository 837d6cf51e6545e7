"""The application factory: builds everything the web process needs, nothing at import time."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from flask import Flask, g, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import Channel as ChannelPort
from connector import logs
from connector.db import UnitOfWork, make_engine, session_factory
from connector.models import Channel
from connector.settings import Settings
from connector.storefronts import StorefrontCache
from connector.web import api as support_api
from connector.web import compliance as compliance_webhooks
from connector.web import customer as customer_pages
from connector.web import health, problems, storefront, webhooks
from connector.web import install as install_routes
from connector.web import ratelimit as rate_limits
from connector.web import unsubscribe as unsubscribe_pages

log = logging.getLogger("connector.web")
MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Services:
    """What request handlers reach through `current_app.extensions["backorder"]`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storefronts: StorefrontCache = field(init=False)
    worker_wakeup: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.storefronts = StorefrontCache(self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def storefront(self, channel: Channel, *, for_verification: bool = False) -> ChannelPort:
        return self.storefronts.get(channel, allow_inactive=for_verification)

    def wake_worker(self) -> None:
        self.worker_wakeup.set()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the Flask app for `settings` (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    logs.configure(production=settings.production, level=settings.logging_level, secrets=settings.secrets())
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    engine = engine or make_engine(settings.database_url)
    app.extensions["backorder"] = Services(settings, engine, session_factory(engine))

    problems.install(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(storefront.bp)
    app.register_blueprint(unsubscribe_pages.bp)
    app.register_blueprint(support_api.bp)
    app.register_blueprint(customer_pages.bp)
    app.register_blueprint(rate_limits.bp)
    app.register_blueprint(install_routes.bp)
    app.register_blueprint(compliance_webhooks.bp)
    _trace_requests(app)
    return app


def _trace_requests(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.request_id_token = logs.request_id.set(rid)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = logs.request_id.get()
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        return response

    @app.teardown_request
    def _reset(_error) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)
