"""Webhook intake: verify over the raw bytes, store once in the inbox, answer at once.

Processing happens in the worker. Duplicates answer 200 and are not stored again. Routes never
redirect (WooCommerce counts a redirect as delivered and the body would be lost).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from adapters.base import WebhookDelivery
from adapters.errors import WebhookRejected
from connector.models import Channel
from connector.services import inbox
from connector.web.problems import error_response

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
SHOP_HEADER = "X-Shopify-Shop-Domain"


@bp.post("/webhooks/shopify")
def shopify() -> Response:
    shop = (request.headers.get(SHOP_HEADER) or "").strip().lower()
    if not shop:
        return error_response(401, f"missing {SHOP_HEADER}")
    with _services().uow() as uow:
        channel = uow.session.scalar(
            select(Channel).where(Channel.kind == "shopify", Channel.address == shop)
        )
    if channel is None:
        return error_response(401, "no channel is connected for this shop")
    return _intake(channel)


@bp.post("/webhooks/woocommerce/<int:channel_id>")
def woocommerce(channel_id: int) -> Response:
    with _services().uow() as uow:
        channel = uow.session.get(Channel, channel_id)
    if channel is None or channel.kind != "woocommerce":
        return error_response(404, f"no WooCommerce channel {channel_id}")
    return _intake(channel)


def _intake(channel: Channel) -> Response:
    services = _services()
    body = request.get_data(cache=False)
    try:
        port = services.storefront(channel, for_verification=True)
        delivery: WebhookDelivery = port.verify_webhook(dict(request.headers), body)
    except WebhookRejected as rejected:
        log.warning("webhook for channel %s refused (%s): %s", channel.id, rejected.status, rejected)
        return error_response(rejected.status, str(rejected))
    if delivery.topic == "ping":
        return Response("", status=200)
    status = "received" if channel.status == "active" else "ignored"
    stored = inbox.record(services.uow(), channel, delivery, status=status)
    if stored and status == "received":
        services.wake_worker()
    return jsonify(accepted=True, duplicate=not stored)


def _services():
    return current_app.extensions["backorder"]
