"""`backorder inbox|outbox …`, `sync reconcile|prune`, `jobs status`, `clock`: operating the stock sync."""

from __future__ import annotations

import argparse
import json

from connector.cli.context import Context, Outcome
from connector.errors import InvalidInput
from connector.models import utcnow
from connector.services import channels, deliveries, job_runs, outbox


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    inbox = sub.add_parser("inbox", help="webhook deliveries received").add_subparsers(
        dest="inbox_command", required=True
    )
    listing = inbox.add_parser(
        "list", parents=[common], help="the newest deliveries, with what became of each"
    )
    listing.add_argument("--status", choices=deliveries.STATUSES)
    listing.add_argument("--channel")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=inbox_list)
    show = inbox.add_parser("show", parents=[common], help="one delivery with its headers and body")
    show.add_argument("id", type=int)
    show.set_defaults(handler=inbox_show)
    again = inbox.add_parser("retry", parents=[common], help="process failed deliveries again")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="one failed delivery")
    which.add_argument("--channel", help="every failed delivery from this store")
    which.add_argument("--all-failed", action="store_true", help="every failed delivery")
    again.set_defaults(handler=inbox_retry)

    box = sub.add_parser("outbox", help="storefront pushes").add_subparsers(
        dest="outbox_command", required=True
    )
    box.add_parser(
        "status", parents=[common], help="pending, in flight and dead pushes by channel"
    ).set_defaults(handler=outbox_status)
    retry = box.add_parser("retry", parents=[common], help="requeue dead pushes")
    retry.add_argument("--channel")
    retry.set_defaults(handler=outbox_retry)

    sync = sub.add_parser("sync", help="stock sync").add_subparsers(dest="sync_command", required=True)
    rec = sync.add_parser(
        "reconcile", parents=[common], help="compare storefronts with the ledger and repair"
    )
    rec.add_argument("--channel")
    rec.set_defaults(handler=sync_reconcile)
    prune = sync.add_parser(
        "prune", parents=[common], help="delete processed deliveries and confirmed pushes past keeping"
    )
    prune.add_argument("--days", type=int, help="keep this many days (default: KEEP_DAYS, 14)")
    prune.set_defaults(handler=sync_prune)

    jobs = sub.add_parser("jobs", help="scheduled jobs").add_subparsers(dest="jobs_command", required=True)
    jobs.add_parser("status", parents=[common], help="the last run of every job").set_defaults(
        handler=jobs_status
    )

    sub.add_parser("clock", parents=[common], help="run the scheduled jobs (one process only)").set_defaults(
        handler=clock
    )


def inbox_list(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow().reading() as uow:
        channel_id = channels.get_channel(uow, args.channel).id if args.channel else None
        rows = deliveries.list_deliveries(uow, status=args.status, channel_id=channel_id, limit=args.limit)
    text = "\n".join(
        f"{r['id']} {r['received_at']} channel {r['channel']} {r['topic']}: {r['status']}"
        + (f" ({r['error']})" if r["error"] else f" ({r['outcome']})" if r["outcome"] else "")
        for r in rows
    )
    return Outcome({"deliveries": rows}, text or "no deliveries")


def inbox_show(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow().reading() as uow:
        delivery = deliveries.show_delivery(uow, args.id)
    return Outcome(delivery, json.dumps(delivery, indent=2, ensure_ascii=False))


def inbox_retry(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        channel_id = channels.get_channel(uow, args.channel).id if args.channel else None
        count = deliveries.requeue_failed(uow, utcnow(), delivery_id=args.id, channel_id=channel_id)
        uow.commit()
    return Outcome({"requeued": count}, f"{count} failed deliver(y/ies) requeued")


def outbox_status(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        rows = outbox.status_by_channel(uow)
    text = "\n".join(
        f"channel {r['channel']}: {r['pending']} pending, {r['in_flight']} in flight, {r['dead']} dead"
        for r in rows
    )
    return Outcome({"channels": rows}, text or "nothing queued")


def outbox_retry(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        channel_id = channels.get_channel(uow, args.channel).id if args.channel else None
        count = outbox.retry_dead(uow, utcnow(), channel_id)
        uow.commit()
    return Outcome({"requeued": count}, f"{count} dead push(es) requeued")


def _runtime(ctx: Context):
    """What a job gets, built from the command's settings and engine (after checking the schema)."""
    from connector.db import session_factory
    from connector.storefronts import StorefrontCache
    from jobs.runtime import Runtime

    ctx.uow()  # checks the schema is current
    return Runtime(ctx.settings, session_factory(ctx.engine), StorefrontCache(ctx.settings))


def sync_reconcile(args: argparse.Namespace, ctx: Context) -> Outcome:
    from jobs.sync import reconcile_channels

    channel_id = None
    if args.channel:
        with ctx.uow() as uow:
            channel_id = channels.get_channel(uow, args.channel).id
    results = reconcile_channels(_runtime(ctx), channel_id)
    lines = []
    for r in results:
        if "error" in r:
            lines.append(f"channel {r['channel']}: failed: {r['error']}")
            continue
        lines.append(
            f"channel {r['channel']}: {r['checked']} checked, {len(r['repairs'])} repaired"
            + (f" (skipped: {r['skipped']})" if r["skipped"] else "")
        )
        lines += [
            f"  {x['sku']}: storefront {x['storefront']}, ledger {x['ledger']}: {x['reason']}"
            for x in r["repairs"]
        ]
    failed = any("error" in r for r in results)
    outcome = Outcome({"channels": results}, "\n".join(lines) or "no channels")
    if failed:
        from connector.errors import ConnectorError

        raise ConnectorError(
            "reconcile failed for some channels: "
            + "; ".join(f"channel {r['channel']}: {r['error']}" for r in results if "error" in r)
        )
    return outcome


def sync_prune(args: argparse.Namespace, ctx: Context) -> Outcome:
    from jobs.sync import prune_records

    days = ctx.settings.keep_days if args.days is None else args.days
    if days < 1:
        raise InvalidInput(f"--days must be at least 1, got {days}")
    deleted = prune_records(_runtime(ctx), days)
    return Outcome(
        {**deleted, "kept_days": days},
        f"deleted {deleted['inbox']} processed deliveries and {deleted['outbox']} confirmed pushes"
        f" older than {days} day(s)",
    )


def jobs_status(args: argparse.Namespace, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        runs = job_runs.latest_runs(uow)
    text = "\n".join(
        f"{r['job']}: last {r['last_outcome']} at {r['last_started_at']} ({r['runs']} runs, "
        f"{r['failed']} failed)"
        for r in runs
    )
    return Outcome({"jobs": runs}, text or "no job has run yet")


def clock(args: argparse.Namespace, ctx: Context) -> Outcome:
    from connector.clock import run_clock

    ctx.uow()  # refuse to start on a schema that is not current
    run_clock(ctx.engine)
    return Outcome({"stopped": True}, "stopped")
