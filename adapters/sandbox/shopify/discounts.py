"""Code discounts: `discountCodeBasicCreate` with Shopify's checks and DiscountUserErrors, and the
look-ups `codeDiscountNode` and `codeDiscountNodeByCode`.

Codes are unique in a shop whatever their case, as on Shopify: a second create with a taken code is
refused with TAKEN on `code` and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

from .connections import connection
from .gids import gid, graphql_time, parse_gid
from .models import CodeDiscount
from .queries import store_of
from .store import Store

FIELD = "basicCodeDiscount"
TAKEN = "Code must be unique. Please try a different code."


def discount_code_basic_create(_, info, basicCodeDiscount: dict[str, Any]) -> dict[str, Any]:
    store = store_of(info)
    errors = _problems(store, basicCodeDiscount)
    if errors:
        return {"codeDiscountNode": None, "userErrors": errors}
    data = basicCodeDiscount
    value = data["customerGets"]["value"]
    amount = (value.get("discountAmount") or {}).get("amount")
    now = store.now()
    discount = CodeDiscount(
        id=store.next_id(),
        code_id=store.next_id(),
        code=data["code"].strip(),
        title=data["title"].strip(),
        starts_at=_time(data["startsAt"], "startsAt"),
        ends_at=_time(data["endsAt"], "endsAt") if data.get("endsAt") else None,
        percentage=value.get("percentage"),
        amount=Decimal(str(amount)).quantize(Decimal("0.01")) if amount is not None else None,
        applies_on_each_item=bool((value.get("discountAmount") or {}).get("appliesOnEachItem")),
        usage_limit=data.get("usageLimit"),
        applies_once_per_customer=bool(data.get("appliesOncePerCustomer")),
        created_at=now,
        updated_at=now,
    )
    store.discounts[discount.id] = discount
    return {"codeDiscountNode": node(discount), "userErrors": []}


def by_code(store: Store, code: str) -> CodeDiscount | None:
    wanted = code.strip().casefold()
    return next((d for d in store.discounts.values() if d.code.casefold() == wanted), None)


def node(discount: CodeDiscount) -> dict[str, Any]:
    return {"id": gid("DiscountCodeNode", discount.id), "codeDiscount": discount}


def _problems(store: Store, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every DiscountUserError Shopify would answer for this input, in field order."""
    errors = []
    for name, label in (("title", "Title"), ("code", "Code"), ("startsAt", "Starts at")):
        if not str(data.get(name) or "").strip():
            errors.append(_error([name], f"{label} can't be blank", "BLANK"))
    code = str(data.get("code") or "")
    if code.strip() and by_code(store, code) is not None:
        errors.append(_error(["code"], TAKEN, "TAKEN"))
    if data.get("customerSelection") is None:
        errors.append(_error(["customerSelection"], "Customer selection can't be blank", "BLANK"))
    errors += _value_problems((data.get("customerGets") or {}).get("value"))
    starts, ends = data.get("startsAt"), data.get("endsAt")
    if starts and ends and _time(ends, "endsAt") <= _time(starts, "startsAt"):
        errors.append(_error(["endsAt"], "Ends at needs to be after starts_at", "INVALID"))
    limit = data.get("usageLimit")
    if limit is not None and limit < 1:
        errors.append(_error(["usageLimit"], "Usage limit must be greater than 0", "GREATER_THAN"))
    return errors


def _value_problems(value: dict[str, Any] | None) -> list[dict[str, Any]]:
    path = ["customerGets", "value"]
    if not value or (value.get("percentage") is None) == (value.get("discountAmount") is None):
        return [_error(path, "Value must be a percentage or an amount, one of them", "INVALID")]
    if value.get("percentage") is not None:
        if not 0 < value["percentage"] <= 1:
            return [_error([*path, "percentage"], "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE")]
        return []
    try:
        amount = Decimal(str(value["discountAmount"].get("amount")))
    except InvalidOperation:
        amount = Decimal(0)
    if not amount > 0:
        return [_error([*path, "discountAmount", "amount"], "Value must be greater than 0", "GREATER_THAN")]
    return []


def _error(path: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": [FIELD, *path], "message": message, "code": code, "extraInfo": None}


def _time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(
            f"Variable $basicCodeDiscount of type DiscountCodeBasicInput! was provided invalid value for "
            f"{name} (invalid date/time format)",
            extensions={"code": "INVALID_VARIABLE"},
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(discount: CodeDiscount, now: datetime) -> str:
    if discount.starts_at > now:
        return "SCHEDULED"
    return "EXPIRED" if discount.ends_at is not None and discount.ends_at <= now else "ACTIVE"


def _code_node(_, info, id: str) -> dict[str, Any] | None:
    kind, number = parse_gid(id) or ("", 0)
    found = store_of(info).discounts.get(number) if kind == "DiscountCodeNode" else None
    return node(found) if found else None


def _value(discount: CodeDiscount, info) -> dict[str, Any]:
    if discount.percentage is not None:
        return {"__typename": "DiscountPercentage", "percentage": discount.percentage}
    money = {"amount": str(discount.amount), "currencyCode": store_of(info).currency}
    return {
        "__typename": "DiscountAmount",
        "amount": money,
        "appliesOnEachItem": discount.applies_on_each_item,
    }


QUERIES = {
    "codeDiscountNode": _code_node,
    "codeDiscountNodeByCode": lambda _, info, code: (
        node(found) if (found := by_code(store_of(info), code)) else None
    ),
}
MUTATIONS = {"discountCodeBasicCreate": discount_code_basic_create}
OBJECTS = {
    "DiscountCodeBasic": {
        "appliesOncePerCustomer": lambda d, _: d.applies_once_per_customer,
        "asyncUsageCount": lambda d, _: d.usage_count,
        "codes": lambda d, _, first=None, after=None: connection(
            [{"id": d.code_id, "code": d.code, "asyncUsageCount": d.usage_count}],
            first=first,
            after=after,
            key=lambda c: c["id"],
        ),
        "createdAt": lambda d, _: graphql_time(d.created_at),
        "customerGets": lambda d, info: {
            "items": {"__typename": "AllDiscountItems", "allItems": True},
            "value": _value(d, info),
        },
        "customerSelection": lambda d, _: {"__typename": "DiscountCustomerAll", "allCustomers": True},
        "endsAt": lambda d, _: graphql_time(d.ends_at),
        "startsAt": lambda d, _: graphql_time(d.starts_at),
        "status": lambda d, info: _status(d, store_of(info).now()),
        "updatedAt": lambda d, _: graphql_time(d.updated_at),
        "usageLimit": lambda d, _: d.usage_limit,
    },
    "DiscountRedeemCode": {"id": lambda c, _: gid("DiscountRedeemCode", c["id"])},
}
UNIONS = ("DiscountCode", "DiscountCustomerGetsValue", "DiscountCustomerSelection", "DiscountItems")
