"""Reading a WooCommerce list endpoint page by page, as its X-WP-TotalPages header says."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .mapping import mapping_list
from .transport import Reply, Transport

PER_PAGE = 100  # WooCommerce's maximum
MAX_PAGES = 50  # 5,000 entries: far beyond any real list we read, but a bound all the same


def total_pages(reply: Reply, page: int, count: int) -> int:
    """X-WP-TotalPages; when a proxy dropped it, a full page means there may be one more."""
    headers = {k.lower(): v for k, v in reply.headers.items()}
    try:
        return int(headers["x-wp-totalpages"])
    except (KeyError, ValueError):
        return page + 1 if count >= PER_PAGE else page


def every_entry(
    transport: Transport, endpoint: str, params: Mapping[str, Any] | None = None
) -> Iterator[Mapping[str, Any]]:
    """Each entry of `endpoint`, page after page; a caller that stops early reads no further pages."""
    for page in range(1, MAX_PAGES + 1):
        reply = transport.read(endpoint, {**(params or {}), "page": page, "per_page": PER_PAGE})
        entries = mapping_list(reply.data)
        yield from entries
        if page >= total_pages(reply, page, len(entries)):
            return
