"""WooCommerce webhooks: subscribing, verifying a delivery over its raw bytes, and reading it into events.

A delivery is a JSON POST of the resource as `wc/v3` shows it (a deleted one is just `{"id": N}`) with
`X-WC-Webhook-Topic`, `-Resource`, `-Event`, `-ID` (the webhook's id), `-Delivery-ID`, `-Source` and
`-Signature`: base64 of HMAC-SHA256 over the raw body with that webhook's secret. When a webhook is
created, WooCommerce first posts an unsigned form body `webhook_id=N` and wants exactly 200 back (anything
else leaves the webhook pending and the ping repeated). The delivery id is a hash of the webhook id and
the current second, so it is not unique; the dedupe key uses the resource's id and modification time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import (
    Event,
    Ignored,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    ProductChanged,
    StockChanged,
    WebhookDelivery,
)
from adapters.errors import WebhookRejected

from .mapping import VARIABLE_TYPES, order_info, utc, webhook_product_entry

# order.restored, product.created and product.deleted exist too; these four are what the connector acts on.
TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
PING_TOPIC = "ping"
_PING_BODY = re.compile(rb"webhook_id=(\d+)")


@dataclass(frozen=True)
class Subscription:
    """A webhook on the store: its id, topic, and the secret it signs with (never logged)."""

    webhook_id: str
    topic: str
    secret: str

    def __repr__(self) -> str:
        return f"Subscription(webhook_id={self.webhook_id!r}, topic={self.topic!r}, secret=[redacted])"


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(headers: Mapping[str, str], body: bytes, secrets: Iterable[str]) -> WebhookDelivery:
    """Check the signature against each candidate secret in constant time; the unsigned ping passes as
    topic "ping" so the route can answer it 200 and do nothing else."""
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get("x-wc-webhook-signature", "")
    if not given:
        ping = _PING_BODY.fullmatch(body.strip())
        if ping and "x-wc-webhook-topic" not in lowered:
            webhook_id = ping.group(1).decode()
            return WebhookDelivery(PING_TOPIC, f"woocommerce:ping:{webhook_id}", body, dict(headers))
        raise WebhookRejected("missing X-WC-Webhook-Signature", status=401)
    candidates = [s for s in secrets if s]
    if not candidates:
        raise WebhookRejected("no secret is known for this webhook; register the webhooks again", status=401)
    given_bytes = given.strip().encode("utf-8", "replace")
    if not any(hmac.compare_digest(signature(s, body).encode(), given_bytes) for s in candidates):
        raise WebhookRejected("bad X-WC-Webhook-Signature", status=401)
    topic = lowered.get("x-wc-webhook-topic", "").strip()
    if not topic:
        raise WebhookRejected("signed delivery without X-WC-Webhook-Topic", status=400)
    return WebhookDelivery(topic, _dedupe_key(lowered, topic, body), body, dict(headers))


def _dedupe_key(headers: Mapping[str, str], topic: str, body: bytes) -> str:
    resource = _json_object(body, require_id=False)
    webhook_id = headers.get("x-wc-webhook-id", "")
    resource_id = resource.get("id", "")
    # A deleted resource has no modification time; its delivery id (webhook id + second) stands in.
    version = (
        resource.get("date_modified_gmt")
        or resource.get("date_modified")
        or headers.get("x-wc-webhook-delivery-id", "")
    )
    # date_modified has one-second resolution: two changes in one second differ only in their bodies.
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"woocommerce:{webhook_id}:{topic}:{resource_id}:{version}:{digest}"


def parse(delivery: WebhookDelivery) -> list[Event]:
    """Platform-neutral events for a verified delivery; topics we do not use are Ignored."""
    if delivery.topic == PING_TOPIC:
        return [Ignored("webhook creation ping")]
    resource = _json_object(delivery.body)
    try:
        if delivery.topic in ("order.created", "order.updated"):
            return [_order_event(delivery.topic, resource)]
        if delivery.topic == "order.deleted":
            return [Ignored(f"order {resource.get('id')} moved to the trash (the port has no event for it)")]
        if delivery.topic == "product.updated":
            return _product_events(resource)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRejected(
            f"malformed {delivery.topic} body: {type(exc).__name__}: {exc}", status=400
        ) from None
    return [Ignored(f"topic {delivery.topic} is not used")]


def _order_event(topic: str, order: Mapping[str, Any]) -> Event:
    info = order_info(order)
    if topic == "order.created":
        return OrderPlaced(info)
    if info.cancelled:
        # WooCommerce puts stock back itself on "cancelled" (when it had reduced it); "refunded" does not.
        return OrderCancelled(info, restock=order.get("status") == "cancelled")
    return OrderUpdated(info)


def _product_events(product: Mapping[str, Any]) -> list[Event]:
    if product.get("type") in VARIABLE_TYPES:
        return [Ignored(f"variable product {product['id']}: each variation is delivered on its own")]
    entry = webhook_product_entry(product)
    events: list[Event] = []
    if entry.quantity is not None:
        events.append(StockChanged(entry.ref, entry.quantity, utc(product.get("date_modified_gmt"))))
    events.append(ProductChanged((entry,)))
    return events


def _json_object(body: bytes, *, require_id: bool = True) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected("body is not JSON", status=400) from None
    if not isinstance(data, dict) or (require_id and "id" not in data):
        raise WebhookRejected("body is not a WooCommerce resource", status=400)
    return data
