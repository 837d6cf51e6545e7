"""`backorder substitutes SKU` and `backorder substitute-settings`."""

from __future__ import annotations

import argparse

from connector.cli.context import Context, Outcome
from connector.errors import InvalidInput
from connector.models import utcnow
from connector.services import merchants, substitutes


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    show = sub.add_parser("substitutes", parents=[common], help="in-stock substitutes for a SKU")
    show.add_argument("sku")
    show.add_argument("--merchant", required=True)
    show.set_defaults(handler=substitutes_show)

    settings = sub.add_parser(
        "substitute-settings", parents=[common], help="price band, pins and exclusions for substitutes"
    )
    settings.add_argument("--merchant", required=True)
    settings.add_argument("--band", help="price band as a fraction: 0.25 allows ±25%%")
    settings.add_argument("--limit", help="substitutes per item (1 to 20)")
    settings.add_argument(
        "--pin", action="append", default=[], metavar="SKU=A,B", help="always offer A, B first"
    )
    settings.add_argument("--unpin", action="append", default=[], metavar="SKU")
    settings.add_argument("--exclude-sku", action="append", default=[], metavar="SKU")
    settings.add_argument(
        "--include-sku", action="append", default=[], metavar="SKU", help="undo --exclude-sku"
    )
    settings.add_argument("--exclude-type", action="append", default=[], metavar="TYPE")
    settings.add_argument(
        "--include-type", action="append", default=[], metavar="TYPE", help="undo --exclude-type"
    )
    settings.add_argument("--cross-sell", choices=("on", "off"), help="WooCommerce: also set cross-sells")
    settings.set_defaults(handler=substitute_settings)


def substitutes_show(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        merchant_id = merchants.find_merchant(uow, args.merchant).id
        report = substitutes.suggest(uow, merchant_id, args.sku, utcnow())
    lines = [f"{report.sku} ({report.status.replace('_', ' ')}):"]
    lines += [f"  {s.sku}  {s.title}  ({s.reason}; score {s.score})" for s in report.substitutes]
    if not report.substitutes:
        lines.append(f"  no substitute: {report.reason}")
    lines += [f"  pin {p['sku']} skipped: {p['reason']}" for p in report.skipped_pins]
    return Outcome(report.as_dict(), "\n".join(lines))


def substitute_settings(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        merchant = merchants.find_merchant(uow, args.merchant)
        merchant_id = merchant.id
        current = dict((merchant.settings or {}).get(substitutes.SETTINGS_KEY, {}))
    changes = _changes(args, current)
    if not changes:
        raise InvalidInput("nothing to change: give --band, --limit, --pin, --exclude-sku, … (see --help)")
    result = substitutes.configure(ctx.uow(), merchant_id, changes, utcnow())
    text = "  ".join(f"{k}={v}" for k, v in result["settings"].items()) or "defaults"
    return Outcome(result, f"substitute settings: {text}; {result['lists_queued']} list(s) queued")


def _changes(args: argparse.Namespace, current: dict) -> dict:
    changes: dict = {}
    if args.band is not None:
        changes["band"] = _number(args.band, "--band", float)
    if args.limit is not None:
        changes["limit"] = _number(args.limit, "--limit", int)
    if args.cross_sell is not None:
        changes["cross_sell"] = args.cross_sell == "on"
    if args.pin or args.unpin:
        pins = dict(current.get("pins", {}))
        for text in args.pin:
            sku, _, listed = text.partition("=")
            if not sku.strip() or not listed.strip():
                raise InvalidInput(f"--pin must look like SKU=A,B, got {text!r}")
            pins[sku.strip()] = [s.strip() for s in listed.split(",") if s.strip()]
        for sku in args.unpin:
            pins.pop(sku, None)
        changes["pins"] = pins
    for key, add, remove in (
        ("exclude_skus", args.exclude_sku, args.include_sku),
        ("exclude_types", args.exclude_type, args.include_type),
    ):
        if add or remove:
            kept = [v for v in current.get(key, []) if v not in remove]
            changes[key] = kept + [v for v in add if v not in kept]
    return changes


def _number(text: str, what: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a number, got {text!r}") from None
