"""Setting and moving quantities at the shop's location, with Shopify's checks and error codes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import payloads
from .gids import parse_gid
from .models import AdjustmentGroup, InventoryChange, InventoryLevel
from .store import Store

# https://shopify.dev/docs/apps/fulfillment/inventory-management-apps/quantities-states#set-inventory-quantities-on-hand
REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}
MAX_QUANTITY = 1_000_000_000
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


@dataclass(frozen=True)
class Expectation:
    """What the caller believes is there now (None: it should have said and did not), and which error
    code a mismatch earns."""

    quantity: int | None
    code: str
    field: str

    def problem(self, level: InventoryLevel, name: str, path: list[str]) -> dict | None:
        if self.quantity is None:
            message = "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity."
            return user_error([*path, self.field], message, self.code)
        if level.quantity(name) != self.quantity:
            message = f"The {self.field} value does not match persisted value."
            return user_error([*path, self.field], message, self.code)
        return None


def user_error(field: list[str], message: str, code: str) -> dict:
    return {"field": field, "message": message, "code": code}


def set_quantities(
    store: Store,
    *,
    name: str,
    reason: str,
    reference_uri: str | None,
    quantities: list[dict],
    expectations: list[Expectation | None],
) -> dict:
    """inventorySetQuantities: all or nothing; every problem is reported, nothing changes on any."""
    errors = _check_input(name, reason, reference_uri)
    targets: list[InventoryLevel | None] = []
    seen: set[tuple[int, int]] = set()
    for index, (entry, expected) in enumerate(zip(quantities, expectations, strict=True)):
        level, problems = _check_entry(
            store, entry, expected, name, ["input", "quantities", str(index)], seen
        )
        targets.append(level)
        errors += problems
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes: list[InventoryChange] = []
    for entry, level in zip(quantities, targets, strict=True):
        assert level is not None
        changes += _apply(store, level, name, entry["quantity"])
    if not changes:  # every quantity was already as asked: nothing to record
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    group = AdjustmentGroup(store.next_id(), reason, reference_uri, store.now(), changes)
    store.groups[group.id] = group
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _check_entry(
    store: Store, entry: dict, expected: Expectation | None, name: str, path: list[str], seen: set
) -> tuple[InventoryLevel | None, list[dict]]:
    level, problem = _level_for(store, entry, path)
    if problem:
        return None, [problem]
    assert level is not None
    problems = _check_quantity(entry["quantity"], [*path, "quantity"])
    if (level.item_id, level.location_id) in seen:
        message = "The combination of inventoryItemId and locationId must be unique."
        problems.append(
            user_error([*path, "inventoryItemId"], message, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR")
        )
    seen.add((level.item_id, level.location_id))
    stale = expected.problem(level, name, path) if expected and name in ("available", "on_hand") else None
    return level, problems + ([stale] if stale else [])


def _check_input(name: str, reason: str, reference_uri: str | None) -> list[dict]:
    errors = []
    if name not in ("available", "on_hand"):
        message = "The quantity name must be either 'available' or 'on_hand'."
        errors.append(user_error(["input", "name"], message, "INVALID_NAME"))
    if reason not in REASONS:
        errors.append(user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
    if reference_uri is not None and not _URI.match(reference_uri):
        message = "The specified reference document is invalid."
        errors.append(user_error(["input", "referenceDocumentUri"], message, "INVALID_REFERENCE_DOCUMENT"))
    return errors


def _level_for(store: Store, entry: dict, path: list[str]) -> tuple[InventoryLevel | None, dict | None]:
    item = parse_gid(entry["inventoryItemId"])
    if item is None or item[0] != "InventoryItem" or item[1] not in store.items:
        message = "The specified inventory item could not be found."
        return None, user_error([*path, "inventoryItemId"], message, "INVALID_INVENTORY_ITEM")
    location = parse_gid(entry["locationId"])
    if location is None or location[0] != "Location" or location[1] != store.location.id:
        message = "The specified location could not be found."
        return None, user_error([*path, "locationId"], message, "INVALID_LOCATION")
    level = store.levels.get((item[1], location[1]))
    if level is None:
        message = "The specified inventory item is not stocked at the location."
        return None, user_error([*path, "locationId"], message, "ITEM_NOT_STOCKED_AT_LOCATION")
    return level, None


def _check_quantity(quantity: int, field: list[str]) -> list[dict]:
    if quantity < 0:
        return [user_error(field, "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE")]
    if quantity > MAX_QUANTITY:
        message = "The total quantity can't be higher than 1,000,000,000."
        return [user_error(field, message, "INVALID_QUANTITY_TOO_HIGH")]
    return []


def _apply(store: Store, level: InventoryLevel, name: str, quantity: int) -> list[InventoryChange]:
    delta = quantity - level.quantity(name)
    if delta == 0:
        return []
    move_on_hand(store, level, delta)
    order = ("available", "on_hand") if name == "available" else ("on_hand", "available")
    return [InventoryChange(n, delta, level.quantity(n), level.item_id, level.location_id) for n in order]


def move_on_hand(store: Store, level: InventoryLevel, delta: int) -> None:
    """Units arrive or leave the building: on_hand and available move together."""
    level.on_hand += delta
    _changed(store, level)


def commit(store: Store, level: InventoryLevel, units: int) -> None:
    """An order claims units (or, negative, gives them back): available moves, on_hand does not."""
    level.committed += units
    _changed(store, level)


def _changed(store: Store, level: InventoryLevel) -> None:
    level.updated_at = store.now()
    store.items[level.item_id].updated_at = level.updated_at
    store.emit("inventory_levels/update", payloads.inventory_level(store, level))
