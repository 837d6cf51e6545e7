"""Email over SMTP from `SMTP_URL`: `smtp://[user:pass@]host[:port]` (STARTTLS whenever the server offers
it; add `?starttls=require` to refuse a server that does not) or `smtps://…` (TLS from the first byte).

Every network step has a timeout. Credentials come only from the URL and never appear in an error,
a log line or `repr`; they are never sent over an unencrypted connection except to a loopback host.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 10.0


class MailNotConfigured(Exception):
    """No usable SMTP_URL, or the server cannot be used safely as configured; fixable, so retried."""


class MailRejected(Exception):
    """The server refused this message for good (5xx on a recipient or the content): do not retry."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    require_starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str | None) -> SmtpTarget:
        if not url:
            raise MailNotConfigured("SMTP_URL is not set, so email cannot be sent")
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailNotConfigured("SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise MailNotConfigured("SMTP_URL has a malformed port") from None
        options = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=port,
            implicit_tls=parts.scheme == "smtps",
            require_starttls=options.get("starttls", [""])[0] == "require",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @property
    def where(self) -> str:
        """host:port, for messages: never the credentials."""
        return f"{self.host}:{self.port}"


class SmtpMailer:
    """Sends messages over one connection, opened on first use and reopened if the server drops it."""

    def __init__(
        self, target: SmtpTarget, *, timeout: float = DEFAULT_TIMEOUT, tls: ssl.SSLContext | None = None
    ):
        self.target = target
        self.timeout = timeout
        self._tls = tls
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; raises on anything short of acceptance for every recipient."""
        for attempt in (1, 2):
            connection = self._connection or self._connect()
            try:
                refused = connection.send_message(message)
            except smtplib.SMTPServerDisconnected:
                self.close()
                if attempt == 2:
                    raise
                continue  # a kept connection the server had timed out: once more on a fresh one
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _ in error.recipients.values()]
                if codes and all(code >= 500 for code in codes):
                    raise MailRejected(f"recipient refused by {self.target.where}: {codes}") from None
                raise
            except smtplib.SMTPDataError as error:
                if error.smtp_code >= 500:
                    raise MailRejected(f"message refused by {self.target.where}: {error.smtp_code}") from None
                raise
            if refused:
                raise MailRejected(f"some recipients refused by {self.target.where}: {sorted(refused)}")
            return

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()  # the server is gone already; just drop the socket

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        tls = self._tls or ssl.create_default_context()
        if target.implicit_tls:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=self.timeout, context=tls
            )
        else:
            connection = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        try:
            self._secure_and_login(connection, tls)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _secure_and_login(self, connection: smtplib.SMTP, tls: ssl.SSLContext) -> None:
        target = self.target
        connection.ehlo()
        encrypted = target.implicit_tls
        if not encrypted and connection.has_extn("starttls"):
            connection.starttls(context=tls)
            connection.ehlo()
            encrypted = True
        if not encrypted and target.require_starttls:
            raise MailNotConfigured(f"{target.where} does not offer STARTTLS, which SMTP_URL requires")
        if target.username:
            if not encrypted and not _loopback(target.host):
                raise MailNotConfigured(
                    f"{target.where} offers no TLS; refusing to send the SMTP password unencrypted"
                )
            connection.login(target.username, target.password or "")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
