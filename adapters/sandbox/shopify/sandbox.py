"""ShopifySandbox: a Shopify store stand-in, wired together, with helpers for tests and the demo."""

from __future__ import annotations

import hmac
import secrets
import threading
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graphql import execute, parse

from connector.domain.catalog import ItemDraft

from ..common import CallCounter, Faults, WebhookSender
from . import payloads
from .app import create_app
from .cost import CostBucket
from .execution import GraphQLEndpoint, RequestContext
from .gids import gid
from .oauth import OAuthGrants
from .schema import sandbox_schema
from .store import Store
from .webhooks import WebhookPublisher

API_VERSIONS = ("2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10")

_ORDER_CREATE = parse(
    """
    mutation PlaceOrder($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
      orderCreate(order: $order, options: $options) {
        order { id name }
        userErrors { code field message }
      }
    }
    """
)
_SET_QUANTITY = parse(
    """
    mutation ExternalEdit($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) {
        userErrors { code field message }
      }
    }
    """
)


@dataclass(frozen=True)
class SeededVariant:
    sku: str
    product_id: str
    variant_id: str
    inventory_item_id: str


class ShopifySandbox:
    """One sandbox shop and app. `wsgi_app` serves it; the helpers read and change it the way a
    shopper or the merchant would, through the same code as the API."""

    def __init__(
        self,
        *,
        shop: str = "sandbox.myshopify.com",
        token: str | None = None,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a sandbox default, not a secret
        bucket_size: float = 1000,
        restore_rate: float = 50,
        faults: Faults | None = None,
        api_versions: Iterable[str] = API_VERSIONS,
        webhooks: WebhookSender | None = None,
    ):
        self.shop = shop
        self.token = token
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_versions = tuple(api_versions)
        self.faults = faults or Faults()
        self.app_id = zlib.crc32(client_id.encode())  # stable, so app--<id>--ns namespaces are too
        self.store = Store(domain=shop)
        self.bucket = CostBucket(bucket_size, restore_rate)
        self.calls = CallCounter()
        self.webhooks = webhooks or WebhookSender(self.faults, concurrency=4)
        self.publisher = WebhookPublisher(self.store, self.webhooks, client_secret)
        self.endpoint = GraphQLEndpoint(self.store, self.bucket, self.calls, self.app_id)
        self.oauth = OAuthGrants(shop, client_id, client_secret, self._issue_token)
        self._uninstalled = False
        self._tokens_lock = threading.Lock()
        self.wsgi_app = create_app(self)

    # Access tokens

    def accepts(self, token: str) -> bool:
        with self._tokens_lock:
            if self._uninstalled or not token:
                return False
            return self.token is None or hmac.compare_digest(token, self.token)

    def _issue_token(self) -> str:
        with self._tokens_lock:
            self._uninstalled = False
            return self.token or f"shpat_{secrets.token_hex(16)}"

    def uninstall(self) -> None:
        """The merchant removes the app: app/uninstalled goes out, then every token stops working."""
        with self.store.lock:
            self.store.emit("app/uninstalled", payloads.shop(self.store))
            events = self.store.drain()
        self.publisher.publish(events)
        with self._tokens_lock:
            self._uninstalled = True
        with self.store.lock:
            self.store.subscriptions.clear()

    # Catalogue and stock

    @property
    def location_id(self) -> str:
        return gid("Location", self.store.location.id)

    def seed(self, drafts: Iterable[ItemDraft]) -> list[SeededVariant]:
        with self.store.lock:
            added = self.store.seed(drafts)
            return [
                SeededVariant(
                    v.sku or "",
                    gid("Product", v.product_id),
                    gid("ProductVariant", v.id),
                    gid("InventoryItem", v.inventory_item_id),
                )
                for v in added
            ]

    def variant(self, sku: str) -> dict:
        """A snapshot of one variant: its GIDs, policy and quantities."""
        with self.store.lock:
            variant = self._variant(sku)
            level = self.store.level_of(variant)
            return {
                "sku": sku,
                "id": gid("ProductVariant", variant.id),
                "product_id": gid("Product", variant.product_id),
                "inventory_item_id": gid("InventoryItem", variant.inventory_item_id),
                "title": variant.title,
                "price": variant.price,
                "inventory_policy": variant.inventory_policy,
                "available": level.available,
                "on_hand": level.on_hand,
                "committed": level.committed,
                "metafields": {
                    f"{m.namespace}.{m.key}": m.value
                    for m in self.store.metafields.values()
                    if (m.owner_kind, m.owner_id) == ("ProductVariant", variant.id)
                },
            }

    def quantity(self, sku: str, name: str = "available") -> int:
        with self.store.lock:
            return self.store.level_of(self._variant(sku)).quantity(name)

    def set_available(self, sku: str, quantity: int) -> None:
        """The merchant edits stock in the Shopify admin (an external change, with its webhook)."""
        variant = self.variant(sku)
        self._execute(
            _SET_QUANTITY,
            {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "referenceDocumentUri": "gid://shopify/StaffMember/1",
                    "quantities": [
                        {
                            "inventoryItemId": variant["inventory_item_id"],
                            "locationId": self.location_id,
                            "quantity": quantity,
                            "changeFromQuantity": None,
                        }
                    ],
                },
                "key": str(uuid.uuid4()),
            },
        )

    def _variant(self, sku: str):
        variant = self.store.variant_by_sku(sku)
        if variant is None:
            raise KeyError(f"no variant with SKU {sku!r} in the sandbox shop")
        return variant

    # Orders

    def place_order(
        self,
        lines: Mapping[str, int] | Iterable[tuple[str, int]],
        *,
        inventory_behaviour: str = "DECREMENT_OBEYING_POLICY",
        email: str | None = "shopper@example.com",
    ) -> dict:
        """A shopper checks out: orderCreate with these SKUs and quantities. Returns
        {"order": {"id", "name"} or None, "userErrors": [...]}."""
        pairs = lines.items() if isinstance(lines, Mapping) else lines
        with self.store.lock:
            items = [
                {"variantId": gid("ProductVariant", self._variant(sku).id), "quantity": n} for sku, n in pairs
            ]
        data = self._execute(
            _ORDER_CREATE,
            {
                "order": {"lineItems": items, "email": email},
                "options": {"inventoryBehaviour": inventory_behaviour},
            },
        )
        return data["orderCreate"]

    @property
    def orders(self) -> list[dict]:
        """Every order as its orders/updated webhook body would show it now."""
        with self.store.lock:
            return [payloads.order(self.store, o) for o in self.store.orders.values()]

    @property
    def discount_codes(self) -> list[dict]:
        """Every code discount the shop has: code, title, value and limits, as the admin lists them."""
        with self.store.lock:
            return [
                {
                    "code": d.code,
                    "title": d.title,
                    "percentage": d.percentage,
                    "amount": d.amount,
                    "usage_limit": d.usage_limit,
                    "applies_once_per_customer": d.applies_once_per_customer,
                    "starts_at": d.starts_at,
                    "ends_at": d.ends_at,
                }
                for d in self.store.discounts.values()
            ]

    def _execute(self, document, variables: dict) -> dict:
        context = RequestContext(self.store, self.api_versions[-1], self.app_id)
        with self.store.lock:
            result = execute(sandbox_schema(), document, variable_values=variables, context_value=context)
            events = self.store.drain()
        self.publisher.publish(events)
        if result.errors:
            raise RuntimeError(f"sandbox helper failed: {result.errors[0].message}")
        return result.data
