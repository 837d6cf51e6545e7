"""Helpers for install, session-token and compliance tests: signing as Shopify and App Bridge do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import jwt

from connector.settings import Settings

API_KEY = "test-app-client-id"
API_SECRET = "test-app-secret-" + "5e" * 16  # at least 32 bytes: PyJWT warns about shorter HMAC keys
SHOP = "acme-outfitters.myshopify.com"


def app_settings(tmp_path: Path, database_url: str, **env: str) -> Settings:
    """Settings for an app installed as a Shopify app with the test app's credentials."""
    values = {
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": API_SECRET,
        **env,
    }
    return Settings.from_env(values)


def query_hmac(params: dict[str, str], secret: str = API_SECRET) -> str:
    """Hex HMAC-SHA256 over the sorted `k=v` pairs without `hmac`, as Shopify signs install requests."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(secret: str = API_SECRET, **params: str) -> str:
    """A query string signed as Shopify signs it (timestamp now unless given)."""
    params.setdefault("timestamp", str(int(time.time())))
    params["hmac"] = query_hmac(params, secret)
    return urlencode(params)


def session_token(
    shop: str = SHOP, *, secret: str = API_SECRET, audience: str = API_KEY, lifetime: int = 60, **claims
) -> str:
    """An App Bridge session token for `shop`."""
    now = int(time.time())
    payload = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": audience,
        "sub": "42",
        "exp": now + lifetime,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256")


def webhook_headers(topic: str, body: bytes, *, shop: str = SHOP, secret: str = API_SECRET) -> dict[str, str]:
    """Headers of a Shopify webhook delivery, signed over `body`."""
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
    }


def compliance_body(
    topic: str, *, shop: str = SHOP, email: str | None = None, orders: list[int] = ()
) -> bytes:
    """A compliance webhook body shaped like Shopify's documented examples."""
    body: dict = {"shop_id": 954889, "shop_domain": shop}
    if topic == "customers/data_request":
        body |= {
            "orders_requested": list(orders),
            "customer": {"id": 191167, "email": email, "phone": "555-625-1199"},
            "data_request": {"id": 9999},
        }
    elif topic == "customers/redact":
        body |= {
            "customer": {"id": 191167, "email": email, "phone": "555-625-1199"},
            "orders_to_redact": list(orders),
        }
    return json.dumps(body).encode()
