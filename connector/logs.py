"""Structured logging: JSON lines in production, readable lines otherwise, secrets masked everywhere."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MASK = "[redacted]"
# Shapes of credentials that may turn up in messages even when we do not know the value.
_SECRET_SHAPES = [
    re.compile(r"shp(at|ss|ca|pa)_[0-9a-fA-F]{16,}"),
    re.compile(r"c[ks]_[0-9a-f]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:password|secret|token|api_key|consumer_key|consumer_secret)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;]+"
    ),
    re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"),
    # One-time install values in query strings (OAuth code, state, HMAC; wc-auth's user_id).
    re.compile(r"(?i)([?&](?:code|state|hmac|user_id|token)=)[^&\s\"']+"),
    # Customer addresses are personal data: never in a log line (query strings, messages).
    re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
]


class Redactor(logging.Filter):
    """Masks known secret values and secret-shaped strings in every record."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self.secrets = sorted(
            {*self.secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True
        )

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for shape in _SECRET_SHAPES:
            text = shape.sub(
                lambda m: (
                    (m.group(1) if m.re.groups and m.group(1) else "")
                    + MASK
                    + (m.group(2) if m.re.groups >= 2 else "")
                ),
                text,
            )
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.scrub(message), None
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        return json.dumps(entry, ensure_ascii=False)


READABLE = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def configure(*, production: bool, level: int, secrets: Iterable[str], stream=None) -> Redactor:
    """Install one handler on the root logger; returns the redactor so callers can add secrets later."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if production else logging.Formatter(READABLE))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_backorder", False)]:
        root.removeHandler(old)
    handler._backorder = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every migration step at INFO; the commands report the outcome themselves.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    return redactor
