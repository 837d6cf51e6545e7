"""The wait a storefront shows, from a merchant template, in the merchant's language.

Conservative: a text never promises earlier than the computed date. A range's upper bound is at
least the computed wait and every rounding goes later:

- up to 13 days: days, from max(1, n − 2) to n ("Ships in 4–6 days"; a single "1 day" at one);
- from 14 days: weeks, from w − 1 to w with w = ceil(n / 7) ("Ships in 1–2 weeks" at 14 days,
  "2–3 weeks" from 15 to 21).

A date is the ETA itself (never before today), as the locale writes a day and month ("14 December"
in en_GB, "December 14" in en, "14. Dezember" in de); the year is added once the day and month
alone would read as an earlier date, that is from the same day a year ahead.

Babel formats one quantity with its unit ("3 weeks", "3 Wochen", "3 semaines"). A range is that
text for the upper bound with its number replaced by "lower–upper": the unit word takes the upper
bound's plural form, which is what CLDR's plural-range rules give for en, de and fr.
"""

from __future__ import annotations

from datetime import date, timedelta
from string import Formatter
from typing import Literal, NamedTuple

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal
from babel.units import format_unit

from connector.errors import InvalidInput

WaitStyle = Literal["range", "date"]
RANGE_DASH = "\u2013"  # en dash, as in "2–3 weeks"
DAYS_SHOWN_UP_TO = 13

DEFAULT_TEMPLATES: dict[str, dict[WaitStyle, str]] = {
    "en": {"range": "Ships in {range}", "date": "Ships by {date}"},
    # "Lieferzeit:" because Babel's unit words are nominative ("2 Tage"); "in" would need "Tagen".
    "de": {"range": "Lieferzeit: {range}", "date": "Versand bis {date}"},
    "fr": {"range": "Expédition sous {range}", "date": "Expédition d’ici le {date}"},
}
PLACEHOLDERS = ("range", "date")  # each style's own placeholder is named after it


class InvalidWaitSetting(InvalidInput, ValueError):
    """A wait text setting (style, locale) that cannot be used."""


class InvalidTemplate(InvalidWaitSetting):
    """A merchant template that cannot be rendered; the message names the problem."""


class WaitRange(NamedTuple):
    low: int
    high: int
    unit: Literal["day", "week"]


def wait_range(eta: date, today: date) -> WaitRange:
    """The conservative range for a wait from today to the ETA (at least one day)."""
    days = max((eta - today).days, 1)
    if days <= DAYS_SHOWN_UP_TO:
        return WaitRange(max(1, days - 2), days, "day")
    weeks = -(-days // 7)
    return WaitRange(weeks - 1, weeks, "week")


def validate_template(template: str, style: WaitStyle) -> None:
    """Refuse a template with unknown or malformed placeholders, or without the one its style needs."""
    _check_style(style)
    try:
        fields = [
            (name, spec, conv) for _, name, spec, conv in Formatter().parse(template) if name is not None
        ]
    except ValueError as error:
        raise InvalidTemplate(f"template {template!r} is malformed: {error}") from error
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    for name, spec, conversion in fields:
        if name not in PLACEHOLDERS:
            raise InvalidTemplate(f"template {template!r}: unknown placeholder {{{name}}}; use {known}")
        if spec or conversion:
            raise InvalidTemplate(f"template {template!r}: write {{{name}}} without a format or conversion")
    if style not in {name for name, _, _ in fields}:
        raise InvalidTemplate(f"template {template!r} must contain {{{style}}} for the {style} style")


def render_wait_text(
    eta: date,
    today: date,
    *,
    locale: str,
    template: str | None = None,
    style: WaitStyle = "range",
) -> str:
    """The wait text for an ETA, from the merchant's template or the locale's default one.

    `today` is the merchant's date (in the merchant's timezone); a template may show both {range}
    and {date}, and must show the one its style names.
    """
    _check_style(style)
    where = _locale(locale)
    if template is None:
        template = DEFAULT_TEMPLATES.get(where.language, DEFAULT_TEMPLATES["en"])[style]
    validate_template(template, style)
    return template.format(range=format_range(eta, today, where), date=format_ship_date(eta, today, where))


def format_range(eta: date, today: date, locale: Locale | str) -> str:
    """The conservative range alone, localised: "4–6 days", "2–3 Wochen", "1–2 semaines"."""
    where = _locale(locale) if isinstance(locale, str) else locale
    low, high, unit = wait_range(eta, today)
    single = format_unit(high, f"duration-{unit}", locale=where)
    if low == high:
        return single
    number = format_decimal(high, locale=where)
    span = f"{format_decimal(low, locale=where)}{RANGE_DASH}{number}"
    return single.replace(number, span, 1)


def format_ship_date(eta: date, today: date, locale: Locale | str) -> str:
    """The ETA (never before today) as the locale writes a day and month, with the year when needed."""
    where = _locale(locale) if isinstance(locale, str) else locale
    shown = max(eta, today)
    if shown >= _same_day_next_year(today):
        return format_date(shown, format="long", locale=where)
    return format_skeleton("MMMMd", shown, locale=where)


def _same_day_next_year(today: date) -> date:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February: the day after 28 February next year
        return date(today.year + 1, 2, 28) + timedelta(days=1)


def _locale(identifier: str) -> Locale:
    try:
        return Locale.parse(identifier.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError) as error:
        raise InvalidWaitSetting(f"unknown locale {identifier!r} for wait texts") from error


def _check_style(style: str) -> None:
    if style not in PLACEHOLDERS:
        raise InvalidWaitSetting(f"unknown wait text style {style!r}; use 'range' or 'date'")
