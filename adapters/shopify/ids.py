"""Shopify global ids: REST payloads carry numbers, GraphQL carries `gid://shopify/<Type>/<n>`."""

from __future__ import annotations

PREFIX = "gid://shopify/"


def gid(kind: str, value: str | int) -> str:
    """The GraphQL id of a REST number (an id that is already a GID passes through)."""
    text = str(value)
    return text if text.startswith("gid://") else f"{PREFIX}{kind}/{text}"


def optional_gid(kind: str, value: str | int | None) -> str | None:
    return None if value in (None, "") else gid(kind, value)  # type: ignore[arg-type]
