"""What may be cancelled on an order: only units still waiting for stock.

Units taken from stock when the order came in, units allocated when stock arrived, shipped lines and
lines whose SKU the connector does not hold are the warehouse's business by then: a cancellation that
touches them is refused with the reason, never half done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.errors import Conflict, InvalidInput, NotFound
from connector.models import Backorder, Cancellation, Order, OrderLine
from connector.services.backorders import units_waiting

Scope = Literal["order", "lines", "waiting"]
SHIPPED = frozenset({"shipped", "fulfilled", "closed"})
# Cancellations whose units are on their way out: another request must not count them again. A
# storefront_error is among them: its refund may have landed (the answer was lost), and its retry
# settles those same units, so nobody else may cancel them meanwhile.
IN_FLIGHT = ("sending", "storefront_done", "storefront_error")


@dataclass(frozen=True)
class LineRequest:
    line_id: int
    quantity: int


@dataclass(frozen=True)
class LineState:
    """One order line as a cancellation sees it."""

    line: OrderLine
    waiting: int  # units in the queue, not yet covered by stock (minus those other requests are cancelling)
    allocated: int  # units stock arrived for
    from_stock: int  # units stock covered when the order came in
    reserved: int  # waiting units another in-flight cancellation is taking
    shipped: bool

    @property
    def remaining(self) -> int:
        """Units still on the order."""
        return self.line.quantity - self.line.quantity_cancelled

    @property
    def name(self) -> str:
        return f"line {self.line.id} ({self.line.sku or 'no SKU'})"

    def why_not(self) -> str:
        """Why (some of) this line cannot be cancelled here."""
        if self.remaining <= 0 or self.line.status == "cancelled":
            return f"{self.name} is already cancelled"
        if self.shipped:
            return f"{self.name} has shipped"
        if self.line.item_id is None:
            return f"{self.name} is not stock the connector holds; cancel it on the storefront"
        return f"{self.name}: " + ("; ".join(self.held()) or "nothing is waiting")

    def held(self) -> list[str]:
        """What keeps units of this line from being cancelled."""
        reasons = []
        if self.allocated:
            reasons.append(f"{self.allocated} unit(s) are allocated (stock was set aside; ready to ship)")
        if self.from_stock:
            reasons.append(f"{self.from_stock} unit(s) were taken from stock and are being fulfilled")
        if self.reserved:
            reasons.append(f"{self.reserved} unit(s) are being cancelled by another request")
        return reasons


@dataclass(frozen=True)
class PlannedLine:
    line_id: int
    external_id: str
    sku: str
    item_id: int | None
    quantity: int

    def as_dict(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "external_id": self.external_id,
            "sku": self.sku,
            "item_id": self.item_id,
            "quantity": self.quantity,
        }


@dataclass(frozen=True)
class Plan:
    lines: tuple[PlannedLine, ...]
    whole_order: bool


def line_states(uow: UnitOfWork, order: Order, *, except_cancellation: int | None = None) -> list[LineState]:
    """Every line of `order` with its waiting, allocated and from-stock units."""
    session = uow.session
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id))
    reserved = _reserved(uow, order.id, except_cancellation)
    by_line: dict[int, list[Backorder]] = {}
    of_order = select(Backorder).join(OrderLine).where(OrderLine.order_id == order.id)
    for backorder in session.scalars(of_order):  # one query for the order, not one per line
        by_line.setdefault(backorder.order_line_id, []).append(backorder)
    states = []
    for line in lines:
        rows = by_line.get(line.id, [])
        waiting = sum(units_waiting(b) for b in rows if b.status == "waiting")
        allocated = sum(b.quantity_allocated for b in rows)
        taken = min(reserved.get(line.id, 0), waiting)
        states.append(
            LineState(
                line=line,
                waiting=waiting - taken,
                allocated=allocated,
                from_stock=max(0, line.quantity_committed - waiting - allocated),
                reserved=taken,
                shipped=line.status in SHIPPED or order.status == "closed",
            )
        )
    return states


def plan(
    order: Order,
    states: Sequence[LineState],
    scope: Scope,
    requested: Iterable[LineRequest] | None,
    *,
    whole_if_complete: bool,
) -> Plan:
    """What to cancel: refuses with 404 (unknown line), 409 (nothing cancellable) or 422 (too many)."""
    if order.status == "cancelled":
        raise Conflict(f"order {order.id} is already cancelled")
    if scope == "lines":
        planned = _requested_lines(states, list(requested or ()))
    elif scope == "order":
        planned = _whole_order(states)
    else:
        planned = [_planned(s, s.waiting) for s in states if s.waiting > 0]
        if not planned:
            raise Conflict(f"nothing is waiting on order {order.id}: " + _reasons(states))
    by_line = {p.line_id: p.quantity for p in planned}
    complete = all(by_line.get(s.line.id, 0) == s.remaining for s in states if s.remaining > 0)
    return Plan(tuple(planned), whole_order=scope == "order" or (whole_if_complete and complete))


def _requested_lines(states: Sequence[LineState], requested: list[LineRequest]) -> list[PlannedLine]:
    if not requested:
        raise InvalidInput("give at least one line, or leave lines out to cancel the whole order")
    by_id = {s.line.id: s for s in states}
    seen: set[int] = set()
    missing, conflicts, invalid = [], [], []
    for entry in requested:
        state = by_id.get(entry.line_id)
        if state is None:
            missing.append(f"the order has no line {entry.line_id}")
        elif entry.line_id in seen:
            invalid.append(f"line {entry.line_id} is given twice")
        elif state.waiting == 0:
            conflicts.append(state.why_not())
        elif entry.quantity <= 0:
            invalid.append(f"line {entry.line_id}: quantity must be at least 1 (got {entry.quantity})")
        elif entry.quantity > state.waiting:
            invalid.append(
                f"line {entry.line_id}: {entry.quantity} requested but only {state.waiting} waiting"
                + "".join(f"; {reason}" for reason in state.held())
            )
        seen.add(entry.line_id)
    for problems, error in ((missing, NotFound), (conflicts, Conflict), (invalid, InvalidInput)):
        if problems:
            raise error("; ".join(problems))
    return [_planned(by_id[e.line_id], e.quantity) for e in requested]


def _whole_order(states: Sequence[LineState]) -> list[PlannedLine]:
    """Every remaining unit must still be waiting; otherwise nothing happens and the reasons are told."""
    blocked = [s for s in states if s.remaining > 0 and s.waiting < s.remaining]
    if blocked:
        raise Conflict(
            "the whole order cannot be cancelled here: "
            + "; ".join(s.why_not() for s in blocked)
            + ". Cancel the waiting lines one by one, or cancel the order on the storefront."
        )
    planned = [_planned(s, s.waiting) for s in states if s.waiting > 0]
    if not planned:
        raise Conflict("nothing is left on this order to cancel")
    return planned


def _planned(state: LineState, quantity: int) -> PlannedLine:
    line = state.line
    return PlannedLine(line.id, line.external_id, line.sku, line.item_id, quantity)


def _reasons(states: Sequence[LineState]) -> str:
    return "; ".join(s.why_not() for s in states if s.remaining > 0) or "every line is cancelled"


def _reserved(uow: UnitOfWork, order_id: int, except_id: int | None) -> dict[int, int]:
    query = select(Cancellation).where(Cancellation.order_id == order_id, Cancellation.status.in_(IN_FLIGHT))
    if except_id is not None:
        query = query.where(Cancellation.id != except_id)
    reserved: dict[int, int] = {}
    for row in uow.session.scalars(query):
        for entry in row.lines or []:
            reserved[entry["line_id"]] = reserved.get(entry["line_id"], 0) + int(entry["quantity"])
    return reserved
