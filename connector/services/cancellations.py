"""Cancelling waiting units: on the origin storefront first, then the ledger, each step audited.

Three short transactions with the storefront call between them, so no database lock is held while a
storefront thinks:

1. claim: lock the order, check the request (only waiting units), record the cancellation as
   `sending` under its idempotency key (unique per merchant: two identical requests make one row);
2. storefront: refund or cancel there; the answer is kept (`storefront_done`), or the error
   (`storefront_error`: the outcome is unknown, so the units stay reserved and nothing in the ledger
   changed; the same idempotency key resumes by sending the same request again, not a new plan, and the
   storefront recognises an earlier refund by the request's key);
3. ledger: release the units, take them out of the queue, recompute the ETAs of those behind them,
   queue the storefront pushes and the customer's message (`completed`).

Whole lines are released under the same ledger key the storefront's own cancellation webhook uses
(`sync.order_line_key(...) + ":cancel"`), and each step reads the line's units as they are now, so when
that webhook comes back the stock is not released a second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters.base import CancelRequest, CancelResult, LineCancel
from adapters.base import Channel as ChannelPort
from adapters.errors import ChannelError
from connector.db import UnitOfWork
from connector.errors import Conflict, ConnectorError, InvalidInput, NotFound
from connector.models import AuditEntry, Cancellation, Channel, Order
from connector.services import cancellable
from connector.services.cancel_ledger import release_cancelled
from connector.services.cancellable import LineRequest, Plan, Scope

__all__ = ["CancelCommand", "InProgress", "LineRequest", "Outcome", "StorefrontFailed", "cancel", "view"]

SENDING, STOREFRONT_ERROR, STOREFRONT_DONE = "sending", "storefront_error", "storefront_done"
COMPLETED, REFUSED = "completed", "refused"
# A claim older than this belongs to a request that died mid-call; the same key may take it over.
STALE_CLAIM = timedelta(minutes=5)
_REFUSALS: dict[int, type[ConnectorError]] = {404: NotFound, 409: Conflict, 422: InvalidInput}

StorefrontFor = Callable[[Channel], ChannelPort]


class InProgress(Conflict):
    """The same idempotency key is being carried out right now by another request."""

    retry_after = 2


class StorefrontFailed(ConnectorError):
    """The storefront refused or failed; the cancellation waits in `storefront_error` for a retry."""

    status = 502
    title = "Storefront failed"

    def __init__(self, message: str, *, cancellation_id: int, retryable: bool):
        super().__init__(message)
        self.cancellation_id = cancellation_id
        self.retryable = retryable


@dataclass(frozen=True)
class CancelCommand:
    """One cancellation request. `scope`: "order" (everything, all of it waiting), "lines" (the given
    lines and quantities) or "waiting" (whatever of the order is waiting, for customers and policy)."""

    merchant_id: int
    order_id: int
    reason: str
    idempotency_key: str
    scope: Scope = "order"
    lines: tuple[LineRequest, ...] = ()
    refund: bool = True
    restock: bool = True
    notify: bool = True
    source: str = "support"  # support | customer | policy
    actor: str = "support"

    def fingerprint(self) -> str:
        """What makes two requests "the same": everything but who sent it."""
        body = asdict(self)
        body.pop("actor")
        body["lines"] = sorted((line["line_id"], line["quantity"]) for line in body["lines"])
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    cancellation: dict[str, Any]
    replayed: bool = False


@dataclass
class _Claim:
    cancellation_id: int
    replay: dict[str, Any] | None = None
    channel_id: int | None = None
    request: CancelRequest | None = None


def cancel(
    new_uow: Callable[[], UnitOfWork], storefront_for: StorefrontFor, command: CancelCommand, *, now: datetime
) -> Outcome:
    """Carry out `command` (or resume or replay it under the same idempotency key)."""
    claim = _claim(new_uow, command, now)
    if claim.replay is not None:
        return Outcome(claim.replay, replayed=True)
    if claim.request is not None:
        _send(new_uow, storefront_for, claim, claim.request, command.actor, now)
    result, finished_elsewhere = _apply_ledger(new_uow, claim.cancellation_id, command.actor, now)
    return Outcome(result, replayed=finished_elsewhere)


def find(uow: UnitOfWork, merchant_id: int, cancellation_id: int) -> dict[str, Any]:
    """One of the merchant's cancellations as the API shows it."""
    row = uow.session.get(Cancellation, cancellation_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound(f"no cancellation {cancellation_id}")
    return view(row)


def view(row: Cancellation) -> dict[str, Any]:
    """A cancellation as the API, the CLI and the customer pages show it."""
    response = row.storefront_response or {}
    answer = response.get("answer") or {}
    return {
        "id": row.id,
        "order_id": row.order_id,
        "status": row.status,
        "source": row.source,
        "requested_by": row.requested_by,
        "reason": row.reason,
        "refund": row.refund,
        "restock": row.restock,
        "notify": row.notify,
        "whole_order": bool(response.get("whole_order")),
        "lines": [{k: entry[k] for k in ("line_id", "sku", "quantity")} for entry in row.lines or []],
        "refunded_amount": answer.get("refunded_amount"),
        "storefront_reference": answer.get("reference"),
        "error": response.get("error") or response.get("refused"),
        "created_at": row.created_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


# Step 1: claim


def _claim(new_uow: Callable[[], UnitOfWork], command: CancelCommand, now: datetime) -> _Claim:
    try:
        return _claim_once(new_uow, command, now)
    except IntegrityError:
        # Another request inserted the same key between our look and our insert: theirs stands.
        return _claim_once(new_uow, command, now)


def _claim_once(new_uow: Callable[[], UnitOfWork], command: CancelCommand, now: datetime) -> _Claim:
    with new_uow() as uow:
        order = _locked_order(uow, command)
        row = uow.session.scalar(
            select(Cancellation)
            .where(
                Cancellation.merchant_id == command.merchant_id,
                Cancellation.idempotency_key == command.idempotency_key,
            )
            .with_for_update()
        )
        if row is not None:
            settled = _settled(row, command, now)
            if settled is not None:
                return settled
            if row.lines:
                claim = _resume(uow, row, order, command, now)
                uow.commit()
                return claim
        try:
            states = cancellable.line_states(uow, order, except_cancellation=row.id if row else None)
            plan = cancellable.plan(
                order, states, command.scope, command.lines, whole_if_complete=command.source != "support"
            )
        except (NotFound, Conflict, InvalidInput) as refusal:
            if row is not None:
                _refuse(uow, row, refusal, command.actor, now)
            raise
        row = _record_claim(uow, row, order, command, plan, now)
        request = _storefront_request(order, command, plan, row.id)
        claim = _Claim(row.id, channel_id=order.channel_id, request=request)
        uow.commit()
    return claim


def _resume(
    uow: UnitOfWork, row: Cancellation, order: Order, command: CancelCommand, now: datetime
) -> _Claim:
    """An attempt whose storefront outcome is unknown is sent again as it was, not planned anew: the
    storefront recognises its earlier refund by the idempotency key (or makes it now), and the ledger
    then settles exactly the units that refund was for. Its units stayed reserved meanwhile."""
    plan = Plan(
        tuple(cancellable.PlannedLine(**entry) for entry in row.lines),
        whole_order=bool((row.storefront_response or {}).get("whole_order")),
    )
    response = dict(row.storefront_response or {})
    response.update(attempt_started_at=now.isoformat(), attempts=int(response.get("attempts", 0)) + 1)
    row.status, row.storefront_response = SENDING, response
    return _Claim(
        row.id, channel_id=order.channel_id, request=_storefront_request(order, command, plan, row.id)
    )


def _locked_order(uow: UnitOfWork, command: CancelCommand) -> Order:
    order = uow.session.get(Order, command.order_id, with_for_update={"key_share": True})
    if order is None or order.merchant_id != command.merchant_id:
        raise NotFound(f"no order {command.order_id}")
    return order


def _settled(row: Cancellation, command: CancelCommand, now: datetime) -> _Claim | None:
    """What an existing row for this key means for the request: replay, resume, wait, or retry."""
    request = (row.storefront_response or {}).get("request") or {}
    if request.get("fingerprint") != command.fingerprint():
        raise InvalidInput(
            f"Idempotency-Key {command.idempotency_key!r} was already used for a different request "
            f"(cancellation {row.id}); use a new key for a new request"
        )
    if row.status == COMPLETED:
        return _Claim(row.id, replay=view(row))
    if row.status == REFUSED:
        refused = row.storefront_response["refused"]
        raise _REFUSALS.get(refused["status"], Conflict)(refused["detail"])
    if row.status == STOREFRONT_DONE:
        return _Claim(row.id)  # the storefront did its part; only the ledger is left
    started = (row.storefront_response or {}).get("attempt_started_at")
    if row.status == SENDING and started and now - datetime.fromisoformat(started) < STALE_CLAIM:
        raise InProgress(f"cancellation {row.id} with this Idempotency-Key is in progress; retry shortly")
    return None  # storefront_error, or a claim abandoned mid-call: its outcome is unknown, send it again


def _record_claim(
    uow: UnitOfWork, row: Cancellation | None, order: Order, command: CancelCommand, plan: Plan, now: datetime
) -> Cancellation:
    lines = [p.as_dict() for p in plan.lines]
    if row is None:
        row = Cancellation(
            merchant_id=command.merchant_id,
            order_id=order.id,
            source=command.source,
            requested_by=command.actor[:200],
            reason=command.reason[:500],
            refund=command.refund,
            restock=command.restock,
            notify=command.notify,
            idempotency_key=command.idempotency_key,
            created_at=now,
            storefront_response={"request": {"fingerprint": command.fingerprint(), "scope": command.scope}},
        )
        uow.session.add(row)
        uow.session.flush()
        _audit(uow, row, command.actor, "cancellation.requested", now, lines=lines, key=row.idempotency_key)
    response = dict(row.storefront_response or {})
    response.update(
        whole_order=plan.whole_order,
        attempt_started_at=now.isoformat(),
        attempts=int(response.get("attempts", 0)) + 1,
    )
    row.lines, row.status, row.storefront_response = lines, SENDING, response
    return row


def _refuse(uow: UnitOfWork, row: Cancellation, refusal: ConnectorError, actor: str, now: datetime) -> None:
    """A retry found the units gone meanwhile: the request is settled as refused, for good."""
    row.status = REFUSED
    row.storefront_response = {
        **(row.storefront_response or {}),
        "refused": {"status": refusal.status, "detail": str(refusal)},
    }
    _audit(uow, row, actor, "cancellation.refused", now, detail=str(refusal))
    uow.commit()


def _storefront_request(
    order: Order, command: CancelCommand, plan: Plan, cancellation_id: int
) -> CancelRequest:
    lines = () if plan.whole_order else tuple(LineCancel(p.external_id, p.quantity) for p in plan.lines)
    return CancelRequest(
        order_id=order.external_id,
        lines=lines,
        refund=command.refund,
        restock=command.restock,
        # The customer hears from us (a "cancelled" notification), not twice.
        notify=False,
        reason=command.reason,
        note=f"Backorder cancellation ({command.source}): {command.reason}"[:500],
        # The same on every attempt of this cancellation, so a retry after an unknown outcome finds the
        # storefront's earlier refund instead of making a second one.
        idempotency_key=f"backorder-cancellation:{cancellation_id}:{command.fingerprint()[:16]}",
    )


# Step 2: storefront


def _send(
    new_uow: Callable[[], UnitOfWork],
    storefront_for: StorefrontFor,
    claim: _Claim,
    request: CancelRequest,
    actor: str,
    now: datetime,
) -> None:
    """Ask the origin storefront; its answer or its error is recorded before anything else happens."""
    with new_uow() as uow:
        channel = uow.session.get(Channel, claim.channel_id)
    try:
        result = storefront_for(channel).cancel(request)
    except (ChannelError, ConnectorError) as error:
        retryable = getattr(error, "retryable", True)
        _record_failure(new_uow, claim.cancellation_id, error, retryable, actor, now)
        advice = (
            "retry with the same Idempotency-Key to resume"
            if retryable
            else "the storefront refused it, so its units are free again; fix the cause and send it "
            "with a new Idempotency-Key"
        )
        raise StorefrontFailed(
            f"the storefront did not cancel: {error}. Nothing changed in stock; {advice}",
            cancellation_id=claim.cancellation_id,
            retryable=retryable,
        ) from error
    _record_answer(new_uow, claim.cancellation_id, result, actor, now)


def _record_failure(
    new_uow: Callable[[], UnitOfWork],
    cancellation_id: int,
    error: Exception,
    retryable: bool,
    actor: str,
    now: datetime,
) -> None:
    problem = {"type": type(error).__name__, "message": str(error), "retryable": retryable}
    with new_uow() as uow:
        row = uow.session.get(Cancellation, cancellation_id, with_for_update=True)
        response = {**(row.storefront_response or {}), "error": problem}
        if retryable:
            # The outcome is unknown: the units stay reserved until the same key resumes it.
            row.status = STOREFRONT_ERROR
        else:
            # A definite refusal (auth, not found, rejected): nothing happened there, so the units are
            # not held, and the same key answers with this refusal.
            row.status = REFUSED
            response["refused"] = {
                "status": 409,
                "detail": f"the storefront refused this cancellation: {error}",
            }
        row.storefront_response = response
        _audit(uow, row, actor, "cancellation.storefront_failed", now, error=problem)
        uow.commit()


def _record_answer(
    new_uow: Callable[[], UnitOfWork], cancellation_id: int, result: CancelResult, actor: str, now: datetime
) -> None:
    answer = {
        "cancelled_whole_order": result.cancelled_whole_order,
        "refunded_amount": str(result.refunded_amount),
        "reference": result.storefront_reference,
    }
    with new_uow() as uow:
        row = uow.session.get(Cancellation, cancellation_id, with_for_update=True)
        response = {k: v for k, v in (row.storefront_response or {}).items() if k != "error"}
        row.status, row.storefront_response = STOREFRONT_DONE, {**response, "answer": answer}
        _audit(uow, row, actor, "cancellation.storefront", now, answer=answer)
        uow.commit()


# Step 3: ledger


def _apply_ledger(
    new_uow: Callable[[], UnitOfWork], cancellation_id: int, actor: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """The view after the ledger step, and whether another request had already finished it."""
    with new_uow() as uow:
        row = uow.session.get(Cancellation, cancellation_id, with_for_update=True)
        if row.status == COMPLETED:
            return view(row), True
        released = release_cancelled(uow, row, now)
        row.status, row.completed_at = COMPLETED, now
        row.storefront_response = {**(row.storefront_response or {}), "ledger": released}
        _audit(uow, row, actor, "cancellation.ledger", now, **released)
        result = view(row)
        uow.commit()
    return result, False


def _audit(uow: UnitOfWork, row: Cancellation, actor: str, action: str, now: datetime, **details) -> None:
    uow.session.add(
        AuditEntry(
            merchant_id=row.merchant_id,
            actor=actor[:200],
            action=action,
            subject=f"order:{row.order_id}",
            details={"cancellation": row.id, **details},
            created_at=now,
        )
    )
