"""Cursor pagination and the small search syntax of Shopify's `query:` argument."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable

from graphql import GraphQLError

from .gids import decode_cursor, encode_cursor

MAX_PAGE = 250


def connection(items: Iterable, *, first: int | None, after: str | None, key=lambda item: item.id) -> dict:
    """A Relay connection over `items` (sorted by `key`, a number) as Shopify pages them."""
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if first < 0 or first > MAX_PAGE:
        raise GraphQLError(f"The first argument must be between 0 and {MAX_PAGE}.")
    ordered = sorted(items, key=key)
    if after is not None:
        last = decode_cursor(after)
        ordered = [item for item in ordered if key(item) > last]
    page = ordered[:first]
    edges = [{"cursor": encode_cursor(key(item)), "node": item} for item in page]
    return {
        "edges": edges,
        "nodes": page,
        "pageInfo": {
            "hasNextPage": len(ordered) > first,
            "hasPreviousPage": after is not None,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def list_page(items: list, first: int | None) -> list:
    """Plain lists with an optional `first` (Order.refunds, Order.transactions)."""
    return items if first is None else items[: max(first, 0)]


_TERM = re.compile(r"^(?P<negate>-)?(?P<field>[a-z_]+):(?P<op><=|>=|<|>)?(?P<value>.*)$")


def search(query: str | None, fields: dict[str, Callable[[object], object]]) -> Callable[[object], bool]:
    """A predicate for Shopify's search syntax, for the terms the sandbox knows.

    `field:value` terms are ANDed (an explicit AND is allowed); `-field:value` negates; `>`, `<`, `>=`
    and `<=` compare; `*` at the end of a value matches a prefix; a bare word is looked for inside the
    `default` field. Terms on fields the sandbox does not know are ignored, as Shopify ignores unknown filters."""
    if not query:
        return lambda item: True
    checks = []
    for term in shlex.split(query):
        if term.upper() == "AND":
            continue
        match = _TERM.match(term)
        field, value, op, negate = (
            (match["field"], match["value"], match["op"] or "", bool(match["negate"]))
            if match
            else ("default", term, "~", False)
        )
        if field in fields:
            checks.append((fields[field], op, value, negate))
    return lambda item: all(_holds(get(item), op, value) != negate for get, op, value, negate in checks)


def _holds(actual, op: str, wanted: str) -> bool:
    if isinstance(actual, list | tuple | set):
        return any(_holds(one, op, wanted) for one in actual)
    text = "" if actual is None else str(actual)
    if op == "~":
        return wanted.lower() in text.lower()
    if op:
        left, right = (int(text), int(wanted)) if text.isdigit() and wanted.isdigit() else (text, wanted)
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    if wanted.endswith("*"):
        return text.lower().startswith(wanted[:-1].lower())
    return text.lower() == wanted.lower() if wanted else not text
