"""Sending recorded notifications: by email, or as a customer-visible storefront order note.

Safe to run twice at once: a run claims due rows first (in one short transaction, with `FOR UPDATE
SKIP LOCKED` on PostgreSQL) by counting the attempt and moving `send_after` past a lease, then sends
outside any transaction and records the outcome. A run that dies mid-way leaves its rows to be picked
up again when the lease ends, so a crash can mean one repeat, never a loss.

A failure is retried with exponential backoff (1 minute doubling, at most 6 hours apart) up to
MAX_ATTEMPTS; a permanent one (no template, a recipient the server refuses for good) fails at once.
Each attempt is kept in the payload's `delivery_log`, next to `attempts` and `last_error`. An apology
whose merchant offers a discount code gets the code made on the storefront first (apology.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select

from adapters.base import Channel as ChannelPort
from adapters.errors import ChannelError
from connector.db import UnitOfWork
from connector.errors import ConnectorError
from connector.models import Backorder, Channel, Merchant, Notification, Order
from connector.notify import apology
from connector.notify.optout import is_opted_out, unsubscribe_url
from connector.notify.render import Links, Rendered, RenderError, render
from connector.notify.smtp import MailNotConfigured, MailRejected, SmtpMailer, SmtpTarget
from connector.services import links
from connector.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
LOG_KEPT = 20
WAITING_KINDS = ("confirmed", "eta_moved", "still_waiting", "delayed")  # only while units still wait
OURS = (*WAITING_KINDS, "ready")
WITH_CANCEL_LINK = (*WAITING_KINDS, "confirm_wait")
WITH_UNSUBSCRIBE = ("confirmed", "still_waiting")


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass
class Sender:
    """What delivery needs: settings (links, SMTP_URL), storefronts (order notes), and a mailer factory."""

    settings: Settings
    storefronts: Any = None  # a StorefrontCache; None means order notes fall back to email
    mailer: Callable[[], Any] | None = None  # a context manager yielding a Mailer; SMTP_URL by default

    @contextmanager
    def mail_session(self) -> Iterator[Mailer]:
        factory = self.mailer or (lambda: SmtpMailer(SmtpTarget.from_url(self.settings.smtp_url)))
        try:
            session = factory()
        except MailNotConfigured as error:
            yield _Unconfigured(str(error))
            return
        with session as mailer:
            yield mailer


@dataclass(frozen=True)
class Prepared:
    notification_id: int
    delivery: str  # how it goes out this time: "email", or "order_note" with `note_port`
    rendered: Rendered | None = None  # the order note's wording (no unsubscribe link)
    message: EmailMessage | None = None  # the email, when there is an address to send it to
    note_port: ChannelPort | None = None
    note_order: str | None = None
    fallback: str | None = None  # why an order note goes by email instead
    skip: str | None = None
    broken: str | None = None  # cannot be built: fail without retrying
    discount_due: bool = False  # an apology whose discount code must be settled first (apology.py)


def send_pending(
    new_uow: Callable[[], UnitOfWork], sender: Sender, now: datetime, *, limit: int = 100
) -> dict:
    """Send what is due at `now` (at most `limit`); counts by outcome."""
    return send_claimed(new_uow, sender, claim(new_uow, now, limit), now)


def send_claimed(
    new_uow: Callable[[], UnitOfWork], sender: Sender, claimed: list[tuple[int, int]], now: datetime
) -> dict:
    """Send rows this run claimed, skipping any another run took over since; counts by outcome."""
    counts: Counter[str] = Counter(claimed=len(claimed))
    if not claimed:
        return dict(counts)
    with sender.mail_session() as mailer:
        for notification_id, attempt in claimed:
            if not _still_ours(new_uow, notification_id, attempt):
                counts["taken_over"] += 1  # our hold ran out (a slow store) and another run took it
                continue
            counts[_send_one(new_uow, sender, mailer, notification_id, attempt, now)] += 1
    return dict(counts)


def claim(new_uow: Callable[[], UnitOfWork], now: datetime, limit: int) -> list[tuple[int, int]]:
    """Take due rows for this run: count the attempt and hold them for LEASE. Returns (id, attempt):
    a run that finds a row's attempt moved on knows another run took it over after the hold ran out."""
    with new_uow() as uow:
        query = (
            select(Notification)
            .where(Notification.status == "pending", Notification.send_after <= now)
            .order_by(Notification.send_after, Notification.id)
            .limit(limit)
        )
        if uow.locks_rows:
            query = query.with_for_update(skip_locked=True)
        rows = list(uow.session.scalars(query))
        for row in rows:
            row.attempts += 1
            row.send_after = now + LEASE
        ids = [(row.id, row.attempts) for row in rows]
        uow.commit()
    return ids


def _still_ours(new_uow: Callable[[], UnitOfWork], notification_id: int, attempt: int) -> bool:
    with new_uow() as uow:
        row = uow.session.get(Notification, notification_id)
        return row is not None and row.status == "pending" and row.attempts == attempt


def _send_one(
    new_uow, sender: Sender, mailer: Mailer, notification_id: int, attempt: int, now: datetime
) -> str:
    prepared = _prepared(new_uow, sender, notification_id, now)
    if prepared.discount_due:
        held = apology.settle(new_uow, sender.storefronts, sender.settings.secret_key, notification_id, now)
        if not _still_ours(new_uow, notification_id, attempt):
            return "taken_over"  # the store was slow enough for our hold to run out
        if held:
            return _finish(new_uow, prepared, now, "retry", held)
        prepared = _prepared(new_uow, sender, notification_id, now, discount_settled=True)
    if prepared.skip:
        return _finish(new_uow, prepared, now, "skipped", prepared.skip)
    if prepared.broken:
        return _finish(new_uow, prepared, now, "failed", prepared.broken)
    fallback = prepared.fallback
    if prepared.delivery == "order_note":
        try:
            prepared.note_port.add_order_note(
                prepared.note_order, prepared.rendered.text, customer_visible=True
            )
        except (ChannelError, OSError) as error:
            if getattr(error, "retryable", True):
                return _finish(
                    new_uow, prepared, now, "retry", f"order note: {type(error).__name__}: {error}"
                )
            fallback = f"order note not possible, sent by email instead: {error}"
        else:
            return _finish(new_uow, prepared, now, "sent", None)
    if prepared.message is None:
        return _finish(new_uow, prepared, now, "failed", f"{fallback}; but the order has no customer email")
    try:
        mailer.send(prepared.message)
    except MailRejected as error:
        return _finish(new_uow, prepared, now, "failed", str(error), fallback=fallback)
    except (OSError, MailNotConfigured) as error:  # smtplib's errors are OSErrors
        return _finish(new_uow, prepared, now, "retry", f"{type(error).__name__}: {error}", fallback=fallback)
    return _finish(new_uow, prepared, now, "sent", None, fallback=fallback)


def _prepared(
    new_uow, sender: Sender, notification_id: int, now: datetime, *, discount_settled: bool = False
) -> Prepared:
    with new_uow() as uow:
        n = uow.session.get(Notification, notification_id)
        return _prepare(uow, sender, n, now, discount_settled=discount_settled)


def _prepare(
    uow: UnitOfWork, sender: Sender, n: Notification, now: datetime, *, discount_settled: bool = False
) -> Prepared:
    merchant = uow.session.get(Merchant, n.merchant_id)
    order = uow.session.get(Order, n.order_id) if n.order_id else None
    backorder = uow.session.get(Backorder, n.backorder_id) if n.backorder_id else None
    skip = _no_longer_wanted(uow, n, order, backorder)
    if skip:
        return Prepared(n.id, n.delivery, skip=skip)
    if not discount_settled and apology.wanted(n, merchant):
        return Prepared(n.id, n.delivery, discount_due=True)
    settings = sender.settings
    email_links = _links(settings, n, order, backorder, now, for_email=True)
    try:
        rendered = _render(n, merchant, email_links)
        message = (
            build_message(n, merchant, rendered, email_links, settings.app_url, now) if n.recipient else None
        )
    except (RenderError, ValueError) as error:  # ValueError: an address or header email cannot carry
        return Prepared(n.id, n.delivery, broken=str(error))
    if n.delivery != "order_note":
        if message is None:
            return Prepared(n.id, "email", broken="the order has no customer email")
        return Prepared(n.id, "email", rendered, message)
    note = _render(n, merchant, _links(settings, n, order, backorder, now, for_email=False))
    port = _note_port(uow, sender, order)
    if isinstance(port, str):  # no storefront to write to: email is the way
        return Prepared(n.id, "email", rendered, message, fallback=f"sent by email instead: {port}")
    return Prepared(n.id, "order_note", note, message, port, order.external_id)


def _no_longer_wanted(
    uow: UnitOfWork, n: Notification, order: Order | None, b: Backorder | None
) -> str | None:
    """Why a message recorded earlier should not go out now, if it should not."""
    if n.kind not in OURS:
        return None  # cancellation and wait-confirmation messages are their senders' business
    if order is not None and order.status == "cancelled":
        return "the order was cancelled"
    if b is not None and n.kind in WAITING_KINDS and b.status != "waiting":
        return f"the backorder is {b.status} now"
    if b is not None and n.kind == "ready" and b.status != "allocated":
        return f"the backorder is {b.status} now"
    if n.kind == "still_waiting" and is_opted_out(uow, n.merchant_id, n.recipient):
        return "customer opted out of periodic messages"
    return None


def _links(settings: Settings, n: Notification, order, backorder, now: datetime, *, for_email: bool) -> Links:
    cancel = None
    if (
        n.kind in WITH_CANCEL_LINK
        and order is not None
        and (backorder is None or backorder.status == "waiting")
    ):
        cancel = _cancel_url(settings, order.id, now)
    unsubscribe = None
    if for_email and n.kind in WITH_UNSUBSCRIBE and n.recipient:
        unsubscribe = unsubscribe_url(settings.app_url, settings.secret_key, n.merchant_id, n.recipient)
    return Links(cancel, unsubscribe)


def _cancel_url(settings: Settings, order_id: int, now: datetime) -> str:
    return links.cancel_url(settings.app_url, settings.secret_key, order_id, now)


def _render(n: Notification, merchant: Merchant, links: Links) -> Rendered:
    return render(n.kind, n.payload or {}, shop=merchant.name, locale=merchant.locale, links=links)


def _note_port(uow: UnitOfWork, sender: Sender, order: Order | None) -> ChannelPort | str:
    if order is None or sender.storefronts is None:
        return "no storefront order to add a note to"
    channel = uow.session.get(Channel, order.channel_id)
    try:
        return sender.storefronts.get(channel)
    except ConnectorError as error:  # the channel is disconnected
        return f"storefront unavailable for order notes: {error}"


def build_message(
    n: Notification, merchant: Merchant, rendered: Rendered, links: Links, app_url: str, now: datetime
) -> EmailMessage:
    """The email: text and HTML alternatives, from the merchant's name, with a stable Message-ID."""
    settings = merchant.settings or {}
    domain = mail_domain(app_url)
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = formataddr((merchant.name, settings.get("notify_from") or f"noreply@{domain}"))
    message["To"] = n.recipient
    if settings.get("notify_reply_to"):
        message["Reply-To"] = settings["notify_reply_to"]
    message["Date"] = format_datetime(now)
    # The same id on a resend after a crash lets mail clients show it once.
    message["Message-ID"] = f"<notification-{n.id}.{n.merchant_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    if links.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{links.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def mail_domain(app_url: str) -> str:
    host = urlsplit(app_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return "localhost"  # an address literal is no name to send from


def _finish(
    new_uow,
    prepared: Prepared,
    now: datetime,
    outcome: str,
    error: str | None,
    *,
    fallback: str | None = None,
) -> str:
    """Record the attempt: sent, skipped, failed for good, or pending again after a backoff."""
    with new_uow() as uow:
        n = uow.session.get(Notification, prepared.notification_id, with_for_update=uow.locks_rows)
        status = outcome
        if outcome == "retry":
            status = "failed" if n.attempts >= MAX_ATTEMPTS else "pending"
            n.send_after = now + backoff(n.attempts)
        n.status, n.last_error = status, error or fallback
        if status == "sent":
            n.sent_at = now
        if fallback:
            n.delivery = "email"
        entry = {"at": now.isoformat(), "attempt": n.attempts, "outcome": status, "via": n.delivery}
        if error or fallback:
            entry["error"] = error or fallback
        history = [*(n.payload or {}).get("delivery_log", []), entry][-LOG_KEPT:]
        n.payload = {**(n.payload or {}), "delivery_log": history}
        uow.commit()
    if status in ("pending", "failed"):
        log.warning(
            "notification %s attempt %s: %s (%s)", prepared.notification_id, entry["attempt"], status, error
        )
    return status


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4 … minutes, at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


class _Unconfigured:
    """Stands in for a mailer when SMTP_URL is missing, so email rows wait (and say why)."""

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, message: EmailMessage) -> None:
        raise MailNotConfigured(self.reason)
