"""Shopify's mandatory compliance webhooks: customers/data_request, customers/redact, shop/redact.

Shopify sends them to the compliance URL of the app's configuration (`shopify.app.toml`), signed like
every webhook (`X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body with the app's secret); a
missing or wrong signature must get 401. They arrive whether or not the app is still installed
(shop/redact comes 48 hours after an uninstall), so they are carried out here at once rather than
through the inbox, whose worker only serves active channels.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from adapters.base import ComplianceRequest
from adapters.errors import WebhookRejected
from adapters.shopify import webhooks as shopify_webhooks
from connector.crypto import Vault
from connector.models import Channel, utcnow
from connector.services import lifecycle
from connector.services.channels import SHOP_DOMAIN
from connector.storefronts import webhook_secrets
from connector.web.problems import error_response

bp = Blueprint("compliance", __name__)
log = logging.getLogger(__name__)
TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


@bp.post("/webhooks/shopify/compliance")
def shopify_compliance() -> Response:
    services = current_app.extensions["backorder"]
    body = request.get_data(cache=False)
    shop = (request.headers.get(shopify_webhooks.SHOP_HEADER) or "").strip().lower()
    channel = _channel(services, shop)
    try:
        delivery = shopify_webhooks.verify(_secret(services, channel), dict(request.headers), body)
        if delivery.topic not in TOPICS:
            raise WebhookRejected(f"{delivery.topic} is not a compliance topic", status=400)
        [event] = shopify_webhooks.parse(delivery, shop=shop, location_id=None)
        if not isinstance(event, ComplianceRequest) or not SHOP_DOMAIN.match(event.shop):
            raise WebhookRejected("the request names no myshopify.com shop", status=400)
        if shop and event.shop != shop:
            raise WebhookRejected("the body and the shop header name different shops", status=400)
    except WebhookRejected as rejected:
        log.warning("compliance webhook refused (%s): %s", rejected.status, rejected)
        return error_response(rejected.status, str(rejected))
    with services.uow() as uow:
        channel = uow.session.scalar(
            select(Channel).where(Channel.kind == "shopify", Channel.address == event.shop)
        )
        summary = lifecycle.compliance_request(uow, channel, event, now=utcnow())
        uow.commit()
    log.info("compliance webhook for %s: %s", event.shop, summary)
    return jsonify(accepted=True)


def _channel(services, shop: str) -> Channel | None:
    if not SHOP_DOMAIN.match(shop):
        return None
    with services.uow() as uow:
        return uow.session.scalar(select(Channel).where(Channel.kind == "shopify", Channel.address == shop))


def _secret(services, channel: Channel | None) -> str | None:
    """The app's secret; a store connected by hand with its own webhook secret signs with that."""
    if services.settings.shopify_api_secret:
        return services.settings.shopify_api_secret
    if channel is None or not channel.webhook_secret_encrypted:
        return None
    secret, _ = webhook_secrets(channel, Vault(services.settings.encryption_keys))
    return secret
