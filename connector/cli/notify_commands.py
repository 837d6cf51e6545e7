"""`backorder notifications [--merchant M] [--status S]`: customer messages and how their delivery went;
`backorder notifications retry [--merchant M]`: give failed ones a fresh set of attempts;
`backorder apology-discount --merchant M …`: the discount code offered in delay apologies."""

from __future__ import annotations

import argparse

from connector.cli.context import Context, Outcome, whole_number
from connector.errors import InvalidInput
from connector.models import utcnow
from connector.notify import discount_setting, history
from connector.notify.discount_setting import ApologyDiscount
from connector.services import merchants


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    notes = sub.add_parser(
        "notifications", parents=[common], help="customer notifications: history, or `retry` failed ones"
    )
    notes.add_argument("action", nargs="?", choices=("list", "retry"), default="list")
    notes.add_argument("--merchant")
    notes.add_argument("--status", help=" | ".join(history.STATUSES))
    notes.add_argument("--limit", default="50")
    notes.set_defaults(handler=notifications)

    discount = sub.add_parser(
        "apology-discount",
        parents=[common],
        help="a single-use discount code in the apology for a late backorder (off by default)",
    )
    discount.add_argument("--merchant", required=True)
    kind = discount.add_mutually_exclusive_group()
    kind.add_argument("--percentage", metavar="N", help="percent off, above 0 and at most 100")
    kind.add_argument("--fixed-amount", metavar="X", help="amount off in the shop's currency")
    kind.add_argument("--off", action="store_true", help="no discount code in apologies")
    discount.add_argument("--expiry-days", metavar="N", help="days the code is valid (default 30)")
    discount.set_defaults(handler=apology_discount)


def notifications(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        merchant_id = merchants.find_merchant(uow, args.merchant).id if args.merchant else None
        if args.action == "retry":
            count = history.requeue_failed(uow, utcnow(), merchant_id=merchant_id)
            uow.commit()
            return Outcome({"requeued": count}, f"{count} failed notification(s) requeued")
        limit = whole_number(args.limit, "--limit")
        if limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {limit}")
        rows = history.history(uow, merchant_id=merchant_id, status=args.status, limit=limit)
    return Outcome({"notifications": rows}, "\n".join(_line(r) for r in rows) or "no notifications")


def apology_discount(args: argparse.Namespace, ctx: Context) -> Outcome:
    """Show, set or turn off the discount; changing the expiry alone keeps the kind and value."""
    with ctx.uow() as uow:
        merchant = merchants.find_merchant(uow, args.merchant)
        merchant_id, current, unusable = merchant.id, None, None
        try:
            current = discount_setting.setting_of(merchant)
        except InvalidInput as error:  # what is given now replaces it
            unusable = error
    if args.off:
        setting = None
    elif args.percentage is not None or args.fixed_amount is not None or args.expiry_days is not None:
        setting = _setting(args, current)
    else:
        if unusable is not None:
            raise unusable
        shown = current.as_dict() if current else None
        return Outcome({"merchant": merchant_id, "apology_discount": shown}, _describe(shown))
    result = discount_setting.configure(ctx.uow(), merchant_id, setting, actor="cli", now=utcnow())
    return Outcome(result, _describe(result["apology_discount"]))


def _setting(args: argparse.Namespace, current: ApologyDiscount | None) -> ApologyDiscount:
    if args.percentage is not None:
        kind, value = "percentage", args.percentage
    elif args.fixed_amount is not None:
        kind, value = "fixed_amount", args.fixed_amount
    elif current is not None:
        kind, value = current.kind, str(current.value)
    else:
        raise InvalidInput("the apology discount is off: give --percentage N or --fixed-amount X")
    data = {"type": kind, "value": value}
    if args.expiry_days is not None:
        data["expiry_days"] = whole_number(args.expiry_days, "--expiry-days")
    elif current is not None:
        data["expiry_days"] = current.expiry_days
    return ApologyDiscount.from_mapping(data)


def _describe(setting: dict | None) -> str:
    if setting is None:
        return "apology discount: off"
    amount = f"{setting['value']}%" if setting["type"] == "percentage" else f"{setting['value']} off"
    return f"apology discount: {amount}, single use, valid {setting['expiry_days']} days"


def _line(row: dict) -> str:
    when = row["sent_at"] or row["send_after"]
    text = (
        f"{row['id']:>6}  {row['status']:<8} {row['kind']:<14} order {row['order_number'] or row['order']}"
        f"  {row['delivery']} {row['recipient'] or '-'}  attempts {row['attempts']}  {when}"
    )
    text += f"\n        {row['last_error']}" if row["last_error"] else ""
    discount = row.get("discount")
    if discount and discount.get("status") == "created":
        text += f"\n        discount code {discount['code']}"
    elif discount and discount.get("reason"):
        text += f"\n        discount code {discount['status']}: {discount['reason']}"
    return text
