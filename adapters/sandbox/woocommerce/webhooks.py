"""Webhooks as `WC_Webhook` runs them: an unsigned `webhook_id=N` ping on creation, JSON deliveries of
the resource signed with the webhook's own secret, one attempt per event (WooCommerce does not retry),
and automatic disabling after repeated failures.

The failure rule is `WC_Webhook::failed_delivery`: a failed delivery that finds the failure count above
`woocommerce_max_webhook_delivery_failures` (5) disables the webhook, otherwise it adds one to the
count; any success (2xx, 301, 302) resets it. So the seventh consecutive failure is the one that
disables, and a webhook set active again keeps its count."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from adapters.sandbox.common import Delivery, WebhookSender

from .store import Event
from .wp import WC_VERSION, WP_VERSION, WPError, missing_param, now, wp_date, wp_json

log = logging.getLogger("adapters.sandbox.woocommerce")

USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
MAX_DELIVERY_FAILURES = 5
STATUSES = ("active", "paused", "disabled")
TOPIC_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}


@dataclass
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    date_created: datetime
    date_modified: datetime
    failure_count: int = 0
    ping_status: int | str | None = None  # the ping's HTTP status, or the error that stopped it

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]

    @property
    def hooks(self) -> list[str]:
        return TOPIC_HOOKS.get(self.topic) or [self.event]

    def json(self, rest_url: Callable[[str], str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": self.resource,
            "event": self.event,
            "hooks": self.hooks,
            "delivery_url": self.delivery_url,
            "date_created": wp_date(self.date_created),
            "date_created_gmt": wp_date(self.date_created),
            "date_modified": wp_date(self.date_modified),
            "date_modified_gmt": wp_date(self.date_modified),
            "_links": {
                "self": [{"href": rest_url(f"webhooks/{self.id}")}],
                "collection": [{"href": rest_url("webhooks")}],
            },
        }


def signature(body: bytes, secret: str) -> str:
    """`WC_Webhook::generate_signature`: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def valid_topic(topic: Any) -> bool:
    if not isinstance(topic, str):
        return False
    if topic.startswith("action.") and len(topic) > len("action."):
        return True
    return topic.lower() in TOPIC_HOOKS


def valid_url(url: Any) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


class Webhooks:
    """The store's webhooks and their deliveries. `render(event)` gives the body of a delivery (the
    resource as the REST API shows it), or None when there is nothing left to send."""

    def __init__(
        self,
        sender: WebhookSender,
        render: Callable[[Event], dict[str, Any] | None],
        source_url: Callable[[], str],
        *,
        ping_timeout: float = 5.0,
        default_secret: str | None = None,
    ):
        self.sender = sender
        self.render = render
        self.source_url = source_url
        self.ping_timeout = ping_timeout
        self.default_secret = default_secret
        self.items: dict[int, Webhook] = {}
        self._lock = threading.RLock()
        self._ids = itertools.count(1)

    def create(self, payload: Mapping[str, Any]) -> Webhook:
        """`POST webhooks`: always created active; the ping's outcome does not stop the creation."""
        for name in ("topic", "delivery_url"):
            if payload.get(name) in (None, ""):
                raise missing_param(name)
        if payload.get("id"):
            raise WPError("woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400)
        if not valid_topic(payload["topic"]):
            raise WPError(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        if not valid_url(payload["delivery_url"]):
            raise _bad_url()
        moment = now()
        name = payload.get("name") or f"Webhook created on {moment:%b %d, %Y @ %I:%M %p}"
        with self._lock:
            webhook = Webhook(
                id=next(self._ids),
                name=str(name),
                status="active",
                topic=str(payload["topic"]).lower(),
                delivery_url=str(payload["delivery_url"]),
                secret=str(payload.get("secret") or self.default_secret or secrets.token_urlsafe(37)[:50]),
                date_created=moment,
                date_modified=moment,
            )
            self.items[webhook.id] = webhook
        self._ping(webhook)
        return webhook

    def get(self, webhook_id: int) -> Webhook:
        webhook = self.items.get(webhook_id)
        if webhook is None:
            raise WPError("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
        return webhook

    def listing(self, status: str) -> list[Webhook]:
        with self._lock:
            hooks = [w for w in self.items.values() if status in ("all", w.status)]
        return sorted(hooks, key=lambda w: (w.date_created, w.id), reverse=True)

    def update(self, webhook_id: int, payload: Mapping[str, Any]) -> Webhook:
        with self._lock:
            webhook = self.get(webhook_id)
            if payload.get("topic"):
                if not valid_topic(payload["topic"]):
                    raise WPError(
                        "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.", 400
                    )
                webhook.topic = str(payload["topic"]).lower()
            if payload.get("delivery_url"):
                if not valid_url(payload["delivery_url"]):
                    raise _bad_url()
                webhook.delivery_url = str(payload["delivery_url"])
            if payload.get("secret"):
                webhook.secret = str(payload["secret"])
            if payload.get("status"):
                if payload["status"] not in STATUSES:
                    raise WPError(
                        "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.", 400
                    )
                webhook.status = payload["status"]  # the failure count is kept, as WooCommerce keeps it
            if payload.get("name"):
                webhook.name = str(payload["name"])
            webhook.date_modified = now()
            return webhook

    def delete(self, webhook_id: int, *, force: bool) -> Webhook:
        if not force:
            raise WPError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        with self._lock:
            webhook = self.items.pop(webhook_id, None)
        if webhook is None:
            raise WPError("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        return webhook

    def deliver(self, events: list[Event]) -> None:
        """Queue one delivery per active webhook listening for each event, signed with its secret."""
        for event in events:
            topic = f"{event.resource}.{event.event}"
            with self._lock:
                listening = [w for w in self.items.values() if w.status == "active" and w.topic == topic]
            if not listening:
                continue
            payload = {"id": event.resource_id} if event.event == "deleted" else self.render(event)
            if payload is None:
                continue
            body = wp_json(payload)
            for webhook in listening:
                self.sender.send(self._delivery(webhook, body))

    def _delivery(self, webhook: Webhook, body: bytes) -> Delivery:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self.source_url().rstrip("/") + "/",
            "X-WC-Webhook-Topic": webhook.topic,
            "X-WC-Webhook-Resource": webhook.resource,
            "X-WC-Webhook-Event": webhook.event,
            "X-WC-Webhook-Signature": signature(body, webhook.secret),
            "X-WC-Webhook-ID": str(webhook.id),
            "X-WC-Webhook-Delivery-ID": secrets.token_hex(16),
        }
        return Delivery(webhook.delivery_url, headers, body, on_result=self._tracker(webhook.id))

    def _tracker(self, webhook_id: int) -> Callable[[bool], None]:
        def track(accepted: bool) -> None:
            with self._lock:
                webhook = self.items.get(webhook_id)
                if webhook is None:
                    return
                if accepted:
                    webhook.failure_count = 0
                elif webhook.failure_count > MAX_DELIVERY_FAILURES:
                    webhook.status = "disabled"
                    log.info("webhook %s disabled after repeated delivery failures", webhook_id)
                else:
                    webhook.failure_count += 1

        return track

    def _ping(self, webhook: Webhook) -> None:
        """`WC_Webhook::deliver_ping`: an unsigned form post; only an exact 200 counts as a pass."""
        try:
            response = requests.post(
                webhook.delivery_url,
                data=f"webhook_id={webhook.id}",
                headers={"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"},
                timeout=self.ping_timeout,
            )
            webhook.ping_status = response.status_code
        except requests.RequestException as error:
            webhook.ping_status = type(error).__name__
        if webhook.ping_status != 200:
            log.info("webhook %s ping was not answered with 200: %s", webhook.id, webhook.ping_status)


def _bad_url() -> WPError:
    return WPError(
        "woocommerce_rest_shop_webhook_invalid_delivery_url",
        "Webhook delivery URL must be a valid URL starting with http:// or https://.",
        400,
    )
