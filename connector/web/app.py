"""The application factory: builds everything the web process needs, nothing at import time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import Channel as ChannelPort
from connector import logs
from connector.db import UnitOfWork, make_engine, session_factory
from connector.models import Channel
from connector.services.inbox import InboxWriter
from connector.settings import Settings
from connector.storefronts import StorefrontCache
from connector.web import api as support_api
from connector.web import compliance as compliance_webhooks
from connector.web import customer as customer_pages
from connector.web import health, problems, storefront, webhooks
from connector.web import install as install_routes
from connector.web import ratelimit as rate_limits
from connector.web import unsubscribe as unsubscribe_pages
from connector.web.tracing import RequestTrace

MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Services:
    """What request handlers reach through `current_app.extensions["backorder"]`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storefronts: StorefrontCache = field(init=False)
    inbox: InboxWriter = field(init=False)
    worker_wakeup: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.storefronts = StorefrontCache(self.settings)
        self.inbox = InboxWriter(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def storefront(self, channel: Channel, *, for_verification: bool = False) -> ChannelPort:
        return self.storefronts.get(channel, allow_inactive=for_verification)

    def wake_worker(self) -> None:
        if not self.worker_wakeup.is_set():  # set() takes a lock; under gunicorn nobody clears the flag
            self.worker_wakeup.set()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the Flask app for `settings` (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    logs.configure(production=settings.production, level=settings.logging_level, secrets=settings.secrets())
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    app.session_interface = CookieSessions()
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
    app.wsgi_app = RequestTrace(app.wsgi_app)  # type: ignore[method-assign]
    return app


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, not opened or saved for a request that brought no cookie.

    No route keeps anything in the session today, yet Flask would build a signer and parse cookies to
    open one, and read seven settings to save it, on every request (every webhook delivery, too). Without
    a cookie the outcome is the same as Flask's: an empty session, and no cookie unless one is set."""

    def open_session(self, app, request):
        if "HTTP_COOKIE" in request.environ or not app.secret_key:
            return super().open_session(app, request)
        return self.session_class()

    def save_session(self, app, session, response) -> None:
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)
