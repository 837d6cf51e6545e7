"""The commands of `backorder` this release backs with real behaviour."""

from __future__ import annotations

import argparse
from pathlib import Path

from connector import migrate
from connector.cli import (
    backorder_commands,
    channel_commands,
    keys_commands,
    notify_commands,
    sandbox_commands,
    substitute_commands,
    support_commands,
    sync_commands,
)
from connector.cli.context import Context, Outcome, whole_number
from connector.errors import InvalidInput, NotFound
from connector.models import utcnow
from connector.services import catalog, ledger, merchants


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", parents=[common], help="run migrations").set_defaults(handler=db_upgrade)

    merchant = sub.add_parser("merchant", help="merchants").add_subparsers(
        dest="merchant_command", required=True
    )
    create = merchant.add_parser("create", parents=[common], help="create a merchant")
    create.add_argument("name")
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--locale", default="en")
    create.set_defaults(handler=merchant_create)

    items = sub.add_parser("items", help="items").add_subparsers(dest="items_command", required=True)
    imp = items.add_parser("import", parents=[common], help="import items from a catalogue CSV")
    imp.add_argument("file")
    imp.add_argument("--merchant", required=True)
    imp.add_argument("--partial", action="store_true", help="keep the good rows when some are bad")
    imp.set_defaults(handler=items_import)

    stock = sub.add_parser("stock", help="stock ledger").add_subparsers(dest="stock_command", required=True)
    show = stock.add_parser("show", parents=[common], help="show a SKU's stock")
    show.add_argument("sku")
    show.add_argument("--merchant", required=True)
    show.set_defaults(handler=stock_show)
    for name, help_text in (("receive", "stock arrived"), ("adjust", "correct stock by a signed amount")):
        change = stock.add_parser(name, parents=[common], help=help_text)
        change.add_argument("sku")
        change.add_argument("quantity")
        change.add_argument("--merchant", required=True)
        change.add_argument("--ref", help="idempotency reference: repeating it changes nothing")
        change.add_argument("--reason", default="")
        change.set_defaults(handler=stock_change, kind=name)

    channel_commands.register(sub, common)
    sync_commands.register(sub, common)
    backorder_commands.register(sub, common)
    sandbox_commands.register(sub, common)
    notify_commands.register(sub, common)
    keys_commands.register(sub, common)
    support_commands.register(sub, common)
    substitute_commands.register(sub, common)

    serve = sub.add_parser("serve", parents=[common], help="run the service on the embedded default")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo", action="store_true", help="also run a Shopify and a WooCommerce sandbox store"
    )
    serve.set_defaults(handler=_serve)

    worker = sub.add_parser("worker", parents=[common], help="process webhooks and push stock to storefronts")
    worker.add_argument(
        "--threads", type=int, default=4, help="dispatcher threads (channels sent to at once)"
    )
    worker.set_defaults(handler=_worker)


def db_upgrade(args: argparse.Namespace, ctx: Context) -> Outcome:
    migrate.upgrade(ctx.engine)
    revision = migrate.current_revision(ctx.engine)
    return Outcome({"revision": revision}, f"database at revision {revision}")


def merchant_create(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = merchants.create_merchant(ctx.uow(), args.name, timezone=args.timezone, locale=args.locale)
    return Outcome({"id": merchant_id}, f"merchant {merchant_id} created")


def items_import(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = _merchant_id(ctx, args.merchant)
    path = Path(args.file)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(handle)
    except FileNotFoundError:
        raise NotFound(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {path}: {error}") from None
    report = catalog.import_items(ctx.uow(), merchant_id, lines, partial=args.partial)
    skipped = [{"line": line, "reason": reason} for line, reason in report.skipped]
    text = f"{report.created} created, {report.updated} updated, {len(skipped)} skipped"
    text += "".join(f"\n  line {s['line']}: {s['reason']}" for s in skipped)
    return Outcome({"created": report.created, "updated": report.updated, "skipped": skipped}, text)


def stock_show(args: argparse.Namespace, ctx: Context) -> Outcome:
    merchant_id = _merchant_id(ctx, args.merchant)
    with ctx.uow() as uow:
        report = ledger.stock_report(uow, merchant_id, args.sku)
    text = "  ".join(f"{k}={v}" for k, v in report.items())
    return Outcome(report, text)


def stock_change(args: argparse.Namespace, ctx: Context) -> Outcome:
    quantity = whole_number(args.quantity, "QTY")
    merchant_id = _merchant_id(ctx, args.merchant)
    movement = ledger.Movement(
        args.sku, args.kind, quantity, ledger.manual_key(args.sku, args.ref), args.reason
    )
    [result] = ledger.record_and_propagate(ctx.uow(), merchant_id, [movement], utcnow())
    level = result.level
    data = {
        "sku": level.sku,
        "on_hand": level.on_hand,
        "committed": level.committed,
        "available": level.available,
        "replayed": result.replayed,
    }
    note = " (already recorded under this --ref; nothing changed)" if result.replayed else ""
    return Outcome(data, f"{level.sku}: on hand {level.on_hand}, available {level.available}{note}")


def _serve(args: argparse.Namespace, ctx: Context) -> Outcome:
    from connector.serve import serve

    serve(ctx.settings, ctx.engine, host=args.host, port=args.port, demo=args.demo)
    return Outcome({"stopped": True}, "stopped")


def _worker(args: argparse.Namespace, ctx: Context) -> Outcome:
    from connector.serve import run_worker

    if args.threads < 1:
        raise InvalidInput("--threads must be at least 1")
    run_worker(ctx.settings, ctx.engine, threads=args.threads)
    return Outcome({"stopped": True}, "stopped")


def _merchant_id(ctx: Context, ref: str) -> int:
    with ctx.uow() as uow:
        return merchants.find_merchant(uow, ref).id
