"""The customer's pages behind a signed link: cancel what is still waiting, or confirm they will wait.

Only backordered, unallocated units are shown and cancelled. A link cancels once per order (its
cancellation is recorded under the key `customer:<order id>`); using it again shows "already cancelled".
Tampered links answer 400 and expired ones 410, each with a page a person can read.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from connector.errors import Conflict
from connector.models import Backorder, Cancellation, Item, Merchant, Order, OrderLine, utcnow
from connector.services import auto_cancel, cancellations, links
from connector.services.cancellable import line_states
from connector.services.cancellations import CancelCommand, InProgress, StorefrontFailed

bp = Blueprint("customer", __name__, url_prefix="/c")
REASON = "Cancelled by the customer through the link in their backorder message"


@bp.after_request
def _private(response):
    # The token in the address is the customer's key: never cache these pages or leak it onward.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/<token>")
def show_waiting(token: str):
    with _services().uow() as uow:
        order, merchant, failure = _order_from(token, uow)
        if failure:
            return failure
        used = _customer_cancellation(uow, order)
        if used is not None and used.status == cancellations.COMPLETED:
            return _already_cancelled(merchant, order, used)
        lines = _waiting_lines(uow, order)
    if not lines:
        return _nothing_waiting(merchant)
    return render_template(
        "customer/cancel.html", merchant_name=merchant.name, order_number=order.number, lines=lines
    )


@bp.post("/<token>")
def cancel_waiting(token: str):
    services = _services()
    with services.uow() as uow:
        order, merchant, failure = _order_from(token, uow)
    if failure:
        return failure
    command = CancelCommand(
        merchant_id=order.merchant_id,
        order_id=order.id,
        reason=REASON,
        idempotency_key=f"customer:{order.id}",
        scope="waiting",
        source="customer",
        actor=f"customer:{order.customer_email or order.id}",
    )
    try:
        outcome = cancellations.cancel(services.uow, services.storefront, command, now=utcnow())
    except InProgress:
        return _page(409, "Being cancelled", "Your cancellation is being carried out right now.", merchant)
    except StorefrontFailed:
        return _page(
            503,
            "Please try again in a few minutes",
            "We could not reach the shop to cancel your items. Nothing was cancelled or charged; "
            "please use the same link again in a few minutes.",
            merchant,
        )
    except Conflict:
        return _nothing_waiting(merchant, status=409)
    if outcome.replayed:
        with services.uow() as uow:
            return _already_cancelled(
                merchant, order, uow.session.get(Cancellation, outcome.cancellation["id"])
            )
    return render_template(
        "customer/cancelled.html",
        merchant_name=merchant.name,
        order_number=order.number,
        lines=_titled(services, merchant.id, outcome.cancellation["lines"]),
        refunded_amount=_amount(outcome.cancellation),
    )


@bp.get("/<token>/wait")
def show_wait(token: str):
    with _services().uow() as uow:
        order, merchant, failure = _order_from(token, uow)
        if failure:
            return failure
        asked = _asked(uow, order)
        if not asked:
            return _page(
                200,
                "Nothing to confirm",
                "There is no question open about this order: your place in the queue is kept.",
                merchant,
            )
        respond_by = min(b.wait_confirm_requested_at for b in asked) + timedelta(
            days=auto_cancel.confirm_days(merchant)
        )
        lines = _waiting_lines(uow, order)
    return render_template(
        "customer/wait.html",
        merchant_name=merchant.name,
        order_number=order.number,
        lines=lines,
        respond_by=respond_by.date().isoformat(),
        cancel_link=f"../{token}",
    )


@bp.post("/<token>/wait")
def confirm_wait(token: str):
    services = _services()
    with services.uow() as uow:
        order, merchant, failure = _order_from(token, uow)
    if failure:
        return failure
    confirmed = auto_cancel.confirm_wait(services.uow, order.id, now=utcnow())
    if not confirmed:
        return _page(
            200, "Nothing to confirm", "There is no question open: your place in the queue is kept.", merchant
        )
    return _page(
        200, "Thank you", "We keep your place in the queue and will tell you when it ships.", merchant
    )


def _order_from(token: str, uow) -> tuple[Order | None, Merchant | None, tuple | None]:
    """(order, its merchant, None) for a good link to an order we have, else (None, None, error page)."""
    order_id, failure = _read(token)
    if failure:
        return None, None, failure
    order = uow.session.get(Order, order_id)
    if order is None:
        return None, None, _page(404, "Order not found", "We could not find this order any more.")
    return order, uow.session.get(Merchant, order.merchant_id), None


def _read(token: str):
    """(order id, None) for a good link, (None, error page) otherwise."""
    try:
        return links.read_cancel_token(_services().settings.secret_key, token, utcnow()), None
    except links.LinkExpired:
        return None, _page(
            410,
            "This link has expired",
            "For your safety, links in our messages work for a limited time. "
            "Please use the link in our latest message, or contact the shop.",
        )
    except links.LinkInvalid:
        return None, _page(
            400,
            "This link is not valid",
            "It may have been cut short when it was copied. Please open it straight from the message.",
        )


def _waiting_lines(uow, order: Order) -> list[dict]:
    """Lines with units still waiting for stock, with their titles and expected dates."""
    shown = []
    for state in line_states(uow, order):
        if state.waiting <= 0:
            continue
        etas = uow.session.scalars(
            select(Backorder.eta_date).where(
                Backorder.order_line_id == state.line.id, Backorder.status == "waiting"
            )
        ).all()
        known = [d for d in etas if d is not None]
        item = uow.session.get(Item, state.line.item_id)
        shown.append(
            {
                "title": (item.title if item else "") or state.line.sku,
                "quantity": state.waiting,
                "eta": max(known).isoformat() if known else None,
            }
        )
    return shown


def _asked(uow, order: Order) -> list[Backorder]:
    return list(
        uow.session.scalars(
            select(Backorder)
            .join(OrderLine, OrderLine.id == Backorder.order_line_id)
            .where(
                OrderLine.order_id == order.id,
                Backorder.status == "waiting",
                Backorder.wait_confirm_requested_at.is_not(None),
                Backorder.wait_confirmed_at.is_(None),
            )
        )
    )


def _customer_cancellation(uow, order: Order) -> Cancellation | None:
    return uow.session.scalar(
        select(Cancellation).where(
            Cancellation.merchant_id == order.merchant_id,
            Cancellation.idempotency_key == f"customer:{order.id}",
        )
    )


def _already_cancelled(merchant: Merchant, order: Order, row: Cancellation):
    count = sum(int(entry["quantity"]) for entry in row.lines or [])
    when = row.completed_at.date().isoformat() if row.completed_at else "earlier"
    return _page(
        409,
        "Already cancelled",
        f"You already cancelled the {count} waiting item(s) of order {order.number} on {when}. "
        "Nothing more needs doing.",
        merchant,
    )


def _nothing_waiting(merchant: Merchant, *, status: int = 200):
    return _page(
        status,
        "Nothing is waiting any more",
        "Every item of this order is either on its way to you or already cancelled, so there is "
        "nothing left to cancel here.",
        merchant,
    )


def _titled(services, merchant_id: int, lines: list[dict]) -> list[dict]:
    with services.uow() as uow:
        titles = dict(
            uow.session.execute(
                select(Item.sku, Item.title).where(
                    Item.merchant_id == merchant_id, Item.sku.in_({line["sku"] for line in lines})
                )
            ).all()
        )
    return [{"title": titles.get(line["sku"]) or line["sku"], "quantity": line["quantity"]} for line in lines]


def _amount(cancellation: dict) -> str | None:
    amount = cancellation.get("refunded_amount")
    return amount if amount and amount not in ("0", "0.00") else None


def _page(status: int, heading: str, message: str, merchant: Merchant | None = None):
    body = render_template(
        "customer/message.html",
        merchant_name=merchant.name if merchant else None,
        heading=heading,
        message=message,
        hint=None,
    )
    return body, status


def _services():
    return current_app.extensions["backorder"]
