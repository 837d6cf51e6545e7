"""Ranking substitutes: the one function the rest of the connector calls, so it can be replaced.

A candidate must be able to cover a typical order now, not be excluded, cost within the merchant's price
band, and be plausibly the same kind of thing: the same product type with some text in common, or very
similar text. A shopper who wanted size M wants size M: an item in another size (waist, phone model …)
is never offered; one without that option (a one-size item) may be. The rest is a weighted score of text similarity (TF-IDF cosine), type,
shared tags, brand, matching preference options (colour …) and price closeness. Pins come first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from connector.substitutes import features
from connector.substitutes.index import ABSENT, SubstituteIndex
from connector.substitutes.model import Product, RankSettings, Suggestion

MIN_TEXT_SAME_TYPE = 0.10
MIN_TEXT_OTHER_TYPE = 0.45
WEIGHTS = {"text": 0.45, "type": 0.15, "tags": 0.10, "vendor": 0.05, "options": 0.10, "price": 0.15}
MAX_REASON_PARTS = 4


def rank_substitutes(
    target: Product, candidates: Sequence[Product] | SubstituteIndex, *, settings: RankSettings
) -> list[Suggestion]:
    """The best in-stock substitutes for `target`, pins first; empty when nothing is plausible.

    `candidates` is the catalogue, or a `SubstituteIndex` built from it once for many targets."""
    index = candidates if isinstance(candidates, SubstituteIndex) else SubstituteIndex.build(candidates)
    needed = max(target.typical_order, 1)
    pinned = _pinned_rows(target, index, settings, needed)
    found = index.matches(target, minimum=min(MIN_TEXT_SAME_TYPE, MIN_TEXT_OTHER_TYPE))
    keep = _eligible(target, index, found.rows, settings, needed, skip=pinned)
    rows, text = found.rows[keep], found.text[keep]
    parts = _components(target, index, rows, text, settings.band)
    plausible = (parts["type"] & (text >= MIN_TEXT_SAME_TYPE)) | (text >= MIN_TEXT_OTHER_TYPE)
    rows, parts = rows[plausible], {k: v[plausible] for k, v in parts.items()}
    fits = ~_other_size(target, index, rows)
    rows, parts = rows[fits], {k: v[fits] for k, v in parts.items()}
    score = _score(parts)
    room = max(settings.limit - len(pinned), 0)
    best = np.lexsort((index.sku_rank[rows], -score))[:room]
    pins = _pinned_suggestions(target, index, pinned, settings.band) if pinned else []
    return pins + [_suggestion(target, index, int(rows[i]), float(score[i]), _at(parts, i)) for i in best]


def _pinned_rows(target: Product, index: SubstituteIndex, settings: RankSettings, needed: int) -> list[int]:
    rows: list[int] = []
    for sku in settings.pins_for(target.sku):
        row = index.row_of.get(sku)
        if row is not None and sku != target.sku and index.available[row] >= needed and row not in rows:
            rows.append(row)
    return rows


def _eligible(target, index, rows, settings, needed, *, skip) -> np.ndarray:
    keep = index.available[rows] >= needed
    own = index.row_of.get(target.sku)
    excluded = [index.row_of[s] for s in settings.exclude_skus if s in index.row_of]
    drop = [*skip, *excluded, *([own] if own is not None else [])]
    if drop:
        keep &= ~np.isin(rows, np.array(drop, np.int64))
    if settings.exclude_types:
        codes = [index.types.find(t) for t in settings.exclude_types]
        keep &= ~np.isin(index.type_code[rows], np.array(codes, np.int32))
    if target.price is not None and target.price > 0:
        relative = (index.price[rows] - float(target.price)) / float(target.price)
        keep &= np.isnan(relative) | (np.abs(relative) <= settings.band + 1e-9)
    return keep


def _components(target, index, rows, text, band) -> dict[str, np.ndarray]:
    """Each signal per row, from 0 to 1 (booleans for type and vendor)."""
    type_code = index.types.find(features.label(target.product_type))
    vendor_code = index.vendors.find(features.label(target.vendor))
    shared, wanted = index.shared_tags(target, rows)
    union = wanted + index.tag_count[rows] - shared
    tags = np.divide(shared, union, out=np.zeros(len(rows)), where=union > 0)
    if target.price is not None and target.price > 0:
        relative = (index.price[rows] - float(target.price)) / float(target.price)
        closeness = np.where(np.isnan(relative), 0.5, 1 - np.minimum(np.abs(relative) / band, 1))
    else:
        relative, closeness = np.full(len(rows), np.nan), np.full(len(rows), 0.5)
    return {
        "text": text.astype(np.float64),
        "type": (index.type_code[rows] == type_code) & (type_code >= 0),
        "vendor": (index.vendor_code[rows] == vendor_code) & (vendor_code >= 0),
        "tags": tags,
        "options": _preferences_matched(target, index, rows),
        "price": closeness,
        "relative_price": relative,
    }


def _preferences_matched(target, index, rows) -> np.ndarray:
    """The share of the target's preference options (colour …) each row has with the same value."""
    wanted = {
        n: v for n, v in features.normalised_options(target.options).items() if not features.is_fit_option(n)
    }
    if not wanted:
        return np.full(len(rows), 0.5)
    matched = np.zeros(len(rows))
    for name, value in wanted.items():
        codes = index.option_codes(name, rows)
        if codes is not None:
            matched += codes == index.option_code(name, value)
    return matched / len(wanted)


def _other_size(target, index, rows) -> np.ndarray:
    """True for rows whose size-like option has another value than the target's."""
    differs = np.zeros(len(rows), bool)
    for name, value in features.normalised_options(target.options).items():
        codes = index.option_codes(name, rows) if features.is_fit_option(name) else None
        if codes is not None:
            differs |= (codes != ABSENT) & (codes != index.option_code(name, value))
    return differs


def _score(parts: dict[str, np.ndarray]) -> np.ndarray:
    return sum(WEIGHTS[name] * parts[name].astype(np.float64) for name in WEIGHTS)


def _at(parts: dict[str, np.ndarray], i: int) -> dict[str, float]:
    return {name: float(values[i]) for name, values in parts.items()}


def _pinned_suggestions(target, index, pinned, band) -> list[Suggestion]:
    rows = np.array(pinned, np.int64)
    parts = _components(target, index, rows, index.text_similarity(target, rows), band)
    score = _score(parts)
    return [
        _suggestion(target, index, int(row), float(score[i]), _at(parts, i), pinned=True)
        for i, row in enumerate(rows)
    ]


def _suggestion(target, index, row, score, parts, *, pinned=False) -> Suggestion:
    product = index.products[row]
    return Suggestion(product.sku, product.title, _reason(target, index, row, parts, pinned), round(score, 3))


def _reason(target: Product, index: SubstituteIndex, row: int, parts: dict, pinned: bool) -> str:
    """Short and shopper-readable: "same type, same size, 8% cheaper"."""
    said = ["pinned"] if pinned else []
    said += (
        ["same type"] if parts["type"] else (["similar item"] if parts["text"] >= MIN_TEXT_OTHER_TYPE else [])
    )
    candidate = index.products[row]
    for name, value in features.normalised_options(target.options).items():
        theirs = index.option_value(row, name)
        if theirs == value:
            said.append(f"same {name}")
        elif theirs is not None and features.is_fit_option(name):
            said.append(f"{name} {_shown_value(candidate, name)}")
    if parts["vendor"]:
        said.append("same brand")
    said = said[: MAX_REASON_PARTS - 1]
    relative = parts["relative_price"]
    if not np.isnan(relative):
        percent = round(abs(relative) * 100)
        said.append("same price" if percent == 0 else f"{percent}% {'cheaper' if relative < 0 else 'dearer'}")
    return ", ".join(said) or "similar item"


def _shown_value(product: Product, name: str) -> str:
    return next((v for k, v in product.options.items() if features.option_name(k) == name), "")
