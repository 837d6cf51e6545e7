"""Installing the connector in the sandbox stores the way a merchant does, over real HTTP.

Shopify: the admin sends a signed GET /shopify/install; the merchant is redirected to the store's
/admin/oauth/authorize, approves, and Shopify redirects back to /shopify/callback with a code.
WooCommerce: from the embedded app (App Bridge session token) the merchant enters the store URL, is
sent to /wc-auth/v1/authorize, approves, and the store posts the keys to our callback. Every redirect
is followed by hand (allow_redirects=False) so each hop can be checked.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests

from adapters.sandbox.common import load_catalog
from adapters.sandbox.server import RunningServer, start_in_thread
from connector.web.install import background_tasks
from tests.install.support import session_token, signed_query
from tests.integration.conftest import DEMO_CATALOG

APP_KEY = "sandbox-app-client-id"
APP_SECRET = "sandbox-app-client-secret-" + "7c" * 16
SHOP = "sandbox-outfitters.myshopify.com"


@dataclass
class Stack:
    """The connector served on a port, a worker, and both sandbox stores."""

    app: object
    connector: RunningServer
    shopify: object
    shopify_server: RunningServer
    woo: object
    woo_server: RunningServer
    http: requests.Session = field(default_factory=requests.Session)
    stop_worker: threading.Event = field(default_factory=threading.Event)
    worker_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.connector.url

    def stop(self) -> None:
        background_tasks(self.app).wait()
        self.stop_worker.set()
        self.app.extensions["backorder"].wake_worker()
        if self.worker_thread is not None:
            self.worker_thread.join(timeout=10)
        self.shopify.webhooks.flush(timeout=5)
        self.woo.flush_webhooks(timeout=5)
        for server in (self.connector, self.shopify_server, self.woo_server):
            server.stop()
        self.http.close()


def start_stack(app, settings, engine, *, shopify_token: str | None = None) -> Stack:
    """Serve `app`, point it at both sandboxes, and run a worker as `backorder serve` does."""
    from adapters.sandbox.shopify import ShopifySandbox
    from adapters.sandbox.woocommerce import WooCommerceSandbox
    from connector.worker import Worker

    drafts = load_catalog(DEMO_CATALOG)
    shopify = ShopifySandbox(shop=SHOP, client_id=APP_KEY, client_secret=APP_SECRET, token=shopify_token)
    shopify.seed(drafts)
    # Strict keys: only the configured pair and pairs issued through wc-auth are accepted.
    woo = WooCommerceSandbox(consumer_key="ck_" + "e" * 40, consumer_secret="cs_" + "f" * 40)
    woo.seed(drafts)
    shopify_server, woo_server = start_in_thread(shopify.wsgi_app), start_in_thread(woo.wsgi_app)
    woo.remember_address(woo_server.url)
    connector = start_in_thread(app)
    services = app.extensions["backorder"]
    services.settings = dataclasses.replace(settings, app_url=connector.url)
    app.config["SHOPIFY_SHOP_URLS"] = {SHOP: shopify_server.url}
    stack = Stack(app, connector, shopify, shopify_server, woo, woo_server)
    worker = Worker(
        services.settings, engine, threads=2, wakeup=services.worker_wakeup, storefronts=services.storefronts
    )
    stack.worker_thread = worker.start(stack.stop_worker)
    return stack


def install_shopify(stack: Stack) -> str:
    """Install from the Shopify admin; returns the app page the merchant lands on."""
    install = stack.http.get(
        f"{stack.url}/shopify/install?{signed_query(APP_SECRET, shop=SHOP)}", allow_redirects=False
    )
    assert install.status_code == 302, install.text
    authorize = install.headers["Location"]
    assert authorize.startswith(f"{stack.shopify_server.url}/admin/oauth/authorize?")
    approved = stack.http.get(authorize, allow_redirects=False)
    assert approved.status_code == 302, approved.text
    callback = approved.headers["Location"]
    assert callback.startswith(f"{stack.url}/shopify/callback?")
    landed = stack.http.get(callback, allow_redirects=False)
    assert landed.status_code == 302, landed.text
    return landed.headers["Location"]


def connect_woocommerce(stack: Stack) -> str:
    """Connect the WooCommerce store from the embedded app; returns the page the merchant ends on."""
    token = session_token(SHOP, secret=APP_SECRET, audience=APP_KEY)
    started = stack.http.post(
        f"{stack.url}/woocommerce/connect",
        json={"store_url": stack.woo_server.url},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert started.status_code == 200, started.text
    authorize = started.json()["redirect"]
    assert authorize.startswith(f"{stack.woo_server.url}/wc-auth/v1/authorize?")
    # The store posts the keys to our callback before it answers this request.
    approved = stack.http.get(authorize, allow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = approved.headers["Location"]
    assert parse_qs(urlsplit(back).query)["success"] == ["1"]
    page = stack.http.get(back, allow_redirects=False)
    assert page.status_code == 200
    return page.text


def app_settings_for_sandbox(tmp_path, database_url, **env):
    from tests.install.support import app_settings

    return app_settings(tmp_path, database_url, SHOPIFY_API_KEY=APP_KEY, SHOPIFY_API_SECRET=APP_SECRET, **env)
