"""The labelled test catalogue (tests/data/substitutes_*.csv) as ranking inputs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from connector.substitutes import Product

DATA = Path(__file__).resolve().parents[1] / "data"
CATALOGUE = DATA / "substitutes_catalogue.csv"
LABELS = DATA / "substitutes_labels.csv"


@dataclass(frozen=True)
class Label:
    sku: str
    acceptable: frozenset[str]
    why: str


def options(text: str) -> dict[str, str]:
    return dict(part.split(":", 1) for part in text.split(";") if part)


def load_products() -> list[Product]:
    with CATALOGUE.open(newline="", encoding="utf-8") as handle:
        return [
            Product(
                sku=row["sku"],
                title=row["title"],
                product_type=row["product_type"],
                vendor=row["vendor"],
                tags=tuple(t.strip() for t in row["tags"].split(",") if t.strip()),
                description=row["description"],
                price=Decimal(row["price"]),
                options=options(row["options"]),
                available=int(row["on_hand"]),
            )
            for row in csv.DictReader(handle)
        ]


def load_labels() -> list[Label]:
    with LABELS.open(newline="", encoding="utf-8") as handle:
        return [
            Label(row["sku"], frozenset(row["acceptable"].split()), row["why"])
            for row in csv.DictReader(handle)
        ]
