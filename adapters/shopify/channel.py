"""The Shopify storefront behind the `Channel` port, over the Admin GraphQL API at a pinned version."""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import requests

from adapters.base import (
    BackorderState,
    CancelRequest,
    CancelResult,
    CatalogPage,
    DiscountCode,
    DiscountCodeRequest,
    Event,
    ListingRef,
    OrderInfo,
    Outcome,
    QuantityUpdate,
    SubstituteList,
    WebhookDelivery,
)
from adapters.errors import NotFoundOnChannel, NotSupportedByChannel, OutcomeUnknown, RejectedByChannel
from adapters.shopify import discounts, documents, inventory, webhooks
from adapters.shopify.catalog import available_quantity, entry_from_variant
from adapters.shopify.ids import gid
from adapters.shopify.listing import ListingWriter
from adapters.shopify.orders import cancel_reason, order_from_graphql
from adapters.shopify.transport import GraphQLTransport

DEFAULT_API_VERSION = "2026-10"
API_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")  # Shopify releases quarterly
WEBHOOK_TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "INVENTORY_LEVELS_UPDATE",
    "PRODUCTS_UPDATE",
    "APP_UNINSTALLED",
)  # the compliance topics are subscribed in the app's configuration, not through the API
WEBHOOK_PATH = "/webhooks/shopify"


class ShopifyChannel:
    """One Shopify store: its own HTTP session, cost bucket and stock location."""

    max_quantity_batch = 250  # inventorySetQuantities takes at most 250 quantities a call
    max_state_batch = 100
    catalog_page_size = 100  # about 600 requested cost points a page; see graphql/catalog_page.graphql
    quantities_per_read = 100

    def __init__(
        self,
        shop: str,
        token: str,
        *,
        session: requests.Session | None = None,
        api_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        location_id: str | None = None,
        webhook_secret: str | None = None,
        timeouts: tuple[float, float] = (5, 30),
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | type[random.Random] = random.Random,
    ):
        if not API_VERSION.match(api_version):
            raise ValueError(f"{api_version!r} is not a Shopify API version (like {DEFAULT_API_VERSION})")
        self.shop = shop
        self.name = f"shopify:{shop}"
        self.api_version = api_version
        self._location_id = gid("Location", location_id) if location_id else None
        self._webhook_secret = webhook_secret
        base = (api_url or f"https://{shop}").rstrip("/")
        self._transport = GraphQLTransport(
            endpoint=f"{base}/admin/api/{api_version}/graphql.json",
            token=token,
            session=session or requests.Session(),
            timeouts=timeouts,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
            rng=rng() if isinstance(rng, type) else rng,
            channel=self.name,
        )
        self._listing = ListingWriter(self._transport)

    def __repr__(self) -> str:
        return f"ShopifyChannel({self.shop!r}, api_version={self.api_version!r})"

    @property
    def location_id(self) -> str:
        """The location whose stock we keep: the one configured, else the shop's primary location."""
        if self._location_id is None:
            location = self._run("primary_location")["location"]
            if not location:
                raise NotFoundOnChannel("the shop has no primary location", channel=self.name)
            self._location_id = location["id"]
        return self._location_id

    # Catalogue and stock

    def read_catalog(self, cursor: str | None = None) -> CatalogPage:
        """One page of variants; pass `next_cursor` back for the next one."""
        variables = {"first": self.catalog_page_size, "after": cursor, "locationId": self.location_id}
        connection = self._run("catalog_page", variables)["productVariants"]
        page_info = connection["pageInfo"]
        return CatalogPage(
            entries=[entry_from_variant(node) for node in connection["nodes"]],
            next_cursor=page_info["endCursor"] if page_info["hasNextPage"] else None,
        )

    def read_quantities(self, refs: Sequence[ListingRef]) -> dict[ListingRef, int | None]:
        """Available quantities at our location; None for an untracked or unknown item."""
        found: dict[str, int | None] = {}
        ids = list(dict.fromkeys(ref.inventory_item_id or ref.variant_id for ref in refs))
        for start in range(0, len(ids), self.quantities_per_read):
            chunk = ids[start : start + self.quantities_per_read]
            nodes = self._run("inventory_quantities", {"ids": chunk, "locationId": self.location_id})["nodes"]
            for asked, node in zip(chunk, nodes, strict=True):
                item = (node or {}).get("inventoryItem", node)  # a variant carries its inventory item
                found[asked] = available_quantity(item)
        return {ref: found.get(ref.inventory_item_id or ref.variant_id) for ref in refs}

    def set_quantities(self, updates: Sequence[QuantityUpdate], *, idempotency_key: str) -> list[Outcome]:
        """Absolute available quantities, compare-and-set against `expected`, one outcome per update."""
        outcomes: list[Outcome | None] = [None] * len(updates)
        last_for_item = {u.ref.inventory_item_id: i for i, u in enumerate(updates) if u.ref.inventory_item_id}
        for i, update in enumerate(updates):
            if not update.ref.inventory_item_id:
                outcomes[i] = Outcome(
                    update.ref, "failed", reason="no inventory item id: import the catalogue again"
                )
            elif last_for_item[update.ref.inventory_item_id] != i:
                # Shopify refuses a call naming one item twice; the later update is the one that counts.
                outcomes[i] = Outcome(
                    update.ref, "failed", reason="superseded by a later update in this batch"
                )
        todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
        chunks = [todo[s : s + self.max_quantity_batch] for s in range(0, len(todo), self.max_quantity_batch)]
        for number, chunk in enumerate(chunks):
            key = idempotency_key if len(chunks) == 1 else f"{idempotency_key}:{number}"
            results = inventory.push_chunk(
                self._transport,
                self.location_id,
                [updates[i] for i in chunk],
                key=key,
                reread=self.read_quantities,
            )
            for i, outcome in zip(chunk, results, strict=True):
                outcomes[i] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def set_backorder_states(self, states: Sequence[BackorderState]) -> list[Outcome]:
        """Policy at zero (allow → CONTINUE, deny → DENY, or `restore_policy`), wait text and date."""
        return self._listing.set_backorder_states(states)

    def set_substitutes(self, lists: Sequence[SubstituteList]) -> list[Outcome]:
        """A `list.product_reference` metafield of substitute products on each product."""
        return self._listing.set_substitutes(lists)

    # Orders

    def read_order(self, order_id: str) -> OrderInfo:
        """The order with all its lines; a GID or a REST number."""
        order_id = gid("Order", order_id)
        lines: list[dict[str, Any]] = []
        after = None
        while True:
            order = self._run("order_read", {"id": order_id, "linesAfter": after})["order"]
            if order is None:
                raise NotFoundOnChannel(f"order {order_id} does not exist", channel=self.name)
            connection = order["lineItems"]
            lines += connection["nodes"]
            if not connection["pageInfo"]["hasNextPage"]:
                return order_from_graphql(order, lines)
            after = connection["pageInfo"]["endCursor"]

    def cancel(self, request: CancelRequest) -> CancelResult:
        """The whole order with `orderCancel` (`lines` empty), or some lines with `refundCreate`."""
        order_id = gid("Order", request.order_id)
        return (
            self._refund_lines(order_id, request) if request.lines else self._cancel_order(order_id, request)
        )

    def _cancel_order(self, order_id: str, request: CancelRequest) -> CancelResult:
        summary = self._order_summary(order_id)
        if summary["cancelledAt"]:
            # Sending it again after an unknown outcome lands here instead of failing.
            return CancelResult(order_id, True, Decimal(0), storefront_reference="already cancelled")
        variables = {
            "orderId": order_id,
            "reason": cancel_reason(request.reason),
            "refund": request.refund,
            "restock": request.restock,
            "notifyCustomer": request.notify,
            "staffNote": request.note or None,
        }
        result = self._run("order_cancel", variables)["orderCancel"]
        self._raise_user_errors(result.get("orderCancelUserErrors"), f"cancel {order_id}")
        # Shopify cancels in a background job; a full refund pays back the net payment as it is now.
        net_payment = Decimal(summary["netPaymentSet"]["shopMoney"]["amount"])
        job = result.get("job") or {}
        return CancelResult(order_id, True, net_payment if request.refund else Decimal(0), job.get("id", ""))

    def _refund_lines(self, order_id: str, request: CancelRequest) -> CancelResult:
        # Waiting lines are unfulfilled, and Shopify restocks unfulfilled lines with CANCEL (RETURN is
        # for fulfilled ones).
        restock = (
            {"restockType": "CANCEL", "locationId": self.location_id}
            if request.restock
            else {"restockType": "NO_RESTOCK"}
        )
        refund_lines = [
            {"lineItemId": gid("LineItem", line.line_id), "quantity": line.quantity, **restock}
            for line in request.lines
        ]
        refund_input: dict[str, Any] = {
            "orderId": order_id,
            "notify": request.notify,
            "note": request.note or None,
            "refundLineItems": refund_lines,
            "transactions": [],
        }
        # The caller's key names this cancellation across its attempts, so a retry after an unknown
        # outcome is answered with the first refund (or refused as a mismatch if the suggested amounts
        # moved meanwhile): never a second refund. A key derived from the lines instead would make two
        # separate cancellations of the same units one refund. Without a key, each call is its own refund.
        key = request.idempotency_key or f"refund-{uuid.uuid4().hex}"
        if request.refund:
            refund_input.update(self._refund_transactions(order_id, refund_lines))
        result = self._run("refund_create", {"input": refund_input}, idempotency_key=key)["refundCreate"]
        self._raise_user_errors(result.get("userErrors"), f"refund lines of {order_id}")
        refund = result.get("refund") or {}
        total = ((refund.get("totalRefundedSet") or {}).get("presentmentMoney") or {}).get("amount")
        refunded = (
            Decimal(total)
            if total is not None
            else sum((Decimal(t["amount"]) for t in refund_input["transactions"]), Decimal(0))
        )
        return CancelResult(order_id, False, refunded, refund.get("id", ""))

    def _refund_transactions(self, order_id: str, refund_lines: list[dict[str, Any]]) -> dict[str, Any]:
        """Money back for these lines as Shopify suggests it: REFUND transactions against the payments."""
        order = self._run("suggested_refund", {"id": order_id, "refundLineItems": refund_lines})["order"]
        if order is None:
            raise NotFoundOnChannel(f"order {order_id} does not exist", channel=self.name)
        transactions, currency = [], None
        for suggested in (order.get("suggestedRefund") or {}).get("suggestedTransactions") or []:
            money = suggested["amountSet"]["presentmentMoney"]
            if Decimal(money["amount"]) <= 0:
                continue
            transaction = {
                "orderId": order_id,
                "gateway": suggested.get("gateway"),
                "kind": "REFUND",
                "amount": money["amount"],
            }
            if suggested.get("parentTransaction"):
                transaction["parentId"] = suggested["parentTransaction"]["id"]
            transactions.append(transaction)
            currency = money["currencyCode"]
        # Amounts are in the customer's (presentment) currency, which Shopify then needs named.
        return {"transactions": transactions, **({"currency": currency} if currency else {})}

    def add_order_note(self, order_id: str, note: str, *, customer_visible: bool) -> None:
        """Append a line to the order's note.

        Shopify's order note is staff-only and it has no customer-visible note, so `customer_visible`
        raises NotSupportedByChannel rather than quietly writing where no customer will look: the
        caller tells the customer by its own email instead."""
        if customer_visible:
            raise NotSupportedByChannel(
                "Shopify has no customer-visible order note (the order note is staff-only); "
                "tell the customer by email instead",
                channel=self.name,
            )
        order_id = gid("Order", order_id)
        current = self._order_summary(order_id).get("note") or ""
        if note in current:
            return  # already there: a repeat after an unknown outcome adds nothing
        variables = {"input": {"id": order_id, "note": f"{current}\n{note}" if current else note}}
        result = self._run("order_update_note", variables)["orderUpdate"]
        self._raise_user_errors(result.get("userErrors"), f"note on {order_id}")

    def tag_order(self, order_id: str, tags: Sequence[str]) -> None:
        """Add tags (tags already there stay, so a repeat changes nothing)."""
        order_id = gid("Order", order_id)
        result = self._run("tags_add", {"id": order_id, "tags": list(tags)})["tagsAdd"]
        self._raise_user_errors(result.get("userErrors"), f"tag {order_id}")

    def create_discount_code(self, request: DiscountCodeRequest) -> DiscountCode:
        """A single-use amount-off code (`discountCodeBasicCreate`); the same code again is found, not
        made twice. Needs the `write_discounts` scope."""
        return discounts.create(self._transport, self._raise_user_errors, request)

    def _order_summary(self, order_id: str) -> dict[str, Any]:
        order = self._run("order_summary", {"id": order_id})["order"]
        if order is None:
            raise NotFoundOnChannel(f"order {order_id} does not exist", channel=self.name)
        return order

    # Webhooks

    def register_webhooks(self, address: str) -> list[str]:
        """Subscribe `{address}/webhooks/shopify` to our topics, skipping those already subscribed.

        A create whose outcome is unknown (a timeout or 5xx) is settled by listing again: the listing
        shows whether it happened, so the whole registration is repeated, a bounded number of times."""
        for attempt in range(3):
            try:
                return self._register_webhooks(address)
            except OutcomeUnknown:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _register_webhooks(self, address: str) -> list[str]:
        callback = address.rstrip("/") + WEBHOOK_PATH
        existing: dict[str, str] = {}
        after = None
        while True:
            connection = self._run("webhook_subscriptions", {"topics": list(WEBHOOK_TOPICS), "after": after})[
                "webhookSubscriptions"
            ]
            for node in connection["nodes"]:
                if (node.get("endpoint") or {}).get("callbackUrl") == callback:
                    existing.setdefault(node["topic"], node["id"])
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        ids = []
        for topic in WEBHOOK_TOPICS:
            if topic not in existing:
                variables = {
                    "topic": topic,
                    "webhookSubscription": {"callbackUrl": callback, "format": "JSON"},
                }
                result = self._run("webhook_subscription_create", variables)["webhookSubscriptionCreate"]
                self._raise_user_errors(result.get("userErrors"), f"subscribe {topic}")
                existing[topic] = result["webhookSubscription"]["id"]
            ids.append(existing[topic])
        return ids

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Check `X-Shopify-Hmac-Sha256` over the raw body with the app's client secret."""
        return webhooks.verify(self._webhook_secret, headers, body)

    def parse_webhook(self, delivery: WebhookDelivery) -> list[Event]:
        """Neutral events from a verified delivery; stock at another location than ours is ignored
        (when no location is configured every location's news is taken, since parsing reads nothing)."""
        return webhooks.parse(delivery, shop=self.shop, location_id=self._location_id)

    # Plumbing

    def _run(
        self, document: str, variables: Mapping[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return self._transport.execute(documents.load(document), variables, idempotency_key=idempotency_key)

    def _raise_user_errors(self, errors: list[dict[str, Any]] | None, what: str) -> None:
        if not errors:
            return
        message = f"{what}: " + "; ".join(str(e.get("message", "")) for e in errors)
        missing = any(
            e.get("code") == "NOT_FOUND"
            or "not exist" in str(e.get("message", "")).lower()
            or "not found" in str(e.get("message", "")).lower()
            for e in errors
        )
        raise (NotFoundOnChannel if missing else RejectedByChannel)(message, channel=self.name)
