"""Pushing available quantities with `inventorySetQuantities`: one call per chunk of at most 250,
compare-and-set on every quantity, an idempotency key on every call, an outcome for every item.

A call is all or nothing: when Shopify refuses some quantities (userErrors pointing at
`input.quantities.<n>`) and so applies none, the others are sent again in a further round. A stale
quantity (CHANGE_FROM_QUANTITY_STALE) is re-read and sent once more from the fresh value, less what the
store sold that we have not heard of yet (`QuantityUpdate.allowing_for`); stale twice, it is reported
failed with reason "stale".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from adapters.base import ListingRef, Outcome, QuantityUpdate
from adapters.shopify import documents
from adapters.shopify.transport import GraphQLTransport

REFERENCE_PREFIX = "gid://backorder-connector/"  # our pushes carry it, so their echoes can be recognised
STALE_CODES = {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"}  # the latter before 2026-04
NOT_FOUND_CODES = {"INVALID_INVENTORY_ITEM", "ITEM_NOT_STOCKED_AT_LOCATION"}
MAX_ROUNDS = 3  # the first call, a resend of what an atomic refusal held back, the stale retry

Reread = Callable[[Sequence[ListingRef]], Mapping[ListingRef, int | None]]


def reference_uri(idempotency_key: str) -> str:
    return f"{REFERENCE_PREFIX}StockPush/{quote(idempotency_key, safe='')}"


def push_chunk(
    transport: GraphQLTransport,
    location_id: str,
    updates: Sequence[QuantityUpdate],
    *,
    key: str,
    reread: Reread,
) -> list[Outcome]:
    """Set the quantities of one chunk (≤ 250, distinct inventory items, all with an inventory item id)."""
    expected = [u.expected for u in updates]
    targets = [u.quantity for u in updates]
    outcomes: dict[int, Outcome] = {}
    stale_once: set[int] = set()
    pending = list(range(len(updates)))
    for round_number in range(MAX_ROUNDS):
        if not pending:
            break
        quantities = [_quantity_input(updates[i].ref, targets[i], expected[i], location_id) for i in pending]
        round_key = key if round_number == 0 else f"{key}:r{round_number}:{_digest(quantities)}"
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": reference_uri(key),
                "quantities": quantities,
            }
        }
        payload = transport.execute(
            documents.load("inventory_set_quantities"), variables, idempotency_key=round_key
        )
        result = payload["inventorySetQuantities"]
        # All or nothing: without userErrors the call was applied, and a null group only means that
        # every quantity already was as asked (Shopify records no adjustment for no change).
        applied = result.get("inventoryAdjustmentGroup") is not None or not result.get("userErrors")
        by_position, general = _errors_by_position(result.get("userErrors") or [])
        resend, stale = [], []
        for position, i in enumerate(pending):
            error = by_position.get(position)
            if error and error.get("code") in STALE_CODES and i not in stale_once:
                stale.append(i)
            elif error:
                outcomes[i] = _refused(updates[i], error)
            elif applied:
                note = (
                    ""
                    if expected[i] == updates[i].expected
                    else f"was {expected[i]}, not {updates[i].expected}"
                )
                outcomes[i] = Outcome(
                    updates[i].ref, "ok", reason=note, quantity=targets[i], replaced=expected[i]
                )
            elif general:
                outcomes[i] = Outcome(updates[i].ref, "failed", reason=_describe(general[0]))
            else:
                resend.append(i)  # fine itself; held back because the call as a whole was refused
        resend += _refresh_stale(updates, stale, expected, targets, outcomes, reread)
        stale_once.update(stale)
        pending = sorted(resend)
    for i in pending:
        outcomes[i] = Outcome(updates[i].ref, "failed", reason=f"not applied after {MAX_ROUNDS} calls")
    return [outcomes[i] for i in range(len(updates))]


def _refresh_stale(
    updates: Sequence[QuantityUpdate],
    stale: list[int],
    expected: list[int | None],
    targets: list[int],
    outcomes: dict[int, Outcome],
    reread: Reread,
) -> list[int]:
    """Re-read stale items; answer those to send again from their fresh quantity."""
    if not stale:
        return []
    fresh = reread([updates[i].ref for i in stale])
    again = []
    for i in stale:
        update, now = updates[i], fresh.get(updates[i].ref)
        if now is None:
            outcomes[i] = Outcome(update.ref, "not_found", reason="no longer stocked at the location")
        elif now == (target := update.allowing_for(now)):
            outcomes[i] = Outcome(
                update.ref, "ok", reason="already at this quantity", quantity=now, replaced=now
            )
        else:
            expected[i], targets[i] = now, target
            again.append(i)
    return again


def _quantity_input(ref: ListingRef, quantity: int, expected: int | None, location_id: str) -> dict[str, Any]:
    # changeFromQuantity must be present on every quantity from 2026-04; null skips the check.
    return {
        "inventoryItemId": ref.inventory_item_id,
        "locationId": location_id,
        "quantity": quantity,
        "changeFromQuantity": expected,
    }


def _errors_by_position(
    errors: list[dict[str, Any]],
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """userErrors keyed by the quantity they point at (`input.quantities.<n>...`), and the rest."""
    by_position: dict[int, dict[str, Any]] = {}
    general = []
    for error in errors:
        field = [str(part) for part in error.get("field") or []]
        position = None
        if "quantities" in field:
            after = field[field.index("quantities") + 1 : field.index("quantities") + 2]
            position = int(after[0]) if after and after[0].isdigit() else None
        if position is None:
            general.append(error)
        else:
            by_position.setdefault(position, error)
    return by_position, general


def _refused(update: QuantityUpdate, error: dict[str, Any]) -> Outcome:
    code = error.get("code")
    if code in STALE_CODES:
        return Outcome(update.ref, "failed", reason="stale")
    status = "not_found" if code in NOT_FOUND_CODES else "failed"
    return Outcome(update.ref, status, reason=_describe(error))


def _describe(error: dict[str, Any]) -> str:
    code = error.get("code")
    return f"{code}: {error.get('message', '')}" if code else str(error.get("message", ""))


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]
