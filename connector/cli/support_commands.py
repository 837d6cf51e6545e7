"""`backorder token create|revoke|list` and `backorder cancel`: what support does from a shell."""

from __future__ import annotations

import argparse
import hashlib
import json

from connector.cli.context import Context, Outcome, UsageError, whole_number
from connector.models import utcnow
from connector.services import cancellations, merchants, support, tokens
from connector.services.cancellable import LineRequest
from connector.services.cancellations import CancelCommand
from connector.storefronts import StorefrontCache


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    token = sub.add_parser("token", help="support API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", parents=[common], help="issue a token (shown once)")
    create.add_argument("--merchant", required=True)
    create.add_argument("--role", required=True, choices=tokens.ROLES)
    create.add_argument("--label", default="", help="who or what uses it, for the audit log")
    create.set_defaults(handler=token_create)
    revoke = token.add_parser("revoke", parents=[common], help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.add_argument("--merchant", required=True)
    revoke.set_defaults(handler=token_revoke)
    listing = token.add_parser("list", parents=[common], help="the merchant's tokens (never the secrets)")
    listing.add_argument("--merchant", required=True)
    listing.set_defaults(handler=token_list)

    cancel = sub.add_parser(
        "cancel", parents=[common], help="cancel waiting units of an order on its storefront and in stock"
    )
    cancel.add_argument("order", help="our order id or the storefront's order number")
    cancel.add_argument("--merchant", required=True)
    cancel.add_argument("--line", action="append", default=[], help="line id, storefront line id or SKU")
    cancel.add_argument("--qty", action="append", default=[], help="units of the --line before it")
    cancel.add_argument("--reason", required=True)
    cancel.add_argument("--no-refund", action="store_true")
    cancel.add_argument("--no-restock", action="store_true")
    cancel.add_argument("--no-notify", action="store_true")
    cancel.add_argument(
        "--key", help="idempotency key (default: derived from the request, so repeating it is safe)"
    )
    cancel.set_defaults(handler=cancel_order)


def token_create(args: argparse.Namespace, ctx: Context) -> Outcome:
    issued = tokens.create_token(
        ctx.uow(), _merchant(ctx, args.merchant), args.role, label=args.label, now=utcnow()
    )
    data = {"id": issued.id, "token": issued.token, "role": issued.role, "merchant_id": issued.merchant_id}
    return Outcome(data, f"token {issued.id} ({issued.role}), shown only now:\n{issued.token}")


def token_revoke(args: argparse.Namespace, ctx: Context) -> Outcome:
    token_id = whole_number(args.id, "ID")
    changed = tokens.revoke_token(ctx.uow(), _merchant(ctx, args.merchant), token_id, now=utcnow())
    note = "revoked" if changed else "was already revoked"
    return Outcome({"id": token_id, "revoked": True, "changed": changed}, f"token {token_id} {note}")


def token_list(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        rows = tokens.list_tokens(uow, _merchant(ctx, args.merchant))
    text = "\n".join(
        f"{r['id']}  {r['role']:<8} {r['label'] or '-':<20} {'revoked' if r['revoked_at'] else 'active'}"
        for r in rows
    )
    return Outcome({"tokens": rows}, text or "no tokens")


def cancel_order(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = _merchant(ctx, args.merchant)
    if args.qty and len(args.qty) != len(args.line):
        raise UsageError("give one --qty after each --line (or none, to cancel every waiting unit of them)")
    with ctx.uow() as uow:
        order = support.resolve_order(uow, merchant_id, args.order)
        lines = tuple(_line_requests(uow, order, args))
    body = {
        "order": order.id,
        "lines": [(r.line_id, r.quantity) for r in lines],
        "reason": args.reason,
        "flags": [args.no_refund, args.no_restock, args.no_notify],
    }
    key = args.key or hashlib.sha256(json.dumps(body).encode()).hexdigest()[:32]
    command = CancelCommand(
        merchant_id=merchant_id,
        order_id=order.id,
        reason=args.reason,
        idempotency_key=f"cli:{key}",
        scope="lines" if lines else "order",
        lines=lines,
        refund=not args.no_refund,
        restock=not args.no_restock,
        notify=not args.no_notify,
        source="support",
        actor="cli",
    )
    storefronts = StorefrontCache(ctx.settings)
    outcome = cancellations.cancel(ctx.new_uow, storefronts.get, command, now=utcnow())
    result = outcome.cancellation
    units = sum(line["quantity"] for line in result["lines"])
    text = (
        f"cancellation {result['id']} {result['status']}: {units} unit(s) of order {order.number or order.id}"
        f", refunded {result['refunded_amount'] or '0'}"
        + (" (already done earlier with this request)" if outcome.replayed else "")
    )
    return Outcome({**result, "replayed": outcome.replayed}, text)


def _line_requests(uow, order, args: argparse.Namespace):
    """(line, quantity) pairs; a --line without --qty means every unit of it still waiting."""
    from connector.services.cancellable import line_states

    waiting = {state.line.id: state.waiting for state in line_states(uow, order)}
    for index, ref in enumerate(args.line):
        line = support.resolve_line(uow, order, ref)
        quantity = whole_number(args.qty[index], "--qty") if args.qty else waiting.get(line.id, 0)
        yield LineRequest(line.id, quantity)


def _merchant(ctx: Context, ref: str) -> int:
    with ctx.uow() as uow:
        return merchants.find_merchant(uow, ref).id
