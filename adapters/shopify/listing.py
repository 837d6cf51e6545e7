"""What shoppers see on a listing: the inventory policy at zero, the wait text and expected date, and
substitutes, written with `productVariantsBulkUpdate`, `metafieldsSet` and `metafieldsDelete`.

All three are atomic per call: when Shopify refuses some elements it writes none, so the elements it
did not object to are sent again in a second round. Every write here sets an absolute value, so a
resend changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, TypeVar

from adapters.base import BackorderState, ListingRef, Outcome, OutcomeStatus, SubstituteList
from adapters.shopify import documents
from adapters.shopify.transport import GraphQLTransport

# The app's reserved namespace: Shopify stores it as app--<api client id>--backorder, owned by this
# app alone (https://shopify.dev/docs/apps/build/custom-data/ownership#reserved-prefixes).
NAMESPACE = "$app:backorder"
METAFIELDS_PER_CALL = 25  # metafieldsSet's documented maximum
VARIANTS_PER_CALL = 250
WAIT_TEXT = ("wait_text", "single_line_text_field")
EXPECTED_DATE = ("expected_date", "date")
SUBSTITUTES = ("substitutes", "list.product_reference")
POLICY_VALUES = {"allow": "CONTINUE", "deny": "DENY"}

Refusal = tuple[OutcomeStatus, str]  # why one element was not written
T = TypeVar("T")
# One call: answers whether it was applied, refusals by position in the call, and a refusal for all.
Send = Callable[[list[T]], tuple[bool, dict[int, Refusal], Refusal | None]]


class ListingWriter:
    def __init__(self, transport: GraphQLTransport):
        self._transport = transport

    def set_backorder_states(self, states: Sequence[BackorderState]) -> list[Outcome]:
        """Texts first, then the policy, then removals: a variant never sells at zero without its text."""
        refusals: dict[int, Refusal] = {}
        policies: list[tuple[int, str]] = []
        to_set: list[tuple[int, dict[str, Any]]] = []
        to_delete: list[tuple[int, dict[str, Any]]] = []
        for i, state in enumerate(states):
            policy = (state.restore_policy or POLICY_VALUES.get(state.policy, "")).upper()
            if policy not in POLICY_VALUES.values():
                refusals[i] = ("failed", f"unknown inventory policy {state.restore_policy or state.policy!r}")
                continue
            policies.append((i, policy))
            date = state.expected_date.isoformat() if state.expected_date else None
            for (key, kind), value in ((WAIT_TEXT, state.wait_text), (EXPECTED_DATE, date)):
                identifier = {"ownerId": state.ref.variant_id, "namespace": NAMESPACE, "key": key}
                if value:
                    to_set.append((i, {**identifier, "type": kind, "value": value}))
                else:
                    to_delete.append((i, identifier))
        self._record(refusals, to_set, self._set_metafields, METAFIELDS_PER_CALL)
        self._set_policies(states, [(i, p) for i, p in policies if i not in refusals], refusals)
        self._record(
            refusals,
            [(i, m) for i, m in to_delete if i not in refusals],
            self._delete_metafields,
            METAFIELDS_PER_CALL,
        )
        return [_outcome(state.ref, refusals.get(i)) for i, state in enumerate(states)]

    def set_substitutes(self, lists: Sequence[SubstituteList]) -> list[Outcome]:
        """A product-reference list metafield on each product; an empty list removes it.

        Shopify keeps substitutes per product, so lists for several variants of one product are merged.
        Shopify has no cross-sell field of its own, so `cross_sell` changes nothing here."""
        by_product: dict[str, list[str]] = {}
        for entry in lists:
            merged = by_product.setdefault(entry.ref.product_id, [])
            for substitute in entry.substitutes:
                if substitute.product_id not in merged and substitute.product_id != entry.ref.product_id:
                    merged.append(substitute.product_id)
        position = {product_id: i for i, product_id in enumerate(by_product)}
        to_set, to_delete = [], []
        for product_id, i in position.items():
            key, kind = SUBSTITUTES
            identifier = {"ownerId": product_id, "namespace": NAMESPACE, "key": key}
            if by_product[product_id]:
                to_set.append((i, {**identifier, "type": kind, "value": json.dumps(by_product[product_id])}))
            else:
                to_delete.append((i, identifier))
        refusals: dict[int, Refusal] = {}
        self._record(refusals, to_set, self._set_metafields, METAFIELDS_PER_CALL)
        self._record(refusals, to_delete, self._delete_metafields, METAFIELDS_PER_CALL)
        return [_outcome(entry.ref, refusals.get(position[entry.ref.product_id])) for entry in lists]

    def _set_policies(
        self, states: Sequence[BackorderState], policies: list[tuple[int, str]], refusals: dict[int, Refusal]
    ) -> None:
        def product_of(item: tuple[int, str]) -> str:
            return states[item[0]].ref.product_id

        for product_id, group in groupby(sorted(policies, key=product_of), key=product_of):
            items = [(i, {"id": states[i].ref.variant_id, "inventoryPolicy": policy}) for i, policy in group]
            self._record(
                refusals,
                items,
                lambda variants, p=product_id: self._update_variants(p, variants),
                VARIANTS_PER_CALL,
            )

    @staticmethod
    def _record(
        refusals: dict[int, Refusal], items: list[tuple[int, T]], send: Send[T], per_call: int
    ) -> None:
        """Send `items` (owner index, element) in calls of `per_call`; note each refused owner's first refusal."""
        for start in range(0, len(items), per_call):
            chunk = items[start : start + per_call]
            for (owner, _), refusal in zip(chunk, _atomic_rounds([e for _, e in chunk], send), strict=True):
                if refusal and owner not in refusals:
                    refusals[owner] = refusal

    def _set_metafields(
        self, metafields: list[dict[str, Any]]
    ) -> tuple[bool, dict[int, Refusal], Refusal | None]:
        result = self._transport.execute(documents.load("metafields_set"), {"metafields": metafields})[
            "metafieldsSet"
        ]
        errors = result.get("userErrors") or []
        by_position = {}
        general = None
        for error in errors:
            position = error.get("elementIndex")
            if position is None:
                position = _position(error, "metafields")
            if position is None:
                general = general or _refusal(error)
            else:
                by_position.setdefault(int(position), _refusal(error))
        return (not errors and result.get("metafields") is not None), by_position, general

    def _delete_metafields(
        self, identifiers: list[dict[str, Any]]
    ) -> tuple[bool, dict[int, Refusal], Refusal | None]:
        result = self._transport.execute(documents.load("metafields_delete"), {"metafields": identifiers})
        return _read_errors(result["metafieldsDelete"], "metafields")

    def _update_variants(
        self, product_id: str, variants: list[dict[str, Any]]
    ) -> tuple[bool, dict[int, Refusal], Refusal | None]:
        variables = {"productId": product_id, "variants": variants}
        result = self._transport.execute(documents.load("variants_set_policy"), variables)
        return _read_errors(result["productVariantsBulkUpdate"], "variants")


def _atomic_rounds(elements: list[T], send: Send[T], rounds: int = 2) -> list[Refusal | None]:
    """Send `elements`; when the call is refused for some, resend the others (the call was atomic)."""
    refusals: dict[int, Refusal | None] = {}
    pending = list(range(len(elements)))
    for _ in range(rounds):
        if not pending:
            break
        applied, by_position, general = send([elements[i] for i in pending])
        held_back = []
        for position, i in enumerate(pending):
            if position in by_position:
                refusals[i] = by_position[position]
            elif applied or (general is None and not by_position):
                refusals[i] = None
            elif general is not None and not by_position:
                refusals[i] = general
            else:
                held_back.append(i)
        pending = held_back
    for i in pending:
        refusals[i] = ("failed", "held back by other refused elements twice")
    return [refusals[i] for i in range(len(elements))]


def _read_errors(result: dict[str, Any], list_field: str) -> tuple[bool, dict[int, Refusal], Refusal | None]:
    errors = result.get("userErrors") or []
    by_position: dict[int, Refusal] = {}
    general = None
    for error in errors:
        position = _position(error, list_field)
        if position is None:
            general = general or _refusal(error)
        else:
            by_position.setdefault(position, _refusal(error))
    return not errors, by_position, general


def _position(error: dict[str, Any], list_field: str) -> int | None:
    """The element a userError points at: `field` is like ["variants", "2", "inventoryPolicy"]."""
    field = [str(part) for part in error.get("field") or []]
    if list_field in field:
        following = field[field.index(list_field) + 1 : field.index(list_field) + 2]
        if following and following[0].isdigit():
            return int(following[0])
    return None


def _refusal(error: dict[str, Any]) -> Refusal:
    code = error.get("code") or ""
    message = str(error.get("message") or "")
    missing = (
        "DOES_NOT_EXIST" in code or "does not exist" in message.lower() or "not found" in message.lower()
    )
    return ("not_found" if missing else "failed", f"{code}: {message}" if code else message)


def _outcome(ref: ListingRef, refusal: Refusal | None) -> Outcome:
    return Outcome(ref, "ok") if refusal is None else Outcome(ref, refusal[0], reason=refusal[1])
