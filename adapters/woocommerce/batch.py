"""Batch updates of products and variations, with one Outcome per item.

WooCommerce takes at most 100 items per batch call (413 `woocommerce_rest_request_entity_too_large`
above that, or a smaller filtered limit, or a web server's own body limit) and reports a failed item
inside a 200 response as `{"id": N, "error": {"code", "message", "data"}}`: every element is checked.
Variations can only be written through their parent's `products/<id>/variations/batch`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import ListingRef, Outcome
from adapters.errors import NotFoundOnChannel, OutcomeUnknown, RejectedByChannel

from .transport import PayloadTooLarge, Transport

log = logging.getLogger("adapters.woocommerce")

MAX_BATCH = 100
# woocommerce_rest_product_invalid_id, woocommerce_rest_product_variation_invalid_id,
# woocommerce_rest_invalid_product_id, woocommerce_rest_product_variation_invalid_parent, ...
_NOT_FOUND = re.compile(
    r"(product|variation)_invalid_(id|parent)$|invalid_(product|product_variation|variation)_id$"
)


@dataclass(frozen=True)
class BatchItem:
    """One update: `parent` is None for a product, the parent product id for a variation."""

    ref: ListingRef
    parent: str | None
    payload: Mapping[str, Any]  # carries "id"

    @property
    def endpoint(self) -> str:
        return "products/batch" if self.parent is None else f"products/{self.parent}/variations/batch"


# Called when a chunk's write timed out: returns the outcome of every item of the chunk.
OnTimeout = Callable[[list[BatchItem]], list[Outcome]]


class BatchWriter:
    def __init__(self, transport: Transport, *, max_items: int = MAX_BATCH):
        self.transport = transport
        self.max_items = max_items

    def update(self, items: Sequence[BatchItem], *, on_timeout: OnTimeout) -> list[Outcome]:
        """Send every item in as few calls as the store takes; outcomes come back in the items' order."""
        by_endpoint: dict[str, list[BatchItem]] = {}
        for item in items:
            by_endpoint.setdefault(item.endpoint, []).append(item)
        results: dict[int, Outcome] = {}
        for group in by_endpoint.values():
            for start in range(0, len(group), self.max_items):
                chunk = group[start : start + self.max_items]
                for item, outcome in zip(chunk, self.send(chunk, on_timeout=on_timeout), strict=True):
                    results[id(item)] = outcome
        return [results[id(item)] for item in items]

    def send(self, chunk: list[BatchItem], *, on_timeout: OnTimeout | None = None) -> list[Outcome]:
        """One batch call for items sharing an endpoint; halves it and retries on 413."""
        try:
            reply = self.transport.write(
                "POST", chunk[0].endpoint, {"update": [dict(i.payload) for i in chunk]}, idempotent=True
            )
        except PayloadTooLarge as exc:
            if len(chunk) == 1:
                return [Outcome(chunk[0].ref, "failed", reason=str(exc))]
            middle = len(chunk) // 2
            log.info("batch of %d refused as too large; splitting", len(chunk))
            return self.send(chunk[:middle], on_timeout=on_timeout) + self.send(
                chunk[middle:], on_timeout=on_timeout
            )
        except OutcomeUnknown as exc:
            if on_timeout is None:
                return [Outcome(i.ref, "failed", reason=f"outcome unknown: {exc}") for i in chunk]
            return on_timeout(chunk)
        except NotFoundOnChannel as exc:  # the parent product of these variations is gone
            return [Outcome(i.ref, "not_found", reason=str(exc)) for i in chunk]
        except RejectedByChannel as exc:
            return [Outcome(i.ref, "failed", reason=str(exc)) for i in chunk]
        return outcomes_from_reply(chunk, reply.data)


def outcomes_from_reply(chunk: Sequence[BatchItem], data: Any) -> list[Outcome]:
    """Match each element of the `update` list to the item with its id; a missing one has failed."""
    if not isinstance(data, Mapping) or not isinstance(data.get("update"), list):
        return [Outcome(i.ref, "failed", reason="the store's batch answer had no update list") for i in chunk]
    answers = {str(e.get("id")): e for e in data["update"] if isinstance(e, Mapping)}
    return [_outcome(item, answers.get(str(item.payload["id"]))) for item in chunk]


def _outcome(item: BatchItem, answer: Mapping[str, Any] | None) -> Outcome:
    if answer is None:
        return Outcome(item.ref, "failed", reason="no answer for this item in the batch response")
    error = answer.get("error")
    if isinstance(error, Mapping):
        code = str(error.get("code") or "")
        status = "not_found" if _NOT_FOUND.search(code) else "failed"
        return Outcome(item.ref, status, reason=f"{code}: {error.get('message') or ''}".strip())
    quantity = answer.get("stock_quantity") if answer.get("manage_stock") not in (False, None) else None
    return Outcome(item.ref, "ok", quantity=None if quantity is None else int(quantity))
