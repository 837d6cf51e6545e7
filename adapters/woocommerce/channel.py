"""The WooCommerce storefront behind the `Channel` port, over the REST API `wc/v3`."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import woocommerce

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
from adapters.errors import ChannelAuthFailed, ChannelError, ChannelThrottled

from . import coupons, orders, registration, webhooks
from .batch import MAX_BATCH, BatchItem, BatchWriter, OnTimeout
from .catalog import CatalogReader
from .mapping import order_info
from .transport import Transport

# Product meta for the storefront snippet. A leading underscore makes them "protected" in WordPress:
# hidden from the product's Custom Fields box (no accidental edits) and from themes that print every
# public custom field, yet readable by our snippet and returned by the REST API. Shoppers see only what
# the snippet renders.
WAIT_TEXT_KEY = "_backorder_wait_text"
EXPECTED_DATE_KEY = "_backorder_expected_date"
SUBSTITUTES_KEY = "_backorder_substitutes"
BACKORDER_VALUES = ("no", "notify", "yes")
DEFAULT_TIMEOUT = 30.0  # the package's own default is 5 s, too short for a batch of 100 on a busy store


class WooCommerceChannel:
    """One WooCommerce store. Batch calls answer one Outcome per item; channel-wide trouble raises.

    WooCommerce has no compare-and-set for stock: `QuantityUpdate.expected` is not checked, and a write
    can overwrite a sale that happened in between (the ledger's echo and reconcile rules catch that)."""

    max_quantity_batch = MAX_BATCH
    max_state_batch = MAX_BATCH

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        webhook_secret: str | None = None,
        webhook_secrets: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        query_string_auth: bool = False,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | Callable[[], random.Random] = random.Random,
        api: woocommerce.API | None = None,
    ):
        if api is None:
            api = woocommerce.API(
                url=url,
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                version="wc/v3",
                timeout=timeout,
                query_string_auth=query_string_auth,
            )
        self.name = f"woocommerce:{urlsplit(url).netloc or url}"
        self.webhook_secret = webhook_secret
        # Webhook id -> its secret; register_webhooks fills it, the connector stores it encrypted.
        self.webhook_secrets: dict[str, str] = dict(webhook_secrets or {})
        self.subscriptions: list[webhooks.Subscription] = []
        generator = rng if isinstance(rng, random.Random) else rng()
        self._transport = Transport(
            api, channel=self.name, max_retries=max_retries, sleep=sleep, rng=generator
        )
        self._catalog = CatalogReader(self._transport)
        self._batches = BatchWriter(self._transport)

    def __repr__(self) -> str:
        return f"WooCommerceChannel({self.name!r})"

    @property
    def uses_query_string_auth(self) -> bool:
        """True once the store was found to drop the Authorization header: worth saving with the channel."""
        return self._transport.uses_query_string_auth

    # Catalogue and stock

    def read_catalog(self, cursor: str | None = None) -> CatalogPage:
        """One page: the simple products of a products page, or one page of one product's variations."""
        return self._catalog.read(cursor)

    def read_quantities(self, refs: Sequence[ListingRef]) -> dict[ListingRef, int | None]:
        """Stock now on the store (None where it does not manage stock); unknown listings are left out."""
        return self._catalog.quantities(refs)

    def set_quantities(self, updates: Sequence[QuantityUpdate], *, idempotency_key: str) -> list[Outcome]:
        """Absolute stock through the batch endpoints. WooCommerce keeps no idempotency keys; after a
        timeout the stock is re-read and only the items not yet at their target are sent again, once.

        WooCommerce has no compare-and-set either: the stock is read first, and units the store sold
        since what we believed (`expected`) are taken off what we write (`QuantityUpdate.allowing_for`),
        so a push does not offer them again while their orders are on the way to us. When that read
        fails for a reason other than auth or throttling, the quantities are written as they are."""
        now = self._stock_now([u for u in updates if u.expected is not None])
        targets = [u.quantity if now.get(u.ref) is None else u.allowing_for(now[u.ref]) for u in updates]
        return self._write(
            [
                (u.ref, {"manage_stock": True, "stock_quantity": q})
                for u, q in zip(updates, targets, strict=True)
            ],
            on_timeout=self._settle_quantities,
        )

    def _stock_now(self, updates: Sequence[QuantityUpdate]) -> Mapping[ListingRef, int | None]:
        if not updates:
            return {}
        try:
            return self._catalog.quantities([u.ref for u in updates])
        except (ChannelAuthFailed, ChannelThrottled):
            raise  # the write would fail the same way
        except ChannelError:
            return {}

    def set_backorder_states(self, states: Sequence[BackorderState]) -> list[Outcome]:
        """`backorders` notify (allow) or the merchant's own value (deny), with the wait text and date as
        meta. stock_status is never sent: WooCommerce derives it for stock-managed products."""
        changes: list[tuple[ListingRef, Mapping[str, Any] | str]] = []
        for state in states:
            restore = state.restore_policy or "no"
            if restore not in BACKORDER_VALUES:
                changes.append((state.ref, f"restore_policy {restore!r} is not one of {BACKORDER_VALUES}"))
                continue
            allow = state.policy == "allow"
            text = state.wait_text if allow and state.wait_text else None
            expected = state.expected_date.isoformat() if allow and state.expected_date else None
            payload = {
                "backorders": "notify" if allow else restore,
                # A null value deletes the meta (WC_Data::save_meta_data); "" would keep an empty one.
                "meta_data": [
                    {"key": WAIT_TEXT_KEY, "value": text},
                    {"key": EXPECTED_DATE_KEY, "value": expected},
                ],
            }
            changes.append((state.ref, payload))
        return self._write(changes, on_timeout=self._resend_once)

    def set_substitutes(self, lists: Sequence[SubstituteList]) -> list[Outcome]:
        """Substitute ids as meta on the listing; with `cross_sell`, also the parent product's cross-sells
        (a variation has none of its own), replacing what was there, as the merchant opted in to."""
        changes: list[tuple[ListingRef, Mapping[str, Any] | str]] = []
        cross_sells: dict[str, set[int]] = {}
        for entry in lists:
            ids = [int(s.variant_id) for s in entry.substitutes if s.variant_id.isdigit()]
            changes.append((entry.ref, {"meta_data": [{"key": SUBSTITUTES_KEY, "value": ids or None}]}))
            if entry.cross_sell:
                products = {int(s.product_id) for s in entry.substitutes if s.product_id.isdigit()}
                cross_sells.setdefault(entry.ref.product_id, set()).update(products)
        parents = [
            (ListingRef(pid, pid), {"cross_sell_ids": sorted(ids)}) for pid, ids in cross_sells.items()
        ]
        outcomes = self._write(changes + parents, on_timeout=self._resend_once)
        by_parent = dict(zip(cross_sells, outcomes[len(changes) :], strict=True))
        return [
            _worst(outcome, by_parent[entry.ref.product_id]) if entry.cross_sell else outcome
            for entry, outcome in zip(lists, outcomes[: len(changes)], strict=True)
        ]

    def _write(self, changes: Sequence[tuple[ListingRef, Mapping[str, Any] | str]], *, on_timeout: OnTimeout):
        """Batch the payloads, one item per product or variation (payloads for the same one are merged);
        a str instead of a payload is the reason to fail that listing without sending anything."""
        outcomes: dict[int, Outcome] = {}
        merged: dict[tuple[str | None, int], BatchItem] = {}
        slots: dict[int, tuple[str | None, int]] = {}
        for index, (ref, payload) in enumerate(changes):
            if isinstance(payload, str) or not (ref.variant_id.isdigit() and ref.product_id.isdigit()):
                reason = (
                    payload if isinstance(payload, str) else f"{ref.variant_id!r} is not a WooCommerce id"
                )
                outcomes[index] = Outcome(ref, "failed", reason=reason)
                continue
            parent = None if ref.variant_id == ref.product_id else ref.product_id
            key = (parent, int(ref.variant_id))
            base = merged[key].payload if key in merged else {"id": key[1]}
            merged[key] = BatchItem(ref, parent, _merge(base, payload))
            slots[index] = key
        answers = self._batches.update(list(merged.values()), on_timeout=on_timeout)
        sent = dict(zip(merged, answers, strict=True))
        for index, key in slots.items():
            outcomes[index] = dataclasses.replace(sent[key], ref=changes[index][0])
        return [outcomes[i] for i in range(len(changes))]

    def _settle_quantities(self, chunk: list[BatchItem]) -> list[Outcome]:
        """A stock batch timed out: items already at their target are done, the rest go again once."""
        try:
            now = self._catalog.quantities([item.ref for item in chunk])
        except ChannelError as exc:
            return [
                Outcome(i.ref, "failed", reason=f"write timed out and the re-read failed: {exc}")
                for i in chunk
            ]
        done = {id(i) for i in chunk if now.get(i.ref) == i.payload["stock_quantity"]}
        again = [i for i in chunk if id(i) not in done]
        resent = dict(zip(map(id, again), self._batches.send(again) if again else [], strict=True))
        return [Outcome(i.ref, "ok", quantity=now[i.ref]) if id(i) in done else resent[id(i)] for i in chunk]

    def _resend_once(self, chunk: list[BatchItem]) -> list[Outcome]:
        """Backorder states and substitutes are absolute values: sending them again changes nothing twice."""
        return self._batches.send(chunk)

    # Orders

    def read_order(self, order_id: str) -> OrderInfo:
        return order_info(self._transport.read(f"orders/{order_id}").data)

    def cancel(self, request: CancelRequest) -> CancelResult:
        """Whole order: refund the rest (if asked) and set "cancelled", which restocks on its own when
        WooCommerce had reduced stock. Lines: one refund with api_refund/api_restock as asked."""
        return orders.cancel(self._transport, request)

    def add_order_note(self, order_id: str, note: str, *, customer_visible: bool) -> None:
        orders.add_note(self._transport, order_id, note, customer_visible=customer_visible)

    def tag_order(self, order_id: str, tags: Sequence[str]) -> None:
        """WooCommerce orders have no tags: they live in the `_backorder_tags` meta, read back into
        OrderInfo.tags. A meta value is a set we can rewrite; notes would pile up in the order's history."""
        orders.tag(self._transport, order_id, tags)

    def create_discount_code(self, request: DiscountCodeRequest) -> DiscountCode:
        """A single-use coupon restricted to the customer's email; the same code again is found, not
        made twice."""
        return coupons.create(self._transport, request)

    # Webhooks

    def register_webhooks(self, address: str) -> list[str]:
        """`address` is the full delivery URL (our route for this channel). Returns the webhook ids; each
        one's secret is in `webhook_secrets` (and `subscriptions`), for the caller to store encrypted."""
        self.subscriptions = registration.register(self._transport, address)
        self.webhook_secrets.update({s.webhook_id: s.secret for s in self.subscriptions})
        return [s.webhook_id for s in self.subscriptions]

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """Raw-body HMAC check (401 when missing or wrong); the unsigned creation ping passes as "ping"."""
        webhook_id = {k.lower(): v for k, v in headers.items()}.get("x-wc-webhook-id", "").strip()
        if webhook_id in self.webhook_secrets:
            candidates = [self.webhook_secrets[webhook_id]]
        else:
            candidates = [s for s in (self.webhook_secret, *self.webhook_secrets.values()) if s]
        return webhooks.verify(headers, body, candidates)

    def parse_webhook(self, delivery: WebhookDelivery) -> list[Event]:
        return webhooks.parse(delivery)


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = [*merged.get(key, []), *value] if key == "meta_data" else value
    return merged


def _worst(first: Outcome, second: Outcome) -> Outcome:
    """Two writes for one listing: it is ok only when both were."""
    rank = {"ok": 0, "not_found": 1, "failed": 2}
    return (
        first
        if rank[first.status] >= rank[second.status]
        else Outcome(first.ref, second.status, second.reason)
    )
