"""`backorder notifications [--merchant M] [--status S]`: customer messages and how their delivery went;
`backorder notifications retry [--merchant M]`: give failed ones a fresh set of attempts."""

from __future__ import annotations

import argparse

from connector.cli.context import Context, Outcome, whole_number
from connector.errors import InvalidInput
from connector.models import utcnow
from connector.notify import history
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


def _line(row: dict) -> str:
    when = row["sent_at"] or row["send_after"]
    text = (
        f"{row['id']:>6}  {row['status']:<8} {row['kind']:<14} order {row['order_number'] or row['order']}"
        f"  {row['delivery']} {row['recipient'] or '-'}  attempts {row['attempts']}  {when}"
    )
    return text + (f"\n        {row['last_error']}" if row["last_error"] else "")
