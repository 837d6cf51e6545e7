"""`backorder policy set`, `backorder incoming add|receive|import`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from connector.cli.context import Context, Outcome, whole_number
from connector.errors import InvalidInput, NotFound
from connector.models import utcnow
from connector.services import incoming, merchants, policy


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pol = sub.add_parser("policy", help="backorder policy").add_subparsers(
        dest="policy_command", required=True
    )
    set_ = pol.add_parser("set", parents=[common], help="set an item's backorder policy")
    set_.add_argument("sku")
    set_.add_argument("--merchant", required=True)
    set_.add_argument("--backorders", help="deny | allow | allow-up-to:N")
    set_.add_argument("--lead-days")
    set_.add_argument("--max-wait-days")
    set_.add_argument("--handling-days")
    set_.add_argument("--safety-stock")
    set_.set_defaults(handler=policy_set)
    defaults = pol.add_parser("defaults", parents=[common], help="set the merchant's defaults for every item")
    defaults.add_argument("--merchant", required=True)
    for option in ("--backorders", "--lead-days", "--max-wait-days", "--handling-days", "--safety-stock"):
        defaults.add_argument(option)
    defaults.set_defaults(handler=policy_defaults)

    inc = sub.add_parser("incoming", help="stock on its way").add_subparsers(
        dest="incoming_command", required=True
    )
    add = inc.add_parser("add", parents=[common], help="record incoming stock")
    add.add_argument("sku")
    add.add_argument("quantity")
    add.add_argument("--merchant", required=True)
    add.add_argument("--eta", required=True, help="expected date, YYYY-MM-DD")
    add.add_argument("--supplier")
    add.set_defaults(handler=incoming_add)
    rec = inc.add_parser("receive", parents=[common], help="stock arrived (all, or --qty of it)")
    rec.add_argument("id")
    rec.add_argument("--qty")
    rec.set_defaults(handler=incoming_receive)
    imp = inc.add_parser(
        "import", parents=[common], help="import incoming stock from a CSV (sku,quantity,eta,supplier)"
    )
    imp.add_argument("file")
    imp.add_argument("--merchant", required=True)
    imp.set_defaults(handler=incoming_import)


def policy_set(args: argparse.Namespace, ctx: Context) -> Outcome:
    changes = _changes(args)
    result = policy.set_policy(ctx.uow(), _merchant(ctx, args.merchant), args.sku, now=utcnow(), **changes)
    return Outcome(result, "  ".join(f"{k}={v}" for k, v in result.items()))


def policy_defaults(args: argparse.Namespace, ctx: Context) -> Outcome:
    changes = _changes(args)
    result = policy.set_merchant_defaults(ctx.uow(), _merchant(ctx, args.merchant), now=utcnow(), **changes)
    return Outcome(result, "  ".join(f"{k}={v}" for k, v in result.items()))


def _changes(args: argparse.Namespace) -> dict:
    """The policy settings given on the command line; at least one is required."""
    changes = {
        name: whole_number(getattr(args, name), f"--{name.replace('_', '-')}")
        if getattr(args, name)
        else None
        for name in policy.NUMBERS
    }
    changes["backorders"] = args.backorders
    if all(v is None for v in changes.values()):
        raise InvalidInput(
            "nothing to set: give --backorders, --lead-days, --max-wait-days, --handling-days or --safety-stock"
        )
    return changes


def incoming_add(args: argparse.Namespace, ctx: Context) -> Outcome:
    quantity = whole_number(args.quantity, "QTY")
    try:
        expected = date.fromisoformat(args.eta)
    except ValueError:
        raise InvalidInput(f"--eta must be a date like 2026-12-14, got {args.eta!r}") from None
    incoming_id = incoming.add_incoming(
        ctx.uow(),
        _merchant(ctx, args.merchant),
        args.sku,
        quantity,
        expected,
        supplier=args.supplier,
        now=utcnow(),
    )
    return Outcome({"id": incoming_id}, f"incoming stock {incoming_id} recorded")


def incoming_receive(args: argparse.Namespace, ctx: Context) -> Outcome:
    incoming_id = whole_number(args.id, "ID")
    quantity = whole_number(args.qty, "--qty") if args.qty is not None else None
    receipt = incoming.receive_incoming(ctx.uow(), incoming_id, quantity=quantity, now=utcnow())
    data = receipt.__dict__
    text = (
        f"{receipt.sku}: received {receipt.received}, {receipt.allocated_to_backorders} to waiting backorders, "
        f"on hand {receipt.on_hand}, available {receipt.available}, {receipt.remaining} still expected"
    )
    return Outcome(dict(data), text)


def incoming_import(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = _merchant(ctx, args.merchant)
    try:
        lines = Path(args.file).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    except FileNotFoundError:
        raise NotFound(f"no such file: {args.file}") from None
    ids = incoming.import_incoming(ctx.new_uow, merchant_id, lines, now=utcnow())
    return Outcome({"ids": ids}, f"{len(ids)} incoming stock line(s) recorded")


def _merchant(ctx: Context, ref: str) -> int:
    with ctx.uow() as uow:
        return merchants.find_merchant(uow, ref).id
