"""What we believe each storefront shows for a listing (`Listing.last_pushed_quantity`).

Several workers move it at once: orders and restocks the storefront made itself, our confirmed
pushes, recorded edits. Each moves it by a difference written as `SET n = n + delta`, so none
overwrites another (a value read before another worker's commit and written back would undo that
worker's change). The UPDATE goes out with the transaction's other changes at its next flush.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, inspect

from connector.models import Listing


def shift(listing: Listing, delta: int) -> None:
    """Move the number believed shown for `listing` by `delta` (a number never known stays unknown)."""
    if not delta:
        return
    state = inspect(listing)
    pending = state.dict.get("last_pushed_quantity")
    if (
        state.key is None
        or isinstance(pending, ColumnElement)
        or "last_pushed_quantity" in state.committed_state
    ):
        # Not stored yet, or already moved or set in this transaction and not flushed: build on that.
        listing.last_pushed_quantity = None if pending is None else pending + delta
    else:
        listing.last_pushed_quantity = Listing.last_pushed_quantity + delta
