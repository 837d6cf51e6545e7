"""How products are compared: normalised option names and values, size-like options, and the text
that the TF-IDF model reads."""

from __future__ import annotations

import re
from collections.abc import Mapping

from connector.substitutes.model import Product

# Options that decide whether the item fits the shopper (or their phone); another value is another product for
# them. Colour and the like are preferences: matching is better, differing is still a substitute.
FIT_WORDS = ("size", "waist", "inseam", "cup", "width", "fit", "model", "device")
_NAME_ALIASES = {"color": "colour", "colours": "colour", "colors": "colour"}
_VALUE_ALIASES = {
    "extra small": "xs",
    "x-small": "xs",
    "small": "s",
    "medium": "m",
    "large": "l",
    "extra large": "xl",
    "x-large": "xl",
    "xx-large": "xxl",
    "2xl": "xxl",
    "gray": "grey",
}
_SPACES = re.compile(r"\s+")


def option_name(name: str) -> str:
    key = _SPACES.sub(" ", name.casefold().strip())
    return _NAME_ALIASES.get(key, key)


def option_value(value: str) -> str:
    key = _SPACES.sub(" ", str(value).casefold().strip())
    return _VALUE_ALIASES.get(key, key)


def is_fit_option(name: str) -> bool:
    """True for size-like options (normalised name)."""
    return any(word in name for word in FIT_WORDS)


def normalised_options(options: Mapping[str, str]) -> dict[str, str]:
    return {option_name(k): option_value(v) for k, v in (options or {}).items() if str(v).strip()}


def label(text: str) -> str:
    """A product type, vendor or tag as compared: case and spacing do not matter."""
    return _SPACES.sub(" ", (text or "").casefold().strip())


def document(product: Product) -> str:
    """The text TF-IDF reads. The title is given twice: it says what the thing is, while the type,
    vendor and tags are shared by many unlike items and the description is long and loose."""
    parts = [product.title, product.title, product.product_type, product.vendor, " ".join(product.tags)]
    parts.append(product.description or "")
    return " ".join(p for p in parts if p)
