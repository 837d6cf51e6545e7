"""Items as a catalogue file describes them: parsing and checking one row at a time."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

COLUMNS = ("sku", "title", "product_type", "vendor", "tags", "price", "options", "on_hand")
MAX_SKU = 200


class RowError(ValueError):
    """A row that cannot be imported; the message says why."""


@dataclass(frozen=True)
class ItemDraft:
    sku: str
    title: str
    product_type: str = ""
    vendor: str = ""
    tags: list[str] = field(default_factory=list)
    price: Decimal | None = None
    options: dict[str, str] = field(default_factory=dict)
    on_hand: int = 0


@dataclass
class ParsedCatalog:
    drafts: list[ItemDraft]
    problems: list[tuple[int, str]]  # (line number in the file, reason)


def parse_catalog(lines: Iterable[str]) -> ParsedCatalog:
    """Parse a catalogue CSV; every bad row is reported with its line number, duplicates included."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return ParsedCatalog([], [(1, f"header is missing column(s): {', '.join(missing)}")])
    reader.fieldnames = header
    drafts: list[ItemDraft] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, row in _numbered(reader):
        try:
            draft = parse_row(row)
        except RowError as error:
            problems.append((line, str(error)))
            continue
        if draft.sku in seen:
            problems.append((line, f"duplicate SKU {draft.sku!r} (first on line {seen[draft.sku]})"))
            continue
        seen[draft.sku] = line
        drafts.append(draft)
    return ParsedCatalog(drafts, problems)


def parse_row(row: dict[str, str | None]) -> ItemDraft:
    """One CSV row to an ItemDraft, or RowError saying what is wrong."""
    if None in row:
        raise RowError("more fields than the header has columns")
    values = {k: (v or "").strip() for k, v in row.items()}
    sku = values["sku"]
    if not sku:
        raise RowError("sku is empty")
    if len(sku) > MAX_SKU:
        raise RowError(f"sku is longer than {MAX_SKU} characters")
    return ItemDraft(
        sku=sku,
        title=values["title"],
        product_type=values["product_type"],
        vendor=values["vendor"],
        tags=parse_tags(values["tags"]),
        price=parse_price(values["price"]),
        options=parse_options(values["options"]),
        on_hand=parse_quantity(values["on_hand"]),
    )


def parse_tags(text: str) -> list[str]:
    tags: list[str] = []
    for tag in (t.strip() for t in text.split(",")):
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def parse_price(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise RowError(f"price {text!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise RowError(f"price {text!r} must be zero or more")
    if price != price.quantize(Decimal("0.01")):
        raise RowError(f"price {text!r} has more than two decimal places")
    return price.quantize(Decimal("0.01"))


def parse_options(text: str) -> dict[str, str]:
    """`Size:M;Colour:Blue` → {"Size": "M", "Colour": "Blue"}."""
    options: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise RowError(f"option {part!r} is not Name:Value")
        if name.strip() in options:
            raise RowError(f"option {name.strip()!r} is given twice")
        options[name.strip()] = value.strip()
    return options


def parse_quantity(text: str) -> int:
    if not text:
        return 0
    if not text.lstrip("-").isdigit():
        raise RowError(f"on_hand {text!r} is not a whole number")
    quantity = int(text)
    if quantity < 0:
        raise RowError(f"on_hand {text!r} must be zero or more")
    return quantity


def _numbered(reader: csv.DictReader) -> Iterator[tuple[int, dict[str, str | None]]]:
    for row in reader:
        # line_num is the physical line where the row ended, which is right for one-line rows and
        # for quoted multi-line fields names the last line, still enough to find it.
        yield reader.line_num, row
