"""Who is calling: WooCommerce's REST authentication (`WC_REST_Authentication`) and the `wc-auth`
key exchange (`WC_Auth`).

Accepted, in WooCommerce's order: `consumer_key`/`consumer_secret` in the query, then HTTP Basic (both
are what WooCommerce takes over HTTPS; the sandbox takes them on plain loopback HTTP too), then OAuth
1.0a one-legged signatures, which is what WooCommerce requires over plain HTTP and what the
`woocommerce` package sends to an `http://` store. With no configured key any non-empty key is
accepted (an OAuth signature cannot be checked then, so it is not)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from werkzeug.wrappers import Request

from .wp import WPError

SCOPES = ("read", "write", "read_write")
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
OAUTH_WINDOW = 15 * 60
BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the '
    'password field."'
)
# The error a permission callback gives a request that no key authenticated, by kind of route.
UNAUTHENTICATED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}


@dataclass
class ApiKey:
    key_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"
    description: str = ""
    nonces: dict[str, float] = field(default_factory=dict)


def new_key_pair() -> tuple[str, str]:
    """`'ck_' . wc_rand_hash()` and `'cs_' . wc_rand_hash()`: 40 hex digits each."""
    return "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)


def authentication_failed(message: str, *, basic: bool = False) -> WPError:
    error = WPError("woocommerce_rest_authentication_error", message, 401)
    if basic:
        error.headers["WWW-Authenticate"] = BASIC_REALM
    return error


class KeyRing:
    """The store's API keys: the configured pair, if any, and the pairs `wc-auth` has issued."""

    def __init__(self, consumer_key: str | None = None, consumer_secret: str | None = None):
        if (consumer_key is None) != (consumer_secret is None):
            raise ValueError("give both a consumer key and a consumer secret, or neither")
        self.open = consumer_key is None
        self._keys: dict[str, ApiKey] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        if consumer_key is not None and consumer_secret is not None:
            self.add(consumer_key, consumer_secret, "read_write", "configured")

    def add(self, consumer_key: str, consumer_secret: str, permissions: str, description: str) -> ApiKey:
        with self._lock:
            key = ApiKey(next(self._ids), consumer_key, consumer_secret, permissions, description)
            self._keys[consumer_key] = key
            return key

    def issue(self, app_name: str, scope: str) -> ApiKey:
        consumer_key, consumer_secret = new_key_pair()
        return self.add(consumer_key, consumer_secret, scope, f"{app_name} - API")

    def revoke(self, key: ApiKey) -> None:
        with self._lock:
            self._keys.pop(key.consumer_key, None)

    def find(self, consumer_key: str) -> ApiKey | None:
        key = self._keys.get(consumer_key)
        if key is None and self.open and consumer_key:
            return ApiKey(0, consumer_key, "", "read_write", "any key (no key configured)")
        return key

    def authenticate(self, request: Request, form: dict[str, str], home_url: str) -> ApiKey | None:
        """The key behind `request`, None if it carries none we know, or a 401 for a wrong one.
        `home_url` is the site address OAuth signatures are made over."""
        query = _php_query(request)
        consumer_key, consumer_secret = query.get("consumer_key", ""), query.get("consumer_secret", "")
        if (
            not (consumer_key and consumer_secret)
            and request.authorization
            and request.authorization.type == "basic"
        ):
            consumer_key = request.authorization.username or ""
            consumer_secret = request.authorization.password or ""
        if consumer_key and consumer_secret:
            key = self.find(consumer_key)
            if key is not None:
                if key.key_id and not hmac.compare_digest(key.consumer_secret, consumer_secret):
                    raise authentication_failed("Consumer secret is invalid.", basic=True)
                return key
        return self._oauth(request, {**query, **form}, home_url)

    def _oauth(self, request: Request, params: dict[str, str], home_url: str) -> ApiKey | None:
        params = {**params, **_oauth_header(request.headers.get("Authorization", ""))}
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if len(missing) == len(OAUTH_PARAMS):
            return None
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise WPError(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {noun} {', '.join(missing)}",
                401,
            )
        key = self.find(params["oauth_consumer_key"])
        if key is None:
            raise authentication_failed("Consumer key is invalid.")
        if not key.key_id:
            return key  # open store: there is no secret to check the signature against
        _check_signature(request, params, key, home_url)
        with self._lock:
            _check_nonce(key, params)
        return key


def check_permission(key: ApiKey, method: str) -> None:
    """`WC_REST_Authentication::check_permissions`: the key's read/write scope against the method."""
    if method in ("GET", "HEAD") and key.permissions not in ("read", "read_write"):
        raise authentication_failed("The API key provided does not have read permissions.")
    if method in ("POST", "PUT", "PATCH", "DELETE") and key.permissions not in ("write", "read_write"):
        raise authentication_failed("The API key provided does not have write permissions.")


def unauthenticated(kind: str) -> WPError:
    code, message = UNAUTHENTICATED[kind]
    return WPError(code, message, 401)


def _php_query(request: Request) -> dict[str, str]:
    # PHP's $_GET keeps the last value of a repeated argument; the woocommerce package repeats them.
    return dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))


def _oauth_header(header: str) -> dict[str, str]:
    if not header.startswith("OAuth "):
        return {}
    params = {}
    for part in header[6:].split(","):
        name, _, value = part.strip().partition("=")
        if name.startswith("oauth_"):
            params[name] = _rawurldecode(value.strip('"'))
    return params


def _rawurldecode(text: str) -> str:
    return unquote(text)


def _rfc3986(text: str) -> str:
    """`wc_rest_urlencode_rfc3986`: PHP's rawurlencode."""
    return quote(text, safe="-_.~")


def _check_signature(request: Request, params: dict[str, Any], key: ApiKey, home_url: str) -> None:
    """`check_oauth_signature`: METHOD & encoded base URI & the sorted, doubly encoded parameters."""
    signed = {k: v for k, v in params.items() if k != "oauth_signature"}
    method = signed.get("oauth_signature_method")
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise authentication_failed("Invalid signature - signature method is invalid.")
    raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or quote(request.path)
    base_uri = home_url.rstrip("/") + urlsplit(raw_path).path
    pairs = [_rfc3986(f"{_rfc3986(k)}={_rfc3986(str(signed[k]))}") for k in sorted(signed)]
    string_to_sign = f"{request.method}&{_rfc3986(base_uri)}&{'%26'.join(pairs)}"
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(
        hmac.new(f"{key.consumer_secret}&".encode(), string_to_sign.encode(), digest).digest()
    ).decode()
    provided = params["oauth_signature"].replace(" ", "+")
    if not hmac.compare_digest(expected, provided):
        raise authentication_failed("Invalid signature - provided signature does not match.")


def _check_nonce(key: ApiKey, params: dict[str, Any]) -> None:
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise authentication_failed("Invalid timestamp.") from None
    moment = time.time()
    if abs(timestamp - moment) > OAUTH_WINDOW:
        raise authentication_failed("Invalid timestamp.")
    key.nonces = {n: t for n, t in key.nonces.items() if t >= moment - OAUTH_WINDOW}
    nonce = str(params["oauth_nonce"])
    if nonce in key.nonces:
        raise authentication_failed("Invalid nonce - nonce has already been used.")
    key.nonces[nonce] = timestamp


# -- wc-auth ------------------------------------------------------------------------------------------

AUTH_PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class AuthDenied(Exception):
    """`wp_die( 'Error: …' )` with status 401, as `WC_Auth::auth_endpoint` ends a failed exchange."""


def authorize(keyring: KeyRing, params: dict[str, str], *, timeout: float = 10.0) -> str:
    """`/wc-auth/v1/authorize`, approved at once by a logged-in administrator: issue a key pair, post
    it as JSON to `callback_url` (which must answer exactly 200, or the key is deleted again) and
    return the `return_url` to redirect to, with `success=1&user_id=…`."""
    import requests

    data = _auth_validation(params)
    key = keyring.issue(data["app_name"], data["scope"])
    consumer_data = {
        "key_id": key.key_id,
        "user_id": data["user_id"],
        "consumer_key": key.consumer_key,
        "consumer_secret": key.consumer_secret,
        "key_permissions": key.permissions,
    }
    try:
        response = requests.post(
            _formatted_url(data["callback_url"]),
            json=consumer_data,
            headers={"Content-Type": "application/json;charset=UTF-8"},
            timeout=timeout,
        )
        if response.status_code != 200:
            raise AuthDenied(
                "An error occurred in the request and at the time were unable to send the consumer data"
            )
    except requests.RequestException as error:
        keyring.revoke(key)
        raise AuthDenied(type(error).__name__) from None
    except AuthDenied:
        keyring.revoke(key)
        raise
    return _with_args(_formatted_url(data["return_url"]), {"success": "1", "user_id": data["user_id"]})


def denied_url(params: dict[str, str]) -> str:
    """Where 'Deny' sends the merchant: `return_url` with `success=0`."""
    data = _auth_validation(params)
    return _with_args(_formatted_url(data["return_url"]), {"success": "0", "user_id": data["user_id"]})


def _auth_validation(params: dict[str, str]) -> dict[str, str]:
    """`WC_Auth::make_validation`; the sandbox also lets `http://` callbacks reach loopback hosts."""
    for name in AUTH_PARAMS:
        if not params.get(name):
            raise AuthDenied(f"Missing parameter {name}")
    if params["scope"] not in SCOPES:
        raise AuthDenied(f"Invalid scope {params['scope']}")
    for name in ("return_url", "callback_url"):
        parts = urlsplit(_formatted_url(params[name]))
        if not parts.scheme or not parts.netloc:
            raise AuthDenied(f"The {_formatted_url(params[name])} is not a valid URL")
    callback = urlsplit(_formatted_url(params["callback_url"]))
    if callback.scheme != "https" and callback.hostname not in LOOPBACK_HOSTS:
        raise AuthDenied("The callback_url needs to be over SSL")
    return {name: params[name] for name in AUTH_PARAMS}


def _formatted_url(url: str) -> str:
    url = unquote(url)
    return url if "://" in url else "https://" + url


def _with_args(url: str, args: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(args)
