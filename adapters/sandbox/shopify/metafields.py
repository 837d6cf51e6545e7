"""metafieldsSet and metafieldsDelete: atomic upserts by owner, namespace and key, with Shopify's
value checks and its app-reserved namespaces ($app:foo is stored as app--<app id>--foo)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .gids import gid, parse_gid
from .models import Metafield
from .store import Store

OWNER_KINDS = {"Product", "ProductVariant", "Order", "Shop", "Location"}


def digest(metafield: Metafield) -> str:
    return hashlib.sha256(f"{metafield.id}:{metafield.value}".encode()).hexdigest()


def resolve_namespace(namespace: str | None, app_id: int) -> str:
    if namespace is None or namespace == "$app":
        return f"app--{app_id}"
    if namespace.startswith("$app:"):
        return f"app--{app_id}--{namespace[5:]}"
    return namespace


def _find(store: Store, kind: str, owner_id: int, namespace: str, key: str) -> Metafield | None:
    return next(
        (
            m
            for m in store.metafields.values()
            if (m.owner_kind, m.owner_id, m.namespace, m.key) == (kind, owner_id, namespace, key)
        ),
        None,
    )


def set_all(store: Store, inputs: list[dict], app_id: int) -> dict:
    """Validate every input first; one bad input and nothing is written."""
    planned, errors = [], []
    for index, entry in enumerate(inputs):
        outcome = _plan(store, entry, index, app_id)
        if isinstance(outcome, dict):
            errors.append(outcome)
        else:
            planned.append(outcome)
    if errors:
        return {"metafields": [], "userErrors": errors}
    now = store.now()
    written = []
    for kind, owner_id, namespace, entry, existing, type_ in planned:
        if existing is None:
            existing = Metafield(
                store.next_id(), kind, owner_id, namespace, entry["key"], entry["value"], type_, now, now
            )
            store.metafields[existing.id] = existing
        else:
            existing.value, existing.type, existing.updated_at = entry["value"], type_, now
        written.append(existing)
    return {"metafields": written, "userErrors": []}


def _plan(store: Store, entry: dict, index: int, app_id: int):
    def error(field: str, message: str, code: str) -> dict:
        return {
            "field": ["metafields", str(index), field],
            "message": message,
            "code": code,
            "elementIndex": index,
        }

    kind, owner_id = parse_gid(entry["ownerId"]) or ("", 0)
    if kind not in OWNER_KINDS or store.find(kind, owner_id) is None:
        return error("ownerId", "Owner does not exist.", "INVALID_VALUE")
    namespace = resolve_namespace(entry.get("namespace"), app_id)
    key = entry["key"]
    if not 2 <= len(key) <= 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return error("key", "Key must be 2 to 64 letters, digits, '-' or '_'.", "INVALID_VALUE")
    if len(namespace) < 3:
        return error("namespace", "Namespace is too short (minimum is 3 characters)", "TOO_SHORT")
    existing = _find(store, kind, owner_id, namespace, key)
    type_ = entry.get("type") or (existing.type if existing else None)
    if not type_:
        return error("type", "Type can't be blank.", "BLANK")
    problem = _value_problem(type_, entry["value"])
    if problem:
        return error("value", problem, "INVALID_TYPE" if problem.startswith("Type") else "INVALID_VALUE")
    if entry.get("compareDigest") is not None and (
        existing is None or digest(existing) != entry["compareDigest"]
    ):
        message = "The resource has been updated since it was loaded. Try again with an updated `compareDigest` value."
        return error("compareDigest", message, "STALE_OBJECT")
    return kind, owner_id, namespace, entry, existing, type_


def _value_problem(type_: str, value: str) -> str | None:
    checks = {
        "single_line_text_field": lambda v: "\n" not in v,
        "multi_line_text_field": lambda v: True,
        "number_integer": lambda v: re.fullmatch(r"-?\d+", v) is not None,
        "number_decimal": _is_decimal,
        "boolean": lambda v: v in ("true", "false"),
        "date": lambda v: _parses(date.fromisoformat, v),
        "date_time": lambda v: _parses(lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")), v),
        "json": lambda v: _parses(json.loads, v),
        "url": lambda v: v.startswith(("http://", "https://")),
    }
    if type_.startswith("list."):
        return None if _parses(_json_list, value) else "Value must be a JSON array."
    if type_.endswith("_reference"):
        return None if parse_gid(value) else "Value must be a global id."
    if type_ not in checks:
        return f"Type '{type_}' is not a valid metafield type."
    return None if checks[type_](value) else f"Value is invalid for type {type_}."


def _json_list(value: str) -> list:
    parsed = json.loads(value)
    if not isinstance(parsed, list):
        raise ValueError("not a list")
    return parsed


def _is_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _parses(parse, value: str) -> bool:
    try:
        parse(value)
    except (ValueError, TypeError):
        return False
    return True


def delete_all(store: Store, inputs: list[dict], app_id: int) -> dict:
    """Deleting one that is not there is no error: its slot in deletedMetafields is null."""
    deleted = []
    for entry in inputs:
        kind, owner_id = parse_gid(entry["ownerId"]) or ("", 0)
        namespace = resolve_namespace(entry["namespace"], app_id)
        found = _find(store, kind, owner_id, namespace, entry["key"])
        if found is None:
            deleted.append(None)
            continue
        del store.metafields[found.id]
        deleted.append({"ownerId": gid(kind, owner_id), "namespace": namespace, "key": found.key})
    return {"deletedMetafields": deleted, "userErrors": []}
