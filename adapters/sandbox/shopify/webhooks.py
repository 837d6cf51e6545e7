"""Turning the shop's events into signed deliveries, headed as Shopify heads them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from ..common import Delivery, WebhookSender
from .store import Store


def signature(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of the HMAC-SHA256 of the raw body, keyed with the app's secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebhookPublisher:
    """One delivery per subscription to the event's topic. Every delivery of one event shares its
    X-Shopify-Event-Id; each delivery has its own X-Shopify-Webhook-Id, which retries and injected
    duplicates repeat, as Shopify's retries do."""

    def __init__(self, store: Store, sender: WebhookSender, secret: str):
        self.store = store
        self.sender = sender
        self.secret = secret

    def publish(self, events: list[tuple[str, dict]]) -> None:
        for topic, payload in events:
            with self.store.lock:
                subscriptions = self.store.subscribers(topic)
            if not subscriptions:
                continue
            body = json.dumps(payload, separators=(",", ":")).encode()
            event_id = str(uuid.uuid4())
            triggered_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            for subscription in subscriptions:
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "Shopify-Captain-Hook",
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Hmac-Sha256": signature(self.secret, body),
                    "X-Shopify-Shop-Domain": self.store.domain,
                    "X-Shopify-API-Version": subscription.api_version,
                    "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered_at,
                }
                self.sender.send(Delivery(subscription.callback_url, headers, body))
