"""Sandbox stores and the connector itself, served over real HTTP on loopback."""

from __future__ import annotations

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
