"""Which customer notifications are due, computed from the backorders' state at a given moment.

Each event becomes one Notification row whose dedupe key (unique per merchant) names the backorder and
the event, so running this twice, or twice at once, records it once:

- `confirmed:<id>`: a waiting backorder nobody has been told about yet;
- `eta:<id>:<n>:<date>`: the n-th time the expected date moved (by a day or more, either way) from the
  one last told (`Backorder.notified_eta_date`);
- `still:<id>:<n>`: the n-th period of `still_waiting_days` (merchant setting, default 7) spent waiting;
- `delayed:<id>`: the merchant's date is past the date promised at order time (an apology);
- `ready:<id>`: every unit arrived and is set aside (only for backorders whose customer was told).

A periodic message that is not wanted (the customer opted out, or another message goes out in the same
run) is still recorded, as `skipped` with the reason, so the history says why nothing was sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from connector.db import UnitOfWork
from connector.models import Backorder, Item, Merchant, Notification, Order, OrderLine
from connector.notify import facts
from connector.notify.optout import normalise, opted_out_emails
from connector.services.backorders import merchant_today

DEFAULT_STILL_WAITING_DAYS = 7
CHUNK = 500  # ids per IN (…) list, well inside SQLite's limit on bound parameters


class BackorderState(Protocol):
    id: int
    status: str
    eta_date: date | None
    notified_eta_date: date | None
    promised_date: date | None
    created_at: datetime


@dataclass(frozen=True)
class Told:
    """What has been recorded for one backorder so far: its dedupe keys, and how often its date moved."""

    keys: frozenset[str] = frozenset()
    eta_moves: int = 0


@dataclass(frozen=True)
class Due:
    kind: str
    dedupe_key: str
    extra: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None


def due_for(
    b: BackorderState, told: Told, *, now: datetime, today: date, still_every_days: int, opted_out: bool
) -> list[Due]:
    """The notifications due for one backorder now; `today` is the merchant's date at `now`."""
    if b.status == "allocated":
        told_of_wait = f"confirmed:{b.id}" in told.keys
        return [Due("ready", f"ready:{b.id}")] if told_of_wait and f"ready:{b.id}" not in told.keys else []
    if b.status != "waiting":
        return []
    if f"confirmed:{b.id}" not in told.keys:
        return [Due("confirmed", f"confirmed:{b.id}")]
    due = []
    moved = b.eta_date is not None and b.eta_date != b.notified_eta_date
    late = b.promised_date is not None and today > b.promised_date and f"delayed:{b.id}" not in told.keys
    if late:
        due.append(Due("delayed", f"delayed:{b.id}", _previous(b) if moved else {}))
    if moved:
        key = f"eta:{b.id}:{told.eta_moves + 1}:{b.eta_date.isoformat()}"
        told_in = "the new date is in the delay apology sent at the same time" if late else None
        due.append(Due("eta_moved", key, _previous(b), skip_reason=told_in))
    period = _still_period(b, now, still_every_days)
    if period and f"still:{b.id}:{period}" not in told.keys:
        reason = "customer opted out of periodic messages" if opted_out else None
        if reason is None and any(d.skip_reason is None for d in due):
            reason = "another message about this backorder goes out at the same time"
        days = (now - b.created_at).days
        due.append(Due("still_waiting", f"still:{b.id}:{period}", {"days_waiting": days}, reason))
    return due


def _previous(b: BackorderState) -> dict[str, Any]:
    told = b.notified_eta_date
    return {"previous_eta": told.isoformat() if told else None}


def _still_period(b: BackorderState, now: datetime, every_days: int) -> int:
    """How many whole periods the backorder has waited (0: not yet one, or periodic messages off)."""
    if every_days <= 0:
        return 0
    return (now - b.created_at).days // every_days


def still_waiting_days(merchant: Merchant) -> int:
    value = (merchant.settings or {}).get("still_waiting_days", DEFAULT_STILL_WAITING_DAYS)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_STILL_WAITING_DAYS


def notifications_enabled(merchant: Merchant) -> bool:
    return (merchant.settings or {}).get("notifications", True) is not False


def create_due(
    new_uow: Callable[[], UnitOfWork], now: datetime, *, merchant_id: int | None = None
) -> dict[str, int]:
    """Record every notification due at `now`, one transaction per merchant; counts by kind."""
    with new_uow() as uow:
        query = select(Merchant.id).order_by(Merchant.id)
        if merchant_id is not None:
            query = query.where(Merchant.id == merchant_id)
        merchant_ids = list(uow.session.scalars(query))
    counts: Counter[str] = Counter()
    for mid in merchant_ids:
        with new_uow() as uow:
            merchant = uow.session.get(Merchant, mid)
            if notifications_enabled(merchant):
                counts.update(_record_due(uow, merchant, now))
            uow.commit()
    return dict(counts)


def _record_due(uow: UnitOfWork, merchant: Merchant, now: datetime) -> Counter[str]:
    rows = _candidates(uow, merchant.id)
    told = _told(uow, [b.id for b, *_ in rows])
    opted_out = opted_out_emails(uow, merchant.id)
    today, every = merchant_today(merchant, now), still_waiting_days(merchant)
    counts: Counter[str] = Counter()
    for b, line, order, item in rows:
        context = facts.Context(merchant, b, line, order, item, today, now)
        for due in due_for(
            b,
            told.get(b.id, Told()),
            now=now,
            today=today,
            still_every_days=every,
            opted_out=normalise(order.customer_email) in opted_out,
        ):
            if _insert(uow, _notification(uow, context, due)):
                counts[due.kind if due.skip_reason is None else "skipped"] += 1
                if due.kind in ("confirmed", "eta_moved"):
                    b.notified_eta_date = b.eta_date  # this is now the date the customer knows
    return counts


def _candidates(uow: UnitOfWork, merchant_id: int) -> list[tuple[Backorder, OrderLine, Order, Item]]:
    """Waiting backorders, and allocated ones whose customer was told of the wait but not the arrival."""
    told = Notification.backorder_id == Backorder.id
    query = (
        select(Backorder, OrderLine, Order, Item)
        .join(OrderLine, OrderLine.id == Backorder.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Item, Item.id == Backorder.item_id)
        .where(
            Backorder.merchant_id == merchant_id,
            Order.status != "cancelled",
            or_(
                Backorder.status == "waiting",
                and_(
                    Backorder.status == "allocated",
                    exists().where(told, Notification.kind == "confirmed"),
                    ~exists().where(told, Notification.kind == "ready"),
                ),
            ),
        )
        .order_by(Backorder.id)
    )
    if uow.locks_rows:
        # Another run (or the worker changing these rows) holds them: leave them to the next run.
        query = query.with_for_update(of=Backorder, skip_locked=True)
    return [tuple(row) for row in uow.session.execute(query)]  # type: ignore[misc]


def _told(uow: UnitOfWork, backorder_ids: Sequence[int]) -> dict[int, Told]:
    keys: dict[int, set[str]] = {}
    moves: Counter[int] = Counter()
    for chunk in _chunks(backorder_ids):
        found = uow.session.execute(
            select(Notification.backorder_id, Notification.kind, Notification.dedupe_key).where(
                Notification.backorder_id.in_(chunk)
            )
        )
        for backorder_id, kind, key in found:
            keys.setdefault(backorder_id, set()).add(key)
            moves[backorder_id] += kind == "eta_moved"
    return {bid: Told(frozenset(k), moves[bid]) for bid, k in keys.items()}


def _notification(uow: UnitOfWork, context: facts.Context, due: Due) -> Notification:
    by_note = bool((context.merchant.settings or {}).get("notify_by_order_note"))
    order = context.order
    skip = due.skip_reason
    if skip is None and not by_note and not order.customer_email:
        skip = "the order has no customer email"
    return Notification(
        merchant_id=context.merchant.id,
        order_id=order.id,
        backorder_id=context.backorder.id,
        kind=due.kind,
        dedupe_key=due.dedupe_key,
        delivery="order_note" if by_note else "email",
        recipient=order.customer_email,
        payload=facts.payload(uow, context, due.kind, due.extra),
        status="pending" if skip is None else "skipped",
        last_error=skip,
        send_after=context.now,
        created_at=context.now,
    )


def _insert(uow: UnitOfWork, row: Notification) -> bool:
    """Add the row unless its dedupe key is already taken (by a run racing this one)."""
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        return False
    return True


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
