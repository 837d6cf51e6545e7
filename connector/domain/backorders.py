"""Backorder policy, how an order line splits into stock and backorder, and who gets arriving stock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

from connector.domain.stock import InvalidQuantity
from connector.errors import InvalidInput

PolicyKind = Literal["deny", "allow", "allow-up-to"]
StorefrontState = Literal["in_stock", "backorder", "sold_out"]

POLICY_KINDS: tuple[str, ...] = get_args(PolicyKind)
_LIMITED = re.compile(r"allow-up-to:([1-9][0-9]*)", re.ASCII)


class InvalidPolicy(InvalidInput, ValueError):
    """A backorder policy that cannot be understood; the message shows what is accepted."""


@dataclass(frozen=True)
class BackorderPolicy:
    """How an item may be sold past zero, and the numbers its waits are computed from."""

    kind: PolicyKind = "deny"
    limit: int | None = None  # most units that may wait at once; only with "allow-up-to"
    lead_days: int = 0  # supplier lead time when nothing is incoming
    max_wait_days: int | None = None  # longest wait a customer may be offered; None: no maximum
    handling_days: int = 0  # from arrival to dispatch
    safety_stock: int = 0

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise InvalidPolicy(f"unknown backorder policy {self.kind!r}; use {_ACCEPTED}")
        if self.kind == "allow-up-to" and (self.limit is None or self.limit < 1):
            raise InvalidPolicy(f"allow-up-to needs a limit of at least 1 (got {self.limit})")
        if self.kind != "allow-up-to" and self.limit is not None:
            raise InvalidPolicy(f"a limit only goes with allow-up-to, not with {self.kind!r}")
        for name in ("lead_days", "handling_days", "safety_stock"):
            if getattr(self, name) < 0:
                raise InvalidPolicy(f"{name} cannot be negative (got {getattr(self, name)})")
        if self.max_wait_days is not None and self.max_wait_days < 0:
            raise InvalidPolicy(f"max_wait_days cannot be negative (got {self.max_wait_days})")

    @property
    def text(self) -> str:
        """The policy as `parse_policy` reads it: deny, allow or allow-up-to:N."""
        return f"allow-up-to:{self.limit}" if self.kind == "allow-up-to" else self.kind


_ACCEPTED = "'deny', 'allow' or 'allow-up-to:N' with N a whole number of at least 1"


def parse_policy(text: str) -> tuple[PolicyKind, int | None]:
    """Read `deny`, `allow` or `allow-up-to:N` (N ≥ 1) into (kind, limit); anything else is refused."""
    if text == "deny" or text == "allow":
        return text, None
    limited = _LIMITED.fullmatch(text)
    if limited is None:
        raise InvalidPolicy(f"unknown backorder policy {text!r}; use {_ACCEPTED}")
    return "allow-up-to", int(limited.group(1))


@dataclass(frozen=True)
class PolicyOverrides:
    """What an item sets for itself; None inherits the merchant's value (as the item columns do)."""

    kind: PolicyKind | None = None
    limit: int | None = None  # read only when the item sets its own kind
    lead_days: int | None = None
    max_wait_days: int | None = None
    handling_days: int | None = None
    safety_stock: int | None = None


def effective_policy(item_overrides: PolicyOverrides, merchant_defaults: BackorderPolicy) -> BackorderPolicy:
    """The item's own values where it has them, the merchant's otherwise."""
    if item_overrides.kind is None:
        kind, limit = merchant_defaults.kind, merchant_defaults.limit
    else:
        # Kind and limit travel together: an item never mixes its kind with the merchant's limit.
        kind = item_overrides.kind
        limit = item_overrides.limit if kind == "allow-up-to" else None

    def pick(name: str) -> int | None:
        own = getattr(item_overrides, name)
        return getattr(merchant_defaults, name) if own is None else own

    return BackorderPolicy(
        kind=kind,
        limit=limit,
        lead_days=pick("lead_days"),
        max_wait_days=pick("max_wait_days"),
        handling_days=pick("handling_days"),
        safety_stock=pick("safety_stock"),
    )


def backorder_room(
    waiting: int, policy: BackorderPolicy, *, expected_wait_days: int | None = None
) -> int | None:
    """How many more units may wait: 0 when sold out, None when there is no limit.

    A known expected wait longer than the policy's maximum wait also leaves no room.
    """
    if waiting < 0:
        raise InvalidQuantity(f"waiting units cannot be negative (got {waiting})")
    too_long = (
        expected_wait_days is not None
        and policy.max_wait_days is not None
        and expected_wait_days > policy.max_wait_days
    )
    if policy.kind == "deny" or too_long:
        return 0
    if policy.kind == "allow":
        return None
    return max((policy.limit or 0) - waiting, 0)


def storefront_state(
    available: int, waiting: int, policy: BackorderPolicy, *, expected_wait_days: int | None = None
) -> StorefrontState:
    """What a storefront shows: in stock while anything is available, then backorder or sold out."""
    if available > 0:
        return "in_stock"
    room = backorder_room(waiting, policy, expected_wait_days=expected_wait_days)
    return "sold_out" if room == 0 else "backorder"


class LineSplit(NamedTuple):
    """Every requested unit, accounted for once: committed + backordered + oversold == requested."""

    committed: int  # taken from available stock
    backordered: int  # waiting, within the policy
    oversold: int  # waiting too, past the policy (a storefront race): support must look at them

    @property
    def waiting(self) -> int:
        """Units that become backorders, oversold ones included."""
        return self.backordered + self.oversold

    @property
    def needs_support(self) -> bool:
        return self.oversold > 0


def split_order_line(
    requested: int,
    available: int,
    waiting: int,
    policy: BackorderPolicy,
    *,
    expected_wait_days: int | None = None,
    held_back: int = 0,
) -> LineSplit:
    """Split an order line into units from stock, units allowed to wait, and oversold units.

    An order that arrives although the policy says sold out (another storefront sold the last units a
    moment earlier and this one had not caught up) is never dropped. Units past the policy are served
    from the safety stock still on the shelf (`held_back`: what the merchant keeps back for exactly this),
    but only while nobody waits, so no one is served ahead of an earlier order; the rest are oversold
    backorders, flagged for support.
    """
    if requested < 1:
        raise InvalidQuantity(f"an order line must ask for at least 1 unit (got {requested})")
    if held_back < 0:
        raise InvalidQuantity(f"safety stock on the shelf cannot be negative (got {held_back})")
    committed = min(requested, max(available, 0))
    short = requested - committed
    room = backorder_room(waiting, policy, expected_wait_days=expected_wait_days)
    backordered = short if room is None else min(short, room)
    past_policy = short - backordered
    from_safety = min(past_policy, held_back) if waiting == 0 else 0
    return LineSplit(committed + from_safety, backordered, past_policy - from_safety)


def served_from_safety_stock(split: LineSplit, available: int) -> int:
    """Of a split's committed units, those beyond what was available: the safety stock served them (a
    race between storefronts it absorbed)."""
    return max(split.committed - max(available, 0), 0)


@dataclass(frozen=True)
class Backorder:
    """A place in an item's waiting queue: the units of one order line still waiting for stock."""

    id: int
    units: int

    def __post_init__(self) -> None:
        if self.units < 1:
            raise InvalidQuantity(f"backorder {self.id}: waiting units must be at least 1 (got {self.units})")


class Allocation(NamedTuple):
    backorder_id: int
    units: int


class Arrival(NamedTuple):
    """Where arriving stock went: to waiting backorders, and what is left to sell."""

    allocations: list[Allocation]
    remainder: int


def allocate_arrivals(queue: Iterable[Backorder], units: int) -> Arrival:
    """Give arriving units to the waiting backorders strictly oldest first (the queue's order).

    The last one served may get part of what it waits for; only the remainder is for sale.
    """
    if units < 0:
        raise InvalidQuantity(f"arriving units cannot be negative (got {units})")
    allocations: list[Allocation] = []
    if units == 0:
        return Arrival(allocations, 0)
    left = units
    for backorder in queue:
        given = min(backorder.units, left)
        allocations.append(Allocation(backorder.id, given))
        left -= given
        if left == 0:
            break
    return Arrival(allocations, left)
