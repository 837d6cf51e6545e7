"""What every `wc/v3` route handler works with: the call, the reply, and WordPress's collection and
batch conventions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .serialize import Urls
from .wp import Page, WPError, one_of, paging, parse_date

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox

BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit
EDITABLE = ("POST", "PUT", "PATCH")


@dataclass
class Call:
    """One API request as the handlers see it."""

    sandbox: WooCommerceSandbox
    method: str
    params: dict[str, Any]  # query, form and JSON body merged; the body wins, as in WP_REST_Request
    query: dict[str, str]
    urls: Urls
    args: dict[str, int]

    @property
    def store(self):
        return self.sandbox.store


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


def created(body: dict[str, Any], urls: Urls, path: str) -> Reply:
    return Reply(body, 201, [("Location", urls.rest(path))])


def paged(call: Call, items: list[Any], render: Callable[[Any], Any], collection: str) -> Reply:
    page, per_page = paging(call.params)
    chunk = Page(items, page, per_page)
    return Reply([render(i) for i in chunk.items], 200, chunk.headers(call.urls.rest(collection), call.query))


def ordered(
    items: list[Any], params: Mapping[str, Any], fields: dict[str, Callable[[Any], Any]]
) -> list[Any]:
    orderby = one_of(params.get("orderby", "date"), "orderby", tuple(fields))
    order = one_of(params.get("order", "desc"), "order", ("asc", "desc"))
    # WooCommerce adds the ID to a date ordering so that pages are stable.
    return sorted(items, key=lambda i: (fields[orderby](i), i.id), reverse=order == "desc")


def since(
    items: list[Any], params: Mapping[str, Any], name: str, value: Callable[[Any], Any], after: bool
) -> list[Any]:
    if not params.get(name):
        return items
    moment = parse_date(str(params[name]), name)
    return [i for i in items if (value(i) > moment if after else value(i) < moment)]


def batch(call: Call, *, create: Callable, update: Callable, delete: Callable) -> Reply:
    """`WC_REST_Controller::batch_items`: at most 100 items; each failure is reported in its place."""
    items = {k: call.params.get(k) for k in ("create", "update", "delete") if call.params.get(k)}
    total = sum(len(v) for v in items.values() if isinstance(v, list))
    if total > BATCH_LIMIT:
        raise WPError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    answer: dict[str, list[Any]] = {}
    for item in items.get("create") or []:
        answer.setdefault("create", []).append(one_item(lambda item=item: create(as_dict(item)), 0))
    for item in items.get("update") or []:
        item_id = item.get("id") if isinstance(item, dict) else None
        answer.setdefault("update", []).append(one_item(lambda item=item: update(as_dict(item)), item_id))
    for raw in items.get("delete") or []:
        item_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else loose_int(raw)
        if item_id:
            answer.setdefault("delete", []).append(one_item(lambda item_id=item_id: delete(item_id), item_id))
    return Reply(answer)


def one_item(work: Callable[[], dict[str, Any]], item_id: Any) -> dict[str, Any]:
    try:
        return work()
    except WPError as error:
        return {
            "id": item_id,
            "error": {"code": error.code, "message": error.message, "data": error.body()["data"]},
        }


def as_dict(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else {}


def loose_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
