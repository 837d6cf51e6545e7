"""When waiting units can be expected to ship: incoming stock, each supplier's lateness, the lead time.

The n-th waiting unit (older backorders first) is covered by the incoming batch whose cumulative
quantity reaches n, batches taken in expected-date order (then id). Its date is

    max(expected date, today) + handling days + the supplier's lateness buffer

A batch already past its expected date but not received counts as arriving today, so no date is
ever promised before today. Units no batch covers wait for a new order: today + lead + handling.

Arriving stock goes strictly oldest first, whichever batch it comes from, so no unit can ship
before the units ahead of it: each date is raised to the latest date ahead of it in the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from connector.domain.backorders import Backorder
from connector.domain.stock import InvalidQuantity

LATENESS_PERCENTILE = 80


@dataclass(frozen=True)
class IncomingStock:
    """A batch on its way; `quantity` is what is still to arrive (a partial receipt leaves the rest)."""

    id: int
    quantity: int
    expected_on: date
    supplier: str | None = None

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise InvalidQuantity(f"incoming batch {self.id}: quantity cannot be negative ({self.quantity})")


@dataclass(frozen=True)
class EtaPart:
    """Some of a backorder's units, the batch meant to cover them (None: the lead time) and their date."""

    batch_id: int | None
    units: int
    ships_by: date


@dataclass(frozen=True)
class BackorderEta:
    """When a backorder's last unit is expected to ship, and how its units are covered."""

    backorder_id: int
    ships_by: date
    parts: tuple[EtaPart, ...]


def nearest_rank_percentile(values: Sequence[int], percent: int) -> int:
    """The value at rank ceil(percent/100 × n) of the sorted values (nearest-rank method)."""
    if not values:
        raise ValueError("a percentile of no values is undefined")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100] (got {percent})")
    rank = -(-percent * len(values) // 100)  # ceil in whole numbers, no float rounding
    return sorted(values)[rank - 1]


def lateness_buffer(delays: Sequence[int]) -> int:
    """Days to add for a supplier: the 80th percentile of its past delays, 0 without history.

    Early deliveries count in the history, but a buffer never brings a date forward.
    """
    if not delays:
        return 0
    return max(nearest_rank_percentile(delays, LATENESS_PERCENTILE), 0)


def expected_wait(
    queue: Iterable[Backorder],
    incoming: Iterable[IncomingStock],
    *,
    supplier_delays: Mapping[str, Sequence[int]],
    today: date,
    lead_days: int,
    handling_days: int,
) -> list[BackorderEta]:
    """The expected ship date of each waiting backorder's last unit, in queue order (oldest first)."""
    backorders = list(queue)
    slots = _supply(incoming, supplier_delays, today, lead_days, handling_days)
    planned = _plan([b.units for b in backorders], slots, today)
    return [
        BackorderEta(backorder.id, parts[-1].ships_by, parts)
        for backorder, parts in zip(backorders, planned, strict=True)
    ]


def next_unit_eta(
    waiting: int,
    incoming: Iterable[IncomingStock],
    *,
    supplier_delays: Mapping[str, Sequence[int]],
    today: date,
    lead_days: int,
    handling_days: int,
) -> date:
    """When one more unit, ordered now behind `waiting` units, is expected to ship."""
    if waiting < 0:
        raise InvalidQuantity(f"waiting units cannot be negative (got {waiting})")
    slots = _supply(incoming, supplier_delays, today, lead_days, handling_days)
    units = [waiting, 1] if waiting else [1]
    return _plan(units, slots, today)[-1][-1].ships_by


def _supply(
    incoming: Iterable[IncomingStock],
    supplier_delays: Mapping[str, Sequence[int]],
    today: date,
    lead_days: int,
    handling_days: int,
) -> Iterator[tuple[int | None, int | None, date]]:
    """(batch id, units, date) in the order units are covered; ends with the lead time, unlimited."""
    if lead_days < 0 or handling_days < 0:
        raise InvalidQuantity(f"lead and handling days cannot be negative ({lead_days}, {handling_days})")
    handling = timedelta(days=handling_days)
    batches = sorted((b for b in incoming if b.quantity > 0), key=lambda b: (b.expected_on, b.id))
    buffers: dict[str | None, int] = {None: 0}
    for batch in batches:
        if batch.supplier not in buffers:
            buffers[batch.supplier] = lateness_buffer(supplier_delays.get(batch.supplier, ()))
        arrives = max(batch.expected_on, today) + timedelta(days=buffers[batch.supplier])
        yield batch.id, batch.quantity, arrives + handling
    yield None, None, today + timedelta(days=lead_days) + handling


def _plan(
    queue_units: list[int], slots: Iterator[tuple[int | None, int | None, date]], today: date
) -> list[tuple[EtaPart, ...]]:
    """Walk the queue through the supply once (O(backorders + batches)), keeping dates non-decreasing."""
    plans: list[tuple[EtaPart, ...]] = []
    batch_id, left, ships_by = next(slots)
    latest = today
    for units in queue_units:
        parts: list[EtaPart] = []
        need = units
        while need:
            if left == 0:
                batch_id, left, ships_by = next(slots)
            take = need if left is None else min(need, left)
            latest = max(latest, ships_by)
            parts.append(EtaPart(batch_id, take, latest))
            need -= take
            if left is not None:
                left -= take
        plans.append(tuple(parts))
    return plans
