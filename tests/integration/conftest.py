"""Sandbox stores and the connector itself, served over real HTTP on loopback."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from adapters.sandbox.common import load_catalog
from adapters.sandbox.server import start_in_thread

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "connector" / "demo" / "catalog.csv"
WOO_KEY = "ck_" + "a1" * 20
WOO_SECRET = "cs_" + "b2" * 20


@pytest.fixture
def woo_store():
    from adapters.sandbox.woocommerce import WooCommerceSandbox

    sandbox = WooCommerceSandbox(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET)
    sandbox.seed(load_catalog(DEMO_CATALOG))
    server = start_in_thread(sandbox.wsgi_app)
    sandbox.remember_address(server.url)
    yield sandbox, server.url
    sandbox.flush_webhooks()
    server.stop()


@pytest.fixture
def connector_url(app):
    """The connector's web app on a real port (webhook deliveries come to it)."""
    server = start_in_thread(app)
    yield server.url
    server.stop()


def basic_auth_for_demo() -> tuple[str, str]:
    from connector.demo import WOO_KEY as DEMO_KEY
    from connector.demo import WOO_SECRET as DEMO_SECRET

    return DEMO_KEY, DEMO_SECRET


@pytest.fixture
def demo(app, connector_url, settings, engine):
    """The demo merchant with both sandbox stores connected, and a worker running."""
    from connector.demo import start_demo
    from connector.worker import Worker

    services = app.extensions["backorder"]
    stores = start_demo(settings, services.sessions, connector_url)
    stop = threading.Event()
    worker = Worker(
        settings, engine, threads=2, wakeup=services.worker_wakeup, storefronts=services.storefronts
    )
    thread = worker.start(stop)
    yield stores
    stop.set()
    services.wake_worker()
    thread.join(timeout=10)
    stores.stop()


def eventually(check, timeout=30.0):
    """Poll until `check` holds. Generous on purpose: speed is measured by bench/, not asserted here."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not reached within the time allowed")
        time.sleep(0.05)
