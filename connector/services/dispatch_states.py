"""The dispatcher's other pushes: backorder state (policy, wait text, date) and order tags.

Like quantities, a state is computed from the ledger when it is sent, so the latest one wins, and a row
is done only when the storefront confirmed it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from adapters.base import BackorderState, ListingRef, Outcome
from adapters.errors import ChannelError
from connector.models import Channel, Item, Listing, Merchant, OutboxRow
from connector.services.outbox import shown_state


class _StatePush:
    def __init__(self, item_id: int, listing: Listing, shown: dict, up_to_row: int):
        self.item_id = item_id
        self.ref = listing.ref
        self.shown = shown
        self.up_to_row = up_to_row
        self.state = _state_for(self.ref, shown, listing.original_policy)


def _state_for(ref: ListingRef, shown: dict, original: str | None) -> BackorderState:
    if shown["status"] == "backorder":
        expected = date.fromisoformat(shown["expected_date"]) if shown.get("expected_date") else None
        return BackorderState(ref, "allow", wait_text=shown.get("wait_text"), expected_date=expected)
    if shown["status"] == "sold_out":
        return BackorderState(ref, "deny")
    # Back in stock: the merchant's own setting returns, and the texts go.
    return BackorderState(ref, "deny", restore_policy=original)


def _due(uow, channel_id: int, kind: str, now) -> list[tuple[int, int]]:
    return uow.session.execute(
        select(OutboxRow.id, OutboxRow.item_id)
        .where(
            OutboxRow.channel_id == channel_id,
            OutboxRow.kind == kind,
            OutboxRow.status == "pending",
            OutboxRow.next_attempt_at <= now,
        )
        .order_by(OutboxRow.id)
        .limit(5000)
    ).all()


def _plan_states(uow, channel_id: int, now) -> list[_StatePush]:
    from connector.services.backorders import availability

    with uow:
        rows = _due(uow, channel_id, "backorder_state", now)
        latest = {item_id: row_id for row_id, item_id in rows}
        if not latest:
            return []
        channel = uow.session.get(Channel, channel_id)
        merchant = uow.session.get(Merchant, channel.merchant_id)
        found = uow.session.execute(
            select(Listing, Item)
            .join(Item, Item.id == Listing.item_id)
            .where(Listing.channel_id == channel_id, Listing.item_id.in_(latest))
        ).all()
        plan = [
            _StatePush(item.id, listing, shown_state(availability(uow, merchant, item, now)), latest[item.id])
            for listing, item in found
        ]
        uow.session.execute(
            update(OutboxRow).where(OutboxRow.id.in_([r for r, _ in rows])).values(status="in_flight")
        )
        uow.commit()
    return plan


def send_states(new_uow, channel_id: int, port, now, *, policy, rng, report) -> None:
    """Push each item's current backorder state, in the largest batches the storefront takes."""
    from connector.services.dispatch import _gone, _retry_later, _rows_of

    plan = _plan_states(new_uow(), channel_id, now())
    for start in range(0, len(plan), port.max_state_batch):
        batch = plan[start : start + port.max_state_batch]
        try:
            outcomes = port.set_backorder_states([p.state for p in batch])
        except ChannelError as error:
            with new_uow() as uow:
                rows = _rows_of(uow, channel_id, batch, "backorder_state")
                for push in batch:
                    _retry_later(
                        rows.get(push.item_id, []),
                        f"{type(error).__name__}: {error}",
                        now(),
                        policy,
                        rng,
                        report,
                        permanent=False,
                        count_attempt=error.retryable,
                    )
                uow.commit()
            report.errors.append(f"{type(error).__name__}: {error}")
            return
        by_ref = {o.ref: o for o in outcomes}
        with new_uow() as uow:
            rows = _rows_of(uow, channel_id, batch, "backorder_state")
            for push in batch:
                outcome = by_ref.get(push.ref) or Outcome(
                    push.ref, "failed", "not reported by the storefront"
                )
                if outcome.status == "ok":
                    listing = uow.session.scalar(
                        select(Listing).where(
                            Listing.channel_id == channel_id, Listing.item_id == push.item_id
                        )
                    )
                    listing.last_pushed_state = push.shown
                    for row in rows.get(push.item_id, []):
                        row.status, row.done_at = "done", now()
                    report.confirmed += 1
                else:
                    _retry_later(
                        rows.get(push.item_id, []),
                        f"{outcome.status}: {outcome.reason}",
                        now(),
                        policy,
                        rng,
                        report,
                        permanent=_gone(outcome, rows.get(push.item_id, [])),
                    )
            uow.commit()


def send_tags(new_uow, channel_id: int, port, now, *, policy, rng, report) -> None:
    """Tag storefront orders (say `backorder-ready`); one call per order, duplicates folded."""
    from connector.services.dispatch import _retry_later

    with new_uow() as uow:
        rows = uow.session.scalars(
            select(OutboxRow)
            .where(
                OutboxRow.channel_id == channel_id,
                OutboxRow.kind == "order_tag",
                OutboxRow.status == "pending",
                OutboxRow.next_attempt_at <= now(),
            )
            .order_by(OutboxRow.id)
            .limit(500)
        ).all()
        by_order: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for row in rows:
            by_order.setdefault((row.payload["order_id"], tuple(row.payload["tags"])), []).append(row.id)
    for (order_id, tags), row_ids in by_order.items():
        try:
            port.tag_order(order_id, list(tags))
            error = None
        except ChannelError as failure:
            error = failure
        with new_uow() as uow:
            tagged = uow.session.scalars(select(OutboxRow).where(OutboxRow.id.in_(row_ids))).all()
            if error is None:
                for row in tagged:
                    row.status, row.done_at = "done", now()
            else:
                _retry_later(
                    tagged,
                    f"{type(error).__name__}: {error}",
                    now(),
                    policy,
                    rng,
                    report,
                    permanent=not error.retryable,
                )
            uow.commit()
