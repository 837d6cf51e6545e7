"""Stock levels and the changes the ledger can make to them."""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import Conflict, InvalidInput


class InvalidQuantity(InvalidInput):
    """A quantity that makes no sense for the movement asked for."""


@dataclass(frozen=True)
class Shortfall:
    sku: str
    requested: int
    available: int


class InsufficientStock(Conflict):
    """Every line that could not be covered, in one error."""

    def __init__(self, shortfalls: list[Shortfall]):
        detail = ", ".join(f"{s.sku}: wanted {s.requested}, available {s.available}" for s in shortfalls)
        super().__init__(f"insufficient stock: {detail}")
        self.shortfalls = shortfalls


@dataclass(frozen=True)
class StockLevel:
    """An item's stock at one moment. Available = on hand − committed − safety stock."""

    sku: str
    on_hand: int
    committed: int
    safety_stock: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.committed - self.safety_stock

    @property
    def sellable(self) -> int:
        """What a storefront may offer: never below zero."""
        return max(self.available, 0)

    @property
    def held_back(self) -> int:
        """Safety stock still on the shelf: not offered, but there to serve an order that raced a sell-out."""
        return max(min(self.safety_stock, self.on_hand - self.committed), 0)


@dataclass(frozen=True)
class Change:
    """What a movement does to on hand and committed."""

    kind: str
    on_hand_delta: int = 0
    committed_delta: int = 0

    def apply(self, level: StockLevel) -> StockLevel:
        return StockLevel(
            sku=level.sku,
            on_hand=level.on_hand + self.on_hand_delta,
            committed=level.committed + self.committed_delta,
            safety_stock=level.safety_stock,
        )


def receive(level: StockLevel, quantity: int) -> Change:
    """Stock arrived: on hand goes up."""
    _require_positive(quantity, "received quantity")
    return Change("receive", on_hand_delta=quantity)


def adjust(level: StockLevel, delta: int) -> Change:
    """A correction by a signed amount (count, damage, external edit); on hand never goes negative."""
    if delta == 0:
        raise InvalidQuantity("an adjustment must change the quantity (got 0)")
    if level.on_hand + delta < 0:
        raise InvalidQuantity(
            f"{level.sku}: adjusting by {delta} would leave on hand at {level.on_hand + delta}"
        )
    return Change("adjust", on_hand_delta=delta)


def set_on_hand(level: StockLevel, quantity: int) -> Change:
    """A count: on hand becomes exactly `quantity`."""
    if quantity < 0:
        raise InvalidQuantity(f"on hand cannot be negative (got {quantity})")
    return Change("set", on_hand_delta=quantity - level.on_hand)


def commit(level: StockLevel, quantity: int, *, allow_shortfall: bool = False) -> Change:
    """Reserve stock for an order line; refuses to go below available unless a shortfall is allowed."""
    _require_positive(quantity, "committed quantity")
    if not allow_shortfall and quantity > level.available:
        raise InsufficientStock([Shortfall(level.sku, quantity, level.sellable)])
    return Change("commit", committed_delta=quantity)


def release(level: StockLevel, quantity: int) -> Change:
    """Give back stock an order had reserved (cancellation, refund with restock)."""
    _require_positive(quantity, "released quantity")
    if quantity > level.committed:
        raise InvalidQuantity(f"{level.sku}: cannot release {quantity}, only {level.committed} committed")
    return Change("release", committed_delta=-quantity)


def _require_positive(quantity: int, what: str) -> None:
    if quantity <= 0:
        raise InvalidQuantity(f"{what} must be a positive whole number (got {quantity})")
