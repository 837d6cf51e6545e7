"""Install routes: Shopify's OAuth install and callback, WooCommerce's wc-auth connect and callback,
and the embedded app's page and status API.

Every refusal is a 4xx page (for browsers) or problem body, is logged with the reason and never a
secret, and stores nothing. After the keys are kept, the webhooks and the catalogue import run in a
background thread with their own units of work, so the merchant is not kept waiting.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template_string, request

from adapters.errors import ChannelError
from connector.crypto import Vault
from connector.errors import ConnectorError
from connector.models import utcnow
from connector.security.ssrf import check_store_url
from connector.services import install
from connector.services.channels import SHOP_DOMAIN, list_channels
from connector.storefronts import subscribe
from connector.web.problems import error_response
from connector.web.session import SessionRefused, authenticate, current_session, require_session_token

bp = Blueprint("install", __name__)
log = logging.getLogger(__name__)
TASKS = "backorder_install_tasks"
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }} · Backorder Connector</title>
{% if api_key %}<meta name="shopify-api-key" content="{{ api_key }}"><script src="{{ app_bridge }}"></script>{% endif %}
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
input{font:inherit;padding:.3rem;width:100%}button{font:inherit;margin-top:.5rem}</style></head>
<body><main><h1>{{ title }}</h1>{% for line in lines %}<p>{{ line }}</p>{% endfor %}
{% if form %}<form method="post" action="/woocommerce/connect" id="connect">
<label for="store_url">Your WooCommerce store's address</label>
<input id="store_url" name="store_url" type="url" placeholder="https://shop.example.com" required>
<button type="submit">Connect</button></form>{% endif %}
{% if embedded %}<section id="status" aria-live="polite"></section>
<script>
async function show() {
  const answer = await fetch("/app/api/status");
  const box = document.getElementById("status");
  if (!answer.ok) { box.textContent = "Could not load your stores (" + answer.status + ")."; return; }
  const data = await answer.json();
  box.replaceChildren(...data.channels.map(c => Object.assign(document.createElement("p"),
    {textContent: c.kind + " " + c.address + ": " + c.status + ", " + c.listings + " listings, import " + c.import})));
}
document.getElementById("connect").addEventListener("submit", async event => {
  event.preventDefault();
  const answer = await fetch("/woocommerce/connect", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({store_url: document.getElementById("store_url").value})});
  const data = await answer.json();
  if (answer.ok) { window.open(data.redirect, "_top"); } else { alert(data.detail); }
});
show();
</script>{% endif %}
</main></body></html>"""


class BackgroundTasks:
    """Install follow-ups running in daemon threads; `wait` joins them (tests, orderly shutdown)."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, name: str, work: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        def run() -> None:
            try:
                work(*args, **kwargs)
            except (ChannelError, ConnectorError) as error:
                log.warning("%s failed: %s: %s", name, type(error).__name__, error)
            except Exception:  # a background thread has no caller to raise to; keep the reason
                log.exception("%s failed", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float = 60.0) -> bool:
        """True when every task has finished within `timeout` seconds."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)


@bp.record_once
def _setup(state: Any) -> None:
    state.app.extensions[TASKS] = BackgroundTasks()


# -- Shopify ------------------------------------------------------------------------------------------


@bp.get("/shopify/install")
def shopify_install() -> Response:
    config = _config()
    try:
        params = install.query_params(request.args.to_dict(flat=False))
        shop = install.check_shop(_text(params.get("shop")))
        _, secret = config.require_shopify()
        install.verify_shopify_query(params, secret)
        location = install.begin_shopify_install(_services().uow(), config, shop, utcnow())
    except ConnectorError as refused:
        return _refused("Shopify install", refused)
    log.info("Shopify install started for %s", shop)
    return redirect(location, 302)


@bp.get("/shopify/callback")
def shopify_callback() -> Response:
    services, config = _services(), _config()
    try:
        params = install.query_params(request.args.to_dict(flat=False))
        shop = install.check_shop(_text(params.get("shop")))
        _, secret = config.require_shopify()
        install.verify_shopify_query(params, secret)
        install.consume_state(services.uow(), shop, _text(params.get("state")), utcnow())
        token, scope = install.exchange_code(config, shop, _text(params.get("code")))
        vault = Vault(services.settings.encryption_keys)
        installed = install.store_shopify_install(services.uow(), vault, config, shop, token, scope, utcnow())
    except ConnectorError as refused:
        return _refused("Shopify callback", refused)
    try:
        subscribe(services.uow, services.settings, vault, installed.channel_id, services.settings.app_url)
    except ChannelError as error:
        log.warning("channel %s: subscribing webhooks failed: %s", installed.channel_id, type(error).__name__)
        return _page(
            "Installed, but not yet listening",
            [
                "The app is installed, but Shopify did not accept our webhook subscriptions.",
                "Open the app again in a few minutes to retry.",
            ],
            status=502,
        )
    _tasks().start(
        f"install-{installed.channel_id}",
        install.finish_install,
        services.uow,
        services.settings,
        services.storefronts.get,
        installed.channel_id,
        subscribe_webhooks=False,
    )
    log.info("Shopify install finished for %s (channel %s)", shop, installed.channel_id)
    query = {"shop": shop, **({"host": params["host"]} if isinstance(params.get("host"), str) else {})}
    return redirect(_url("/app", query), 302)


# -- WooCommerce --------------------------------------------------------------------------------------


@bp.get("/woocommerce/connect")
def woocommerce_form() -> Response:
    return _page(
        "Connect a WooCommerce store", ["You will be asked to approve access in your store."], form=True
    )


@bp.post("/woocommerce/connect")
def woocommerce_connect() -> Response:
    services = _services()
    merchant_id = None
    header = request.headers.get("Authorization", "")
    if header:
        try:
            merchant_id = authenticate(header, services.settings, services.uow()).merchant_id
        except SessionRefused as refused:
            log.info("WooCommerce connect refused: %s", refused)
            return error_response(401, str(refused))
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    store_url = data.get("store_url") if isinstance(data, dict) else None
    try:
        url = check_store_url(str(store_url or ""), production=services.settings.production)
        location = install.begin_woocommerce_connect(services.uow(), _config(), url, merchant_id, utcnow())
    except ConnectorError as refused:
        return _refused("WooCommerce connect", refused)
    log.info("WooCommerce connect started for %s", url)
    if request.is_json:
        return jsonify(redirect=location)
    return redirect(location, 302)


@bp.post("/woocommerce/callback")
def woocommerce_callback() -> Response:
    services = _services()
    try:
        keys = install.parse_wc_keys(request.get_json(silent=True, force=True))
        vault = Vault(services.settings.encryption_keys)
        installed = install.complete_woocommerce_connect(services.uow(), vault, keys, utcnow())
    except ConnectorError as refused:
        return _refused("WooCommerce callback", refused, page=False)
    _tasks().start(
        f"install-{installed.channel_id}",
        install.finish_install,
        services.uow,
        services.settings,
        services.storefronts.get,
        installed.channel_id,
        subscribe_webhooks=True,
    )
    log.info("WooCommerce store connected as channel %s", installed.channel_id)
    return jsonify(connected=True)  # wc-auth deletes the keys again unless this is exactly 200


@bp.get("/woocommerce/return")
def woocommerce_return() -> Response:
    ref = request.args.get("user_id", "")
    pending = install.connect_outcome(_services().uow(), ref) if ref else None
    if pending is None:
        return _page("Link not recognised", ["No store connection matches this link."], status=404)
    if request.args.get("success") != "1":
        return _page("Not connected", ["Access was not approved in the store; nothing was connected."])
    if pending.completed_at is None:
        return _page("Not connected yet", ["The store has not sent its keys; try connecting again."])
    return _page(
        "Store connected",
        ["Your WooCommerce store is connected; its catalogue is being imported. You can close this window."],
    )


# -- the embedded app ---------------------------------------------------------------------------------


@bp.get("/app")
def app_page() -> Response:
    settings = _services().settings
    shop = request.args.get("shop", "")
    if "hmac" in request.args and settings.shopify_api_secret:
        try:
            params = install.query_params(request.args.to_dict(flat=False))
            install.verify_shopify_query(params, settings.shopify_api_secret)
        except ConnectorError as refused:
            return _refused("app page", refused)
    response = _page(
        "Backorder Connector",
        ["Your stores, and the stock they share:"],
        form=True,
        embedded=True,
        api_key=settings.shopify_api_key or "",
    )
    # Shopify shows embedded apps in an iframe of the admin; no one else may frame the page.
    ancestors = f"https://{shop} https://admin.shopify.com" if SHOP_DOMAIN.match(shop) else "'none'"
    response.headers["Content-Security-Policy"] = f"frame-ancestors {ancestors};"
    return response


@bp.get("/app/api/status")
@require_session_token
def app_status() -> Response:
    session = current_session()
    channels = list_channels(_services().uow(), session.merchant_id)
    return jsonify(shop=session.shop, merchant_id=session.merchant_id, channels=channels)


# -- helpers ------------------------------------------------------------------------------------------


def _services():
    return current_app.extensions["backorder"]


def _tasks() -> BackgroundTasks:
    return current_app.extensions[TASKS]


def background_tasks(app) -> BackgroundTasks:
    """The app's install follow-ups (for waiting on them)."""
    return app.extensions[TASKS]


def _config() -> install.InstallConfig:
    overrides = {**os.environ, **current_app.config}
    return install.InstallConfig.build(_services().settings, overrides)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _url(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}"


def _refused(what: str, refused: ConnectorError, *, page: bool = True) -> Response:
    log.warning("%s refused (%s): %s", what, refused.status, refused)
    wants_page = (
        page and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_page:
        return _page(refused.title, [str(refused)], status=refused.status)
    return error_response(refused.status, str(refused), title=refused.title)


def _page(title: str, lines: list[str], *, status: int = 200, **options: Any) -> Response:
    html = render_template_string(
        PAGE,
        title=title,
        lines=lines,
        form=options.get("form", False),
        embedded=options.get("embedded", False),
        api_key=options.get("api_key", ""),
        app_bridge=APP_BRIDGE,
    )
    return Response(html, status=status, mimetype="text/html")
