"""What we believe each storefront shows for a listing (`Listing.last_pushed_quantity`).

Several workers move it at once: orders and restocks the storefront made itself, our confirmed
pushes, recorded edits. Each moves it by a difference, in one UPDATE, so none overwrites another
(a value read before another worker's commit and written back would undo that worker's change).
"""

from __future__ import annotations

from sqlalchemy import update

from connector.db import UnitOfWork
from connector.models import Listing


def shift(uow: UnitOfWork, listing: Listing, delta: int) -> None:
    """Move the number believed shown for `listing` by `delta`; nothing when none is known yet."""
    if delta:
        uow.session.execute(
            update(Listing)
            .where(Listing.id == listing.id, Listing.last_pushed_quantity.is_not(None))
            .values(last_pushed_quantity=Listing.last_pushed_quantity + delta)
            .execution_options(synchronize_session=False)
        )
        uow.session.expire(listing, ["last_pushed_quantity"])
