"""The wait a storefront shows: conservative, from the merchant's template, in the merchant's language."""

from datetime import date, timedelta

import pytest

from connector.domain.wait_text import (
    InvalidTemplate,
    InvalidWaitSetting,
    WaitRange,
    render_wait_text,
    validate_template,
    wait_range,
)

TODAY = date(2025, 12, 1)
NBSP = "\xa0"


def in_days(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, WaitRange(1, 1, "day")),
        (1, WaitRange(1, 1, "day")),
        (2, WaitRange(1, 2, "day")),
        (6, WaitRange(4, 6, "day")),
        (13, WaitRange(11, 13, "day")),
        (14, WaitRange(1, 2, "week")),
        (15, WaitRange(2, 3, "week")),
        (21, WaitRange(2, 3, "week")),
        (22, WaitRange(3, 4, "week")),
    ],
)
def test_days_up_to_13_then_weeks_rounded_up(days, expected):
    assert wait_range(in_days(days), TODAY) == expected


def test_the_range_upper_bound_is_never_below_the_wait():
    for days in range(0, 400):
        low, high, unit = wait_range(in_days(days), TODAY)
        assert 1 <= low <= high
        assert high * (7 if unit == "week" else 1) >= days


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (1, "Ships in 1 day"),
        (6, "Ships in 4–6 days"),
        (13, "Ships in 11–13 days"),
        (14, "Ships in 1–2 weeks"),
        (20, "Ships in 2–3 weeks"),
    ],
)
def test_english_ranges_at_the_boundaries(days, text):
    assert render_wait_text(in_days(days), TODAY, locale="en") == text


@pytest.mark.parametrize(
    ("locale", "days", "text"),
    [
        ("de", 1, "Lieferzeit: 1 Tag"),
        ("de", 6, "Lieferzeit: 4–6 Tage"),
        ("de", 20, "Lieferzeit: 2–3 Wochen"),
        ("de_AT", 14, "Lieferzeit: 1–2 Wochen"),
        ("fr", 1, f"Expédition sous 1{NBSP}jour"),
        ("fr", 6, f"Expédition sous 4–6{NBSP}jours"),
        ("fr", 20, f"Expédition sous 2–3{NBSP}semaines"),
        ("fr-CA", 14, "Expédition sous 1–2 semaines"),  # Canadian French: a plain space
    ],
)
def test_ranges_in_german_and_french(locale, days, text):
    assert render_wait_text(in_days(days), TODAY, locale=locale) == text


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en_GB", "Ships by 14 December"),
        ("en", "Ships by December 14"),
        ("de", "Versand bis 14. Dezember"),
        ("fr", "Expédition d’ici le 14 décembre"),
    ],
)
def test_dates_as_each_locale_writes_them(locale, text):
    assert render_wait_text(date(2025, 12, 14), TODAY, locale=locale, style="date") == text


def test_a_date_into_next_year_needs_no_year_until_it_could_be_misread():
    assert render_wait_text(date(2026, 1, 5), TODAY, locale="en_GB", style="date") == "Ships by 5 January"
    assert render_wait_text(date(2026, 11, 30), TODAY, locale="en_GB", style="date") == "Ships by 30 November"
    assert (
        render_wait_text(date(2026, 12, 1), TODAY, locale="de", style="date")
        == "Versand bis 1. Dezember 2026"
    )


def test_a_year_ahead_of_29_february_is_1_march():
    leap_day = date(2028, 2, 29)
    assert (
        render_wait_text(date(2029, 2, 28), leap_day, locale="en_GB", style="date") == "Ships by 28 February"
    )
    assert render_wait_text(date(2029, 3, 1), leap_day, locale="en_GB", style="date").endswith("2029")


def test_a_stale_eta_shows_today_not_a_past_date():
    assert render_wait_text(in_days(-3), TODAY, locale="en_GB", style="date") == "Ships by 1 December"
    assert render_wait_text(in_days(-3), TODAY, locale="en") == "Ships in 1 day"


def test_an_unknown_language_falls_back_to_the_english_template_in_its_own_words():
    assert render_wait_text(in_days(6), TODAY, locale="es") == "Ships in 4–6 días"


def test_the_shown_date_is_never_earlier_than_the_eta():
    for days in range(0, 800, 3):
        eta = in_days(days)
        for locale in ("en_GB", "de"):
            # Rendering the date back must give a date no earlier than the ETA.
            shown = render_wait_text(eta, TODAY, locale=locale, template="{date}", style="date")
            assert _read_back(shown, locale) >= eta, shown


def test_a_merchant_template_is_used_as_written():
    text = render_wait_text(in_days(10), TODAY, locale="en", template="Back soon: {range} (by {date})")
    assert text == "Back soon: 8–10 days (by December 11)"


def test_literal_braces_are_allowed():
    assert render_wait_text(in_days(2), TODAY, locale="en", template="{{new}} {range}") == "{new} 1–2 days"


@pytest.mark.parametrize(
    ("template", "style", "problem"),
    [
        ("Ships in {weeks}", "range", "unknown placeholder {weeks}"),
        ("Ships in {}", "range", "unknown placeholder {}"),
        ("Ships in {range.real}", "range", r"unknown placeholder \{range.real\}"),
        ("Ships in {range:>9}", "range", "without a format"),
        ("Ships in {range!r}", "range", "without a format"),
        ("Ships in {range", "range", "malformed"),
        ("Ships soon", "range", r"must contain \{range\}"),
        ("Ships in {range}", "date", r"must contain \{date\}"),
    ],
)
def test_a_template_that_cannot_be_rendered_is_refused_clearly(template, style, problem):
    with pytest.raises(InvalidTemplate, match=problem):
        validate_template(template, style)


def test_a_refused_template_is_a_value_error():
    with pytest.raises(ValueError):
        render_wait_text(in_days(3), TODAY, locale="en", template="{eta}")


def test_an_unknown_style_or_locale_is_refused():
    with pytest.raises(InvalidWaitSetting, match="style"):
        render_wait_text(in_days(3), TODAY, locale="en", style="weeks")
    with pytest.raises(InvalidWaitSetting, match="locale"):
        render_wait_text(in_days(3), TODAY, locale="xx_YY")


MONTHS = {
    "en_GB": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}


def _read_back(text: str, locale: str) -> date:
    """The date a reader takes from "14 December" or "1. Dezember 2026": the next one from TODAY."""
    words = text.replace(".", "").split()
    day, month = int(words[0]), MONTHS[locale].split().index(words[1]) + 1
    if len(words) == 3:
        return date(int(words[2]), month, day)
    this_year = date(TODAY.year, month, day)
    return this_year if this_year >= TODAY else date(TODAY.year + 1, month, day)
