"""Request ids and the access log, as WSGI middleware around the Flask app.

Every request gets an id (the caller's `X-Request-Id` when it is sane, else a fresh one): it is in every
log line written while the request is handled and in the `X-Request-Id` header of the answer, and each
request ends with one access line. Middleware, not Flask before/after/teardown hooks: those three hooks
cost more than the webhook intake's own work (Flask wraps and dispatches each one, and each reaches the
request through its proxies).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable

from flask import has_request_context, request

from connector import logs

log = logging.getLogger("connector.web")
# Routes whose successful answers are logged at DEBUG, not INFO: storefronts send webhooks by the
# thousand, each accepted one is a row in the inbox already, and a log line cost more than storing it.
# Refusals and errors are logged at INFO as on every route.
QUIET_WHEN_OK = frozenset({"webhooks.shopify", "webhooks.woocommerce"})


class RequestTrace:
    """Wraps a WSGI app: sets the request id, adds it to the answer, logs the access line."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = logs.request_id.set(rid)
        started = time.perf_counter()

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            headers.append(("X-Request-Id", rid))
            _log_access(environ, int(status[:3]), (time.perf_counter() - started) * 1000)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            logs.request_id.reset(token)


def _log_access(environ: dict, status: int, elapsed_ms: float) -> None:
    # Flask answers inside its request context, so the matched endpoint and the decoded path are known.
    in_flask = has_request_context()
    quiet = status < 400 and in_flask and request.endpoint in QUIET_WHEN_OK
    level = logging.DEBUG if quiet else logging.INFO
    if log.isEnabledFor(level):
        path = request.path if in_flask else environ.get("PATH_INFO", "")
        log.log(level, "%s %s %s %.1fms", environ.get("REQUEST_METHOD", "-"), path, status, elapsed_ms)
