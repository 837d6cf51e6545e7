"""Webhook intake: verify over the raw bytes, store once in the inbox, answer at once.

Processing happens in the worker. Duplicates answer 200 and are not stored again. Routes never
redirect (WooCommerce counts a redirect as delivered and the body would be lost).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from adapters.base import WebhookDelivery
from adapters.errors import WebhookRejected
from connector.models import Channel
from connector.web.problems import error_response

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
SHOP_HEADER = "X-Shopify-Shop-Domain"
# The two answers to a stored delivery, as jsonify would write them, encoded once.
STORED = b'{"accepted":true,"duplicate":false}\n'
DUPLICATE = b'{"accepted":true,"duplicate":true}\n'


@bp.post("/webhooks/shopify")
def shopify() -> Response:
    shop = (request.headers.get(SHOP_HEADER) or "").strip().lower()
    if not shop:
        return error_response(401, f"missing {SHOP_HEADER}")

    def load(uow):
        return uow.session.scalar(select(Channel).where(Channel.kind == "shopify", Channel.address == shop))

    channel = _directory().find(("shopify", shop), load)
    if channel is None:
        return error_response(401, "no channel is connected for this shop")
    return _intake(channel, reload=lambda: _directory().find(("shopify", shop), load, fresh=True))


@bp.post("/webhooks/woocommerce/<int:channel_id>")
def woocommerce(channel_id: int) -> Response:
    def load(uow):
        return uow.session.get(Channel, channel_id)

    channel = _directory().find(("woocommerce", channel_id), load)
    if channel is None or channel.kind != "woocommerce":
        return error_response(404, f"no WooCommerce channel {channel_id}")
    return _intake(channel, reload=lambda: _directory().find(("woocommerce", channel_id), load, fresh=True))


def _intake(channel: Channel, reload=None) -> Response:
    services = _services()
    body = request.get_data(cache=False)
    headers = _headers(request.environ)
    try:
        delivery = _verify(services, channel, headers, body)
    except WebhookRejected as rejected:
        fresh = reload() if reload is not None else None
        # A snapshot may predate a new webhook secret: check once more against the stored row.
        if fresh is None or fresh is channel:
            log.warning("webhook for channel %s refused (%s): %s", channel.id, rejected.status, rejected)
            return error_response(rejected.status, str(rejected))
        channel = fresh
        try:
            delivery = _verify(services, channel, headers, body)
        except WebhookRejected as again:
            log.warning("webhook for channel %s refused (%s): %s", channel.id, again.status, again)
            return error_response(again.status, str(again))
    if delivery.topic == "ping":
        return Response("", status=200)
    status = "received" if channel.status == "active" else "ignored"
    stored = services.inbox.store(channel, delivery, status=status)
    if stored and status == "received":
        services.wake_worker()
    return Response(STORED if stored else DUPLICATE, mimetype="application/json")


def _headers(environ: dict) -> dict[str, str]:
    """The platform's headers (`X-...`) and the content headers (`Content-...`), all that verification reads
    and the inbox keeps, as one plain dict in werkzeug's spelling (`X-Shopify-Topic`). Read from the WSGI environ once:
    `request.headers` reads the whole environ again on every lookup and every iteration."""
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith(("HTTP_X_", "HTTP_CONTENT_"))
        and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


def _verify(services, channel: Channel, headers: dict, body: bytes) -> WebhookDelivery:
    return services.storefront(channel, for_verification=True).verify_webhook(headers, body)


def _services():
    return current_app.extensions["backorder"]


class ChannelDirectory:
    """Channel rows as the intake last read them, kept for a few seconds per process.

    A burst of deliveries for one store costs one lookup, not one each. The price: a disconnect or a new
    webhook secret reaches the intake up to SNAPSHOT_SECONDS later (a delivery in that window is still
    verified with the secret it was signed with, and the worker re-reads the channel before acting)."""

    SNAPSHOT_SECONDS = 5.0
    MAX_ENTRIES = 10_000

    def __init__(self, services):
        self._services = services
        self._rows: dict[tuple, tuple[float, Channel]] = {}
        self._lock = threading.Lock()

    def find(self, key: tuple, load, *, fresh: bool = False) -> Channel | None:
        """The channel for `key`, from a snapshot younger than SNAPSHOT_SECONDS unless `fresh`."""
        now = time.monotonic()
        with self._lock:
            kept = self._rows.get(key)
        if kept is not None and kept[0] > now and not fresh:
            return kept[1]
        with self._services.uow().reading() as uow:  # on SQLite: no wait for the writers' turn
            channel = load(uow)
        if channel is not None:  # unknown stores are not remembered: made-up names cannot fill memory
            with self._lock:
                if len(self._rows) >= self.MAX_ENTRIES:
                    self._rows.clear()
                self._rows[key] = (now + self.SNAPSHOT_SECONDS, channel)
        return channel


def _directory() -> ChannelDirectory:
    directory = current_app.extensions.get("backorder_channels")
    if directory is None:
        directory = current_app.extensions.setdefault("backorder_channels", ChannelDirectory(_services()))
    return directory
