"""The support API under /api/v1: find orders and backorders, cancel waiting units. Bearer tokens only;
every query is scoped by the token's merchant. The OpenAPI document is at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from connector.errors import InvalidInput, NotFound
from connector.models import utcnow
from connector.services import cancellations, support, tokens
from connector.services.cancellable import LineRequest
from connector.services.cancellations import CancelCommand, InProgress, StorefrontFailed
from connector.web import openapi
from connector.web.problems import error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database; anything larger cannot exist
MAX_KEY_LENGTH = 150
MAX_LINES = 100
BODY_FIELDS = {"lines", "reason", "refund", "restock", "notify"}
PUBLIC = {"api.openapi_document"}


@bp.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    try:
        g.caller = tokens.authenticate(
            _services().uow(), presented.strip() if scheme.lower() == "bearer" else None, now=utcnow()
        )
    except tokens.Unauthorized as error:
        response = error_response(401, str(error))
        response.headers["WWW-Authenticate"] = 'Bearer realm="support api"'
        return response
    return None


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document())


@bp.get("/orders")
def list_orders() -> Response:
    with _services().uow() as uow:
        found = support.find_orders(
            uow,
            _caller().merchant_id,
            number=_text_arg("number"),
            email=_text_arg("email"),
            sku=_text_arg("sku"),
            limit=_limit_arg(),
        )
    return jsonify(orders=found)


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    _check_id(order_id, "order")
    with _services().uow() as uow:
        return jsonify(support.order_detail(uow, _caller().merchant_id, order_id))


@bp.get("/backorders")
def list_backorders() -> Response:
    status = _text_arg("status")
    if status is not None and status not in ("waiting", "allocated", "cancelled"):
        raise InvalidInput("status must be waiting, allocated or cancelled")
    with _services().uow() as uow:
        found = support.find_backorders(
            uow,
            _caller().merchant_id,
            sku=_text_arg("sku"),
            email=_text_arg("email"),
            status=status,
            limit=_limit_arg(),
        )
    return jsonify(backorders=found)


@bp.get("/cancellations/<int:cancellation_id>")
def get_cancellation(cancellation_id: int) -> Response:
    _check_id(cancellation_id, "cancellation")
    with _services().uow() as uow:
        return jsonify(cancellations.find(uow, _caller().merchant_id, cancellation_id))


@bp.post("/orders/<int:order_id>/cancellations")
def create_cancellation(order_id: int) -> Response:
    _check_id(order_id, "order")
    key = _idempotency_key()
    body = _cancellation_body()
    caller = _caller()
    lines = body.get("lines")
    command = CancelCommand(
        merchant_id=caller.merchant_id,
        order_id=order_id,
        reason=body["reason"],
        idempotency_key=f"api:{key}",
        scope="order" if lines is None else "lines",
        lines=tuple(LineRequest(entry["line_id"], entry["quantity"]) for entry in lines or ()),
        refund=body.get("refund", True),
        restock=body.get("restock", True),
        notify=body.get("notify", True),
        source="support",
        actor=caller.actor,
    )
    services = _services()
    try:
        outcome = cancellations.cancel(services.uow, services.storefront, command, now=utcnow())
    except InProgress as busy:
        response = error_response(409, str(busy), title=busy.title)
        response.headers["Retry-After"] = str(busy.retry_after)
        return response
    except StorefrontFailed as failed:
        return error_response(
            502,
            str(failed),
            title=failed.title,
            cancellation_id=failed.cancellation_id,
            cancellation_status=cancellations.STOREFRONT_ERROR if failed.retryable else cancellations.REFUSED,
            retryable=failed.retryable,
        )
    response = jsonify(outcome.cancellation)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/cancellations/{outcome.cancellation['id']}"
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _cancellation_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object with at least a reason")
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500 or "\x00" in reason:
        raise InvalidInput("reason is required: a text of 1 to 500 characters")
    for flag in ("refund", "restock", "notify"):
        if flag in body and not isinstance(body[flag], bool):
            raise InvalidInput(f"{flag} must be true or false")
    if "lines" in body:
        body["lines"] = _lines(body["lines"])
    body["reason"] = reason.strip()
    return body


def _lines(value: Any) -> list[dict[str, int]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LINES:
        raise InvalidInput(f"lines must be a list of 1 to {MAX_LINES} {{line_id, quantity}} objects")
    lines = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != {"line_id", "quantity"}:
            raise InvalidInput(f"lines[{index}] must be an object with line_id and quantity")
        if not all(_whole(entry[k]) and 1 <= entry[k] <= MAX_ID for k in ("line_id", "quantity")):
            raise InvalidInput(f"lines[{index}]: line_id and quantity must be whole numbers of at least 1")
        lines.append({"line_id": entry["line_id"], "quantity": entry["quantity"]})
    return lines


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise InvalidInput("the Idempotency-Key header is required (any unique text per cancellation)")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be printable text of at most {MAX_KEY_LENGTH} characters")
    return key


def _text_arg(name: str) -> str | None:
    value = request.args.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > 320 or "\x00" in value:
        raise InvalidInput(f"{name} must be text of at most 320 characters")
    return value


def _limit_arg() -> int:
    text = request.args.get("limit", "50").strip()
    if not text.isdecimal() or len(text) > 4:
        raise InvalidInput(f"limit must be a whole number between 1 and {support.MAX_LIMIT}")
    return int(text)


def _check_id(value: int, what: str) -> None:
    if value > MAX_ID:
        raise NotFound(f"no {what} {value}")


def _caller() -> tokens.Caller:
    return g.caller


def _services():
    return current_app.extensions["backorder"]
