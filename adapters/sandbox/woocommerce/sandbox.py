"""`WooCommerceSandbox`: one in-memory WooCommerce store with its REST API, webhooks and `wc-auth`,
plus the helpers tests and the demo use to stock it and to shop in it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.sandbox.common import CallCounter, Faults, WebhookSender
from connector.domain.catalog import ItemDraft

from . import orders as order_flows
from .app import StoreApp
from .auth import KeyRing
from .serialize import Urls, coupon_json, order_json, product_json, variation_json
from .store import Event, Store
from .webhooks import Webhook, Webhooks
from .wp import WPError

DEFAULT_ADDRESS = "http://127.0.0.1"


class CheckoutRefused(Exception):
    """The storefront's cart refused the order (e.g. not enough stock and backorders off)."""

    def __init__(self, error: WPError):
        super().__init__(f"{error.code}: {error.message}")
        self.code = error.code
        self.message = error.message
        self.status = error.status


class WooCommerceSandbox:
    """A stand-in WooCommerce store. Serve `wsgi_app` (see `adapters.sandbox.server`); with
    `consumer_key`/`consumer_secret` only that pair (and pairs issued through `wc-auth`) is accepted,
    otherwise any non-empty key. `webhook_secret` signs webhooks created without a secret of their
    own (WooCommerce would make up a random one)."""

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        faults: Faults | None = None,
        store_url: str | None = None,
        webhook_secret: str | None = None,
    ):
        self.faults = faults or Faults()
        self.calls = CallCounter()
        self.keys = KeyRing(consumer_key, consumer_secret)
        self.store = Store()
        self._address = store_url.rstrip("/") if store_url else None
        # WooCommerce sends each webhook delivery once; a failure only counts towards disabling it.
        # Deliveries are Action Scheduler jobs, run by more than one queue runner at a time (the
        # WP-Cron runner and the async request runners), so several can be in flight.
        self.sender = WebhookSender(self.faults, max_attempts=1, concurrency=4)
        self.webhooks = Webhooks(
            self.sender, self._render, lambda: self.address, default_secret=webhook_secret
        )
        self.wsgi_app = StoreApp(self)

    # -- address ------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The site address (`home_url`): `store_url`, else the first address a request came to."""
        return self._address or DEFAULT_ADDRESS

    def remember_address(self, host_url: str) -> None:
        if self._address is None:
            self._address = host_url.rstrip("/")

    # -- stocking the store -------------------------------------------------------------------------

    def seed(self, drafts: Iterable[ItemDraft]) -> list[int]:
        """Create products from catalogue rows: rows with options become variations of one variable
        product per title, the others simple products; every one manages its stock. Returns the ids of
        the products created (parents, not variations). Seeding sends no webhooks."""
        drafts = list(drafts)
        created: list[int] = []
        with self.store.transaction():
            groups: dict[str, list[ItemDraft]] = {}
            for draft in drafts:
                if draft.options:
                    groups.setdefault(draft.title, []).append(draft)
                else:
                    created.append(self.store.create_product(self._product_fields(draft, "simple")).id)
            for title, rows in groups.items():
                created.append(self._seed_variable(title, rows))
        return created

    def _product_fields(self, draft: ItemDraft, kind: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"name": draft.title or draft.sku, "type": kind}
        if draft.product_type:
            fields["categories"] = [{"id": self.store.term("category", draft.product_type)}]
        if draft.tags:
            fields["tags"] = [{"id": self.store.term("tag", tag)} for tag in draft.tags]
        if kind == "simple":
            fields.update(self._stock_fields(draft))
        return fields

    @staticmethod
    def _stock_fields(draft: ItemDraft) -> dict[str, Any]:
        return {
            "sku": draft.sku,
            "regular_price": "" if draft.price is None else str(draft.price),
            "manage_stock": True,
            "stock_quantity": draft.on_hand,
            "backorders": "no",
        }

    def _seed_variable(self, title: str, rows: list[ItemDraft]) -> int:
        names: dict[str, list[str]] = {}
        for row in rows:
            for name, value in row.options.items():
                if value not in names.setdefault(name, []):
                    names[name].append(value)
        fields = self._product_fields(rows[0], "variable")
        fields["name"] = title or rows[0].sku
        fields["attributes"] = [
            {"name": name, "position": i, "visible": True, "variation": True, "options": values}
            for i, (name, values) in enumerate(names.items())
        ]
        parent = self.store.create_product(fields)
        for row in rows:
            attributes = [{"name": k, "option": v} for k, v in row.options.items()]
            self.store.create_variation(parent.id, {**self._stock_fields(row), "attributes": attributes})
        return parent.id

    # -- helpers for tests and the demo -------------------------------------------------------------

    def product_by_sku(self, sku: str) -> dict[str, Any] | None:
        """The product or variation with `sku` as its own REST endpoint shows it, or None."""
        with self.store.lock:
            product = self.store.by_sku(sku)
            if product is None:
                return None
            urls = Urls(self.address)
            if product.is_variation:
                return variation_json(self.store, product, urls)
            return product_json(self.store, product, urls)

    def place_order(
        self,
        lines: Iterable[tuple[str, int]] | Iterable[dict[str, Any]],
        *,
        email: str = "customer@example.com",
        set_paid: bool = True,
        checkout: bool = True,
        payment_method: str = "woocommerce_payments",
        **fields: Any,
    ) -> dict[str, Any]:
        """Order like a customer: `lines` are (sku, quantity) pairs or REST line items. Goes through the
        same code as `POST orders`; with `checkout` (the default) the cart's stock rules apply, so an
        order beyond stock with backorders off raises CheckoutRefused, and a `notify` product short of
        stock gets the `Backordered` line meta. Webhooks go out as for any order."""
        items = [
            {"sku": line[0], "quantity": line[1]} if isinstance(line, tuple) else dict(line) for line in lines
        ]
        payload = {
            "line_items": items,
            "billing": {"email": email},
            "set_paid": set_paid,
            "payment_method": payment_method,
            **fields,
        }
        try:
            with self.store.transaction() as transaction:
                order = order_flows.create_order(self.store, payload, checkout=checkout)
                body = order_json(self.store, order, Urls(self.address))
        except WPError as error:
            raise CheckoutRefused(error) from None
        self.webhooks.deliver(transaction.events)
        return body

    @property
    def coupons(self) -> list[dict[str, Any]]:
        """Every coupon as `GET coupons/<id>` shows it."""
        with self.store.lock:
            urls = Urls(self.address)
            return [coupon_json(c, urls) for c in self.store.coupons.values()]

    def add_webhook(self, topic: str, delivery_url: str, *, secret: str | None = None) -> Webhook:
        """Subscribe as `POST webhooks` would (the ping included)."""
        return self.webhooks.create({"topic": topic, "delivery_url": delivery_url, "secret": secret})

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery has been attempted."""
        return self.sender.flush(timeout)

    @property
    def emails(self) -> list[tuple[str, str]]:
        return list(self.store.emails)

    # -- webhook bodies -----------------------------------------------------------------------------

    def _render(self, event: Event) -> dict[str, Any] | None:
        """The body of a delivery: the resource as `wc/v3` shows it (a variation through the products
        endpoint, as WooCommerce builds `product.*` payloads), taken when the delivery is queued."""
        with self.store.lock:
            urls = Urls(self.address)
            if event.resource == "product":
                product = self.store.product(event.resource_id)
                return None if product is None else product_json(self.store, product, urls)
            if event.resource == "order":
                order = self.store.orders.get(event.resource_id)
                return None if order is None else order_json(self.store, order, urls)
        return None
