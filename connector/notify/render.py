"""Messages from Jinja2 templates, text and HTML, in the merchant's language with dates by Babel.

Templates live in `templates/<locale>/<kind>.txt|.html` and extend that locale's `layout`; the text
template sets `subject`. A merchant's locale picks `de_CH/`, then `de/`, then `en/`, so adding a
language is adding a folder. Dates and money are always formatted in the merchant's own locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")
FALLBACK_LOCALE = "en"


class RenderError(Exception):
    """A message cannot be built (no template for its kind, or a template error); retrying won't help."""


@dataclass(frozen=True)
class Links:
    cancel_url: str | None = None
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built on first use; autoescaping is on for the HTML templates only."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(kind: str, payload: dict[str, Any], *, shop: str, locale: str, links: Links) -> Rendered:
    """The subject, text and HTML of a `kind` message for this payload."""
    where = babel_locale(locale)
    context = _context(payload, shop=shop, locale=where, links=links)
    text_template = _template(kind, "txt", where)
    try:
        module = text_template.make_module(context)
        subject = " ".join(str(getattr(module, "subject", "")).split())  # one line: headers cannot fold in it
        text = _tidy(str(module))
        html = _template(kind, "html", where).render(context, subject=subject)
    except Exception as error:  # any template error means this message cannot be built as it stands
        raise RenderError(f"template for {kind!r} failed: {type(error).__name__}: {error}") from error
    return Rendered(subject, text, html)


def render_page(name: str, **context: Any) -> str:
    """A small web page (unsubscribe) from `templates/pages/`."""
    return environment().get_template(f"pages/{name}").render(**context)


def babel_locale(identifier: str | None) -> Locale:
    try:
        return Locale.parse((identifier or FALLBACK_LOCALE).replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(FALLBACK_LOCALE)


def _template(kind: str, extension: str, where: Locale):
    names = [f"{where!s}/{kind}.{extension}", f"{where.language}/{kind}.{extension}"]
    names.append(f"{FALLBACK_LOCALE}/{kind}.{extension}")
    try:
        return environment().select_template(names)
    except TemplateNotFound:
        raise RenderError(f"no {extension} template for notifications of kind {kind!r}") from None


def _context(payload: dict[str, Any], *, shop: str, locale: Locale, links: Links) -> dict[str, Any]:
    eta, previous = _date(payload.get("eta")), _date(payload.get("previous_eta"))
    return {
        "p": payload,
        "lang": locale.language,
        "shop": shop,
        "customer_name": _first_name(payload.get("customer_name")),
        "order": order_label(payload.get("order_number")),
        "title": payload.get("title") or payload.get("sku") or "",
        "sku": payload.get("sku"),
        "quantity": payload.get("quantity"),
        "eta": _long(eta, locale),
        "previous_eta": _long(previous, locale),
        "earlier": bool(eta and previous and eta < previous),
        "promised_date": _long(_date(payload.get("promised_date")), locale),
        "respond_by": _long(_date(payload.get("respond_by")), locale),
        "wait_text": payload.get("wait_text"),
        "substitutes": list(payload.get("substitutes") or [])[:3],
        "lines": list(payload.get("lines") or []),
        "refunded_amount": _money(payload.get("refunded_amount"), payload.get("currency"), locale),
        "reason": payload.get("reason"),
        "discount_code": payload.get("discount_code"),
        **_discount_terms(payload.get("discount"), locale),
        "confirm_url": payload.get("confirm_url"),
        "cancel_url": links.cancel_url,
        "unsubscribe_url": links.unsubscribe_url,
    }


def _discount_terms(discount: Any, locale: Locale) -> dict[str, str | None]:
    """An apology code's percentage (a fixed amount is in the shop's currency, which we do not know
    here, so it is left to the code) and its last day."""
    terms = discount if isinstance(discount, dict) else {}
    percent = None
    if terms.get("type") == "percentage":
        try:
            percent = format_percent(Decimal(str(terms.get("value"))) / 100, locale=locale)
        except InvalidOperation:
            percent = None
    try:
        expires = datetime.fromisoformat(str(terms.get("expires_at"))).date()
    except ValueError:
        expires = None
    return {"discount_percent": percent, "discount_expires": _long(expires, locale)}


def order_label(number: Any) -> str:
    text = str(number or "").strip()
    return text if text.startswith("#") or not text else f"#{text}"


def _first_name(name: Any) -> str:
    parts = str(name or "").split()
    return parts[0] if parts else ""


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _long(value: date | None, locale: Locale) -> str | None:
    return format_date(value, format="long", locale=locale) if value else None


def _money(amount: Any, currency: Any, locale: Locale) -> str | None:
    if amount in (None, ""):
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return None
    if not value:
        return None
    return format_currency(value, currency, locale=locale) if currency else f"{value:.2f}"


def _tidy(text: str) -> str:
    """No run of blank lines longer than one, whatever the conditionals left behind."""
    lines, out = text.strip().splitlines(), []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out) + "\n"
