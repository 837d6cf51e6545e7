"""Shopify's global ids, opaque cursors and time formats, as the Admin API writes them."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime

from graphql import GraphQLError

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<number>\d+)(?:\?.*)?$")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def level_gid(item_id: int, location_id: int) -> str:
    """Inventory levels are named by location, with the item as a query parameter, as Shopify does."""
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def parse_gid(value: str) -> tuple[str, int] | None:
    match = _GID.match(value or "")
    return (match["kind"], int(match["number"])) if match else None


def parse_level_gid(value: str) -> tuple[int, int] | None:
    """(item id, location id) from an InventoryLevel GID."""
    match = re.match(r"^gid://shopify/InventoryLevel/(\d+)\?inventory_item_id=(\d+)$", value or "")
    return (int(match[2]), int(match[1])) if match else None


def require_gid(value: str) -> tuple[str, int]:
    """Parse an ID argument or fail the way Shopify does for a malformed one."""
    parsed = parse_gid(value)
    if parsed is None:
        raise GraphQLError(
            f"Invalid global id '{value}'",
            extensions={"code": "argumentLiteralsIncompatible", "typeName": "CoercionError"},
        )
    return parsed


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": str(last_id)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor, validate=True))["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def graphql_time(moment: datetime | None) -> str | None:
    """GraphQL DateTime: UTC with a Z, to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rest_time(moment: datetime | None, zone) -> str | None:
    """REST and webhook times: the shop's own offset, to the second (2018-05-07T15:51:26-04:00)."""
    if moment is None:
        return None
    return moment.astimezone(zone).isoformat(timespec="seconds")
