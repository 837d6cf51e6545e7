"""Subscribing a store to our webhook route: one webhook per topic, each with its own secret.

Re-running is safe: a webhook that already points at the same delivery URL and topic gets a fresh secret
and is re-activated (WooCommerce disables one after repeated failures) instead of being duplicated; extra
copies are deleted. The store never shows a secret back, which is why an existing one is rotated.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from adapters.errors import OutcomeUnknown

from .paging import every_entry
from .transport import Transport
from .webhooks import TOPICS, Subscription

log = logging.getLogger("adapters.woocommerce")


def register(transport: Transport, delivery_url: str) -> list[Subscription]:
    ours = [w for w in _all_webhooks(transport) if w.get("delivery_url") == delivery_url]
    subscriptions = []
    for topic in TOPICS:
        secret = secrets.token_urlsafe(32)  # URL-safe: WooCommerce HTML-decodes secrets before signing
        same = [w for w in ours if w.get("topic") == topic]
        if same:
            webhook_id = str(same[0]["id"])
            body = {"secret": secret, "status": "active"}
            transport.write("PUT", f"webhooks/{webhook_id}", body, idempotent=True)
            for extra in same[1:]:
                transport.write(
                    "DELETE", f"webhooks/{extra['id']}", None, idempotent=True, params={"force": "true"}
                )
        else:
            webhook_id = _create(transport, delivery_url, topic, secret)
        subscriptions.append(Subscription(webhook_id, topic, secret))
    log.info("%s: %d webhooks point at our route", transport.channel, len(subscriptions))
    return subscriptions


def _create(transport: Transport, delivery_url: str, topic: str, secret: str) -> str:
    """POST webhooks (WooCommerce pings the URL before it answers); after a timeout, look before re-sending."""
    body = {
        "name": f"Backorder Connector: {topic}",
        "topic": topic,
        "delivery_url": delivery_url,
        "secret": secret,
        "status": "active",
    }
    try:
        return str(transport.write("POST", "webhooks", body, idempotent=False).data["id"])
    except OutcomeUnknown:
        for webhook in _all_webhooks(transport):
            if webhook.get("delivery_url") == delivery_url and webhook.get("topic") == topic:
                return str(webhook["id"])  # ours: any older one was found before creating
        return str(transport.write("POST", "webhooks", body, idempotent=False).data["id"])


def _all_webhooks(transport: Transport) -> list[Mapping[str, Any]]:
    return list(every_entry(transport, "webhooks"))
