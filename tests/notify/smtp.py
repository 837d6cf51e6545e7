"""A real SMTP server on a free loopback port (aiosmtpd), capturing what it is sent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the server accepted, and how it should misbehave next."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    fail_next: int = 0  # answer DATA with a temporary failure this many times
    unknown_recipients: set[str] = field(default_factory=set)  # answer RCPT with 550
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_recipients:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                return "451 4.3.0 mailbox busy, try again later"
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


class AnyPortController(Controller):
    """aiosmtpd's Controller, bound to port 0: it learns the port the system chose before its self-check."""

    def start(self):
        # aiosmtpd narrates every connection at INFO, from its own thread, even after a test's log
        # capture has closed; its warnings and errors still show.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        super().start()

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, str]]:
    """Yields the mailbox and the SMTP_URL to reach it."""
    mailbox = Mailbox()
    controller = AnyPortController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()
