"""WordPress REST plumbing the sandbox store shares: error bodies, JSON as WordPress writes it, dates,
request parameters and pagination headers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

WC_VERSION = "9.8.0"  # the WooCommerce and WordPress versions the sandbox store says it runs
WP_VERSION = "6.8.1"
PER_PAGE_DEFAULT = 10
PER_PAGE_MAX = 100


class WPError(Exception):
    """A WP_Error: answered as `{"code", "message", "data": {"status", ...}}` with that HTTP status."""

    def __init__(self, code: str, message: str, status: int, **data: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def invalid_param(name: str, reason: str, detail_code: str) -> WPError:
    """WordPress's answer to a request argument that fails its schema (400 `rest_invalid_param`)."""
    return WPError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: reason},
        details={name: {"code": detail_code, "message": reason, "data": None}},
    )


def missing_param(name: str) -> WPError:
    return WPError("rest_missing_callback_param", f"Missing parameter(s): {name}", 400, params=[name])


def wp_json(value: Any) -> bytes:
    """JSON the way `wp_json_encode` writes it: compact, ASCII-escaped, and with `/` escaped as `\\/`."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, default=_encode_default)
    return text.replace("/", "\\/").encode("ascii")


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return php_number(value)
    if isinstance(value, datetime):
        return wp_date(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def wp_date(moment: datetime | None) -> str | None:
    """`wc_rest_prepare_date_response`: ISO 8601 without zone; the sandbox site runs on UTC."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_date(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def money(value: Any) -> Decimal:
    """A price or amount as WooCommerce stores it: a decimal, rounded to cents."""
    try:
        amount = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        amount = Decimal(0)
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """`wc_format_decimal($value, 2)`: the string WooCommerce returns for totals."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def php_number(value: Decimal | float | int) -> int | float:
    """A PHP float as json_encode writes it: 12.0 becomes 12."""
    number = float(value)
    return int(number) if number.is_integer() else number


def meta_text(value: Any) -> Any:
    """A meta value after a round trip through the database: scalars come back as strings."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int | float | Decimal):
        return str(php_number(value)) if isinstance(value, float | Decimal) else str(value)
    return value


def as_bool(value: Any) -> bool:
    """`rest_sanitize_boolean`."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def as_int(value: Any, name: str) -> int:
    """`rest_is_integer` then the cast: `5`, `5.0` and `"5"` pass; anything else is a 400."""
    if isinstance(value, bool):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
    if not math.isfinite(number) or not number.is_integer():
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    return int(number)


def one_of(value: Any, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        listed = ", ".join(allowed[:-1]) + f", and {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise invalid_param(name, f"{name} is not one of {listed}.", "rest_not_in_enum")
    return value


def paging(params: Mapping[str, Any]) -> tuple[int, int]:
    """`page` and `per_page` checked the way WordPress's collection parameters are."""
    page = as_int(params.get("page", 1), "page")
    if page < 1:
        raise invalid_param("page", "page must be greater than or equal to 1", "rest_out_of_bounds")
    per_page = as_int(params.get("per_page", PER_PAGE_DEFAULT), "per_page")
    if not 1 <= per_page <= PER_PAGE_MAX:
        reason = f"per_page must be between 1 (inclusive) and {PER_PAGE_MAX} (inclusive)"
        raise invalid_param("per_page", reason, "rest_out_of_bounds")
    return page, per_page


class Page:
    """One page of a collection with the headers WordPress sends along: totals and prev/next links."""

    def __init__(self, items: Sequence[Any], page: int, per_page: int):
        self.total = len(items)
        self.pages = math.ceil(self.total / per_page)
        self.page = page
        self.items = list(items[(page - 1) * per_page : page * per_page])

    def headers(self, collection_url: str, query: Mapping[str, str]) -> list[tuple[str, str]]:
        headers = [("X-WP-Total", str(self.total)), ("X-WP-TotalPages", str(self.pages))]
        if self.page > 1:
            previous = min(self.page - 1, self.pages) if self.pages else self.page - 1
            headers.append(("Link", f'<{_with_page(collection_url, query, previous)}>; rel="prev"'))
        if self.pages > self.page:
            headers.append(("Link", f'<{_with_page(collection_url, query, self.page + 1)}>; rel="next"'))
        return headers


def _with_page(url: str, query: Mapping[str, str], page: int) -> str:
    # add_query_arg keeps every query argument of the request (credentials in the query included).
    args = {**query, "page": str(page)}
    return f"{url}?{urlencode(args)}"
