"""Shopify webhooks: verify the signature over the raw body, then read the REST-shaped body into
platform-neutral events.

Shopify signs each delivery with `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body keyed
with the app's client secret. `X-Shopify-Event-Id` names the action (the same across retries and
subscriptions); `X-Shopify-Webhook-Id` names one delivery. Bodies are REST resources, so numeric ids
are turned into the GIDs that the GraphQL reads answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from requests.structures import CaseInsensitiveDict

from adapters.base import (
    AppUninstalled,
    ComplianceRequest,
    Event,
    Ignored,
    ListingRef,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    ProductChanged,
    StockChanged,
    WebhookDelivery,
)
from adapters.errors import WebhookRejected
from adapters.shopify.catalog import entries_from_rest_product
from adapters.shopify.ids import gid
from adapters.shopify.orders import order_from_rest, restocked_by_cancellation, timestamp

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
    """Check the signature in constant time; a missing or wrong one is a 401, a missing topic a 400."""
    lookup = CaseInsensitiveDict(headers)
    if not secret:
        raise WebhookRejected("this channel has no webhook secret to check signatures with", status=401)
    signature = (lookup.get(HMAC_HEADER) or "").strip()
    if not signature:
        raise WebhookRejected(f"missing {HMAC_HEADER}", status=401)
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise WebhookRejected(f"{HMAC_HEADER} does not match the body", status=401)
    topic = (lookup.get(TOPIC_HEADER) or "").strip().lower()
    if not topic:
        raise WebhookRejected(f"missing {TOPIC_HEADER}", status=400)
    dedupe_key = (
        lookup.get(EVENT_ID_HEADER)
        or lookup.get(WEBHOOK_ID_HEADER)
        or f"sha256:{hashlib.sha256(body).hexdigest()}"
    )
    return WebhookDelivery(topic=topic, dedupe_key=dedupe_key, body=body, headers=lookup)


def parse(delivery: WebhookDelivery, *, shop: str, location_id: str | None) -> list[Event]:
    """The events in a verified delivery; a body that is not a JSON object is a 400."""
    try:
        payload = json.loads(delivery.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(f"{delivery.topic}: the body is not JSON ({exc})", status=400) from exc
    if not isinstance(payload, dict):
        raise WebhookRejected(f"{delivery.topic}: the body is not a JSON object", status=400)
    reader = READERS.get(delivery.topic)
    if reader is None:
        return [Ignored(f"topic {delivery.topic} is not used")]
    shop = CaseInsensitiveDict(delivery.headers).get(SHOP_HEADER) or shop
    try:
        return [reader(payload, shop, location_id)]
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRejected(f"{delivery.topic}: the body lacks what we need ({exc!r})", status=400) from exc


def _stock_changed(payload: dict[str, Any], shop: str, location_id: str | None) -> Event:
    if location_id and gid("Location", payload["location_id"]) != location_id:
        return Ignored(f"stock changed at another location ({payload['location_id']})")
    if payload.get("available") is None:
        return Ignored("the inventory item is not tracked")
    # The body names only the inventory item; the ledger finds the listing by it.
    ref = ListingRef(
        product_id="", variant_id="", inventory_item_id=gid("InventoryItem", payload["inventory_item_id"])
    )
    return StockChanged(
        ref=ref, quantity=int(payload["available"]), updated_at=timestamp(payload.get("updated_at"))
    )


def _compliance(topic: str) -> Callable[[dict[str, Any], str, str | None], Event]:
    def read(payload: dict[str, Any], shop: str, location_id: str | None) -> Event:
        order_ids = payload.get("orders_requested") or payload.get("orders_to_redact") or []
        return ComplianceRequest(
            topic=topic,  # type: ignore[arg-type]
            shop=payload.get("shop_domain") or shop,
            customer_email=(payload.get("customer") or {}).get("email"),
            order_ids=tuple(gid("Order", order_id) for order_id in order_ids),
            payload=payload,
        )

    return read


READERS: dict[str, Callable[[dict[str, Any], str, str | None], Event]] = {
    "orders/create": lambda p, shop, loc: OrderPlaced(order_from_rest(p)),
    "orders/updated": lambda p, shop, loc: OrderUpdated(order_from_rest(p)),
    "orders/cancelled": lambda p, shop, loc: OrderCancelled(
        order_from_rest(p), restock=restocked_by_cancellation(p)
    ),
    "inventory_levels/update": _stock_changed,
    "products/update": lambda p, shop, loc: ProductChanged(entries_from_rest_product(p)),
    "app/uninstalled": lambda p, shop, loc: AppUninstalled(shop=p.get("myshopify_domain") or shop),
    "customers/data_request": _compliance("customers/data_request"),
    "customers/redact": _compliance("customers/redact"),
    "shop/redact": _compliance("shop/redact"),
}
