"""Shopify's authorization-code grant: /admin/oauth/authorize and /admin/oauth/access_token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from urllib.parse import urlencode


def query_hmac(secret: str, params: dict[str, str]) -> str:
    """Hex HMAC-SHA256 of the query without `hmac`, as `k=v` pairs sorted by key and joined by `&`."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class OAuthError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body)
        self.status = status
        self.body = body


class OAuthGrants:
    """Single-use codes for one shop and one app; `issue_token` makes (or names) the access token."""

    def __init__(self, shop: str, client_id: str, client_secret: str, issue_token):
        self.shop = shop
        self.client_id = client_id
        self.client_secret = client_secret
        self.issue_token = issue_token
        self._codes: dict[str, str] = {}  # code → granted scope
        self._lock = threading.Lock()

    def authorize(self, args: dict[str, str]) -> str:
        """The redirect location for an approved install."""
        if args.get("client_id") != self.client_id:
            raise OAuthError(
                400, {"error": "invalid_request", "error_description": "The client_id is invalid"}
            )
        redirect_uri = args.get("redirect_uri")
        if not redirect_uri:
            raise OAuthError(
                400, {"error": "invalid_request", "error_description": "The redirect_uri is missing"}
            )
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = args.get("scope", "")
        store_name = self.shop.removesuffix(".myshopify.com")
        host = base64.urlsafe_b64encode(f"admin.shopify.com/store/{store_name}".encode()).decode().rstrip("=")
        params = {"code": code, "host": host, "shop": self.shop, "timestamp": str(int(time.time()))}
        if "state" in args:
            params["state"] = args["state"]
        params["hmac"] = query_hmac(self.client_secret, params)
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(params)}"

    def exchange(self, form: dict[str, str]) -> dict:
        """Trade a code for an offline access token; a code works once."""
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            raise OAuthError(
                400, {"error": "invalid_client", "error_description": "Client credentials are invalid"}
            )
        with self._lock:
            scope = self._codes.pop(form.get("code", ""), None)
        if scope is None:
            description = "The authorization code was not found or was already used"
            raise OAuthError(400, {"error": "invalid_request", "error_description": description})
        return {"access_token": self.issue_token(), "scope": scope}
