"""What the ranking reads and answers: products, suggestions, and a merchant's substitute settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.errors import InvalidInput

DEFAULT_BAND = 0.25
DEFAULT_LIMIT = 5
MAX_LIMIT = 20


@dataclass(frozen=True)
class Product:
    """An item as the ranking sees it: what it is, what it costs, and how many can ship now."""

    sku: str
    title: str
    product_type: str = ""
    vendor: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    price: Decimal | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    available: int = 0
    # Units a shopper usually orders of this item: a substitute must be able to cover that many.
    typical_order: int = 1


@dataclass(frozen=True)
class Suggestion:
    """One substitute: which item, why (short, shopper-readable), and how close a match (0 to 1)."""

    sku: str
    title: str
    reason: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "title": self.title, "reason": self.reason, "score": self.score}


@dataclass(frozen=True)
class RankSettings:
    """A merchant's choices: price band (0.25 = ±25%), list length, pins per SKU, exclusions."""

    band: float = DEFAULT_BAND
    limit: int = DEFAULT_LIMIT
    pins: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_skus: frozenset[str] = frozenset()
    exclude_types: frozenset[str] = frozenset()  # casefolded
    cross_sell: bool = False  # WooCommerce: also write the lists as cross-sells

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> RankSettings:
        """Read `Merchant.settings["substitutes"]`; InvalidInput names the first bad value."""
        data = dict(data or {})
        unknown = sorted(set(data) - {"band", "limit", "pins", "exclude_skus", "exclude_types", "cross_sell"})
        if unknown:
            raise InvalidInput(f"unknown substitute setting(s): {', '.join(unknown)}")
        band = data.get("band", DEFAULT_BAND)
        if isinstance(band, bool) or not isinstance(band, int | float) or not 0 < band <= 1:
            raise InvalidInput(f"substitutes band must be a fraction above 0 and at most 1, got {band!r}")
        limit = data.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(
                f"substitutes limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}"
            )
        pins = data.get("pins", {})
        if not isinstance(pins, Mapping) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
            for k, v in pins.items()
        ):
            raise InvalidInput('substitutes pins must map a SKU to a list of SKUs, like {"A": ["B", "C"]}')
        cross_sell = data.get("cross_sell", False)
        if not isinstance(cross_sell, bool):
            raise InvalidInput(f"substitutes cross_sell must be true or false, got {cross_sell!r}")
        return cls(
            band=float(band),
            limit=limit,
            pins={sku: tuple(skus) for sku, skus in pins.items() if skus},
            exclude_skus=frozenset(_strings(data, "exclude_skus")),
            exclude_types=frozenset(t.casefold().strip() for t in _strings(data, "exclude_types")),
            cross_sell=cross_sell,
        )

    def pins_for(self, sku: str) -> tuple[str, ...]:
        return tuple(self.pins.get(sku, ()))


def _strings(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"substitutes {key} must be a list of strings")
    return value
