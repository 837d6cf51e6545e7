"""No secret or token ever appears in a log line."""

import io
import json
import logging

from connector import logs
from connector.settings import Settings
from connector.web.app import create_app

SHOP_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
WOO_KEY = "ck_0123456789abcdef0123456789abcdef01234567"


def capture(*, production: bool, secrets=()):
    stream = io.StringIO()
    logs.configure(production=production, level=logging.DEBUG, secrets=secrets, stream=stream)
    return stream


def test_known_secrets_are_masked_in_messages_and_tracebacks():
    stream = capture(production=False, secrets=["super-secret-value"])
    log = logging.getLogger("test")
    log.warning("connecting with %s", "super-secret-value")
    try:
        raise RuntimeError("failed with super-secret-value")
    except RuntimeError:
        log.exception("boom")
    assert "super-secret-value" not in stream.getvalue()
    assert logs.MASK in stream.getvalue()


def test_token_shaped_strings_are_masked_even_when_unknown():
    stream = capture(production=False)
    log = logging.getLogger("test")
    log.info("token %s key %s", SHOP_TOKEN, WOO_KEY)
    log.info("Authorization: Bearer abc.def.ghi-jkl")
    log.info("postgresql://user:pa55word@db/shop and consumer_secret=cs_abcdef")
    text = stream.getvalue()
    for secret in (SHOP_TOKEN, WOO_KEY, "abc.def.ghi-jkl", "pa55word", "cs_abcdef"):
        assert secret not in text


def test_production_logs_are_json_lines_with_a_request_id(tmp_path, database_url, engine):
    stream = io.StringIO()
    settings = Settings.from_env(
        {
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": database_url,
            "APP_ENV": "production",
            "APP_URL": "https://connector.example",
            "SECRET_KEY": "k" * 40,
            "ENCRYPTION_KEY": "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c=",
        }
    )
    app = create_app(settings, engine=engine)
    logs.configure(production=True, level=logging.INFO, secrets=settings.secrets(), stream=stream)
    app.test_client().get("/healthz", headers={"X-Request-Id": "req-42"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    request_line = next(line for line in lines if "/healthz" in line["message"])
    assert request_line["request_id"] == "req-42"
    assert "k" * 40 not in stream.getvalue()


def test_one_time_install_values_and_customer_addresses_are_masked():
    stream = capture(production=False)
    logging.getLogger("test").info(
        '"GET /shopify/callback?code=abc123code&hmac=ffee&shop=a.myshopify.com&state=n0nce HTTP/1.1" 302 '
        "and /api/v1/orders?email=ann%40example.com for ann@example.com"
    )
    text = stream.getvalue()
    for value in ("abc123code", "ffee", "n0nce", "ann%40example.com", "ann@example.com"):
        assert value not in text
    assert "shop=a.myshopify.com" in text
