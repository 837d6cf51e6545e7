"""Installing the service in a store: Shopify's OAuth grant and WooCommerce's wc-auth key exchange.

Shopify: `begin_shopify_install` keeps a single-use state nonce and builds the authorize URL; the
callback is checked (`verify_shopify_query`, `consume_state`), the code is traded for an offline token
(`exchange_code`), and `store_shopify_install` keeps the token encrypted on a new or reactivated
channel. WooCommerce: `begin_woocommerce_connect` keeps a pending record behind an opaque `user_id`;
the store posts the keys back to our callback and `complete_woocommerce_connect` stores them. Nothing
is written before a request has passed every check, and no secret reaches a message or a log line.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import shopify
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from adapters.base import Channel as ChannelPort
from connector.crypto import Vault
from connector.db import UnitOfWork
from connector.errors import Conflict, ConnectorError, InvalidInput
from connector.models import AuditEntry, Channel, Merchant, OAuthState, PendingConnect
from connector.services.channel_import import ImportProgress, import_catalog
from connector.services.channels import SHOP_DOMAIN
from connector.services.reconcile import reconcile_channel
from connector.settings import Settings
from connector.storefronts import subscribe

log = logging.getLogger(__name__)

DEFAULT_SCOPES = (
    "read_products",
    "write_products",
    "read_inventory",
    "write_inventory",
    "read_orders",
    "write_orders",
    "read_locations",
    "write_discounts",  # the optional discount code in a delay apology (discountCodeBasicCreate)
)
APP_NAME = "Backorder Connector"
HMAC_MAX_AGE = timedelta(hours=24)  # Shopify's own rule for install and callback requests
STATE_TTL = timedelta(hours=1)
CONNECT_TTL = timedelta(hours=1)
EXCHANGE_TIMEOUT = (5, 15)
IMPORT_ATTEMPTS = 5
RECONCILE_ATTEMPTS, RECONCILE_PAUSE = 20, 0.5


class InstallRefused(ConnectorError):
    """An install or connect request that fails a check; the message is safe to show and to log."""

    status = 400
    title = "Install refused"


class ForgedRequest(InstallRefused):
    status = 401
    title = "Signature check failed"


class NotConfigured(InstallRefused):
    status = 503
    title = "Shopify app not configured"


class UnknownConnect(InstallRefused):
    status = 404
    title = "No such connect in progress"


class ShopUnreachable(InstallRefused):
    status = 502
    title = "Shopify could not be reached"


@dataclass(frozen=True)
class InstallConfig:
    """What the install flows need: the app's credentials, scopes and public address. `shop_urls`
    points a shop at a sandbox (development only; production always uses https://<shop>)."""

    api_key: str | None
    api_secret: str | None
    app_url: str
    production: bool
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    shop_urls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, overrides: Mapping[str, Any]) -> InstallConfig:
        """From settings plus `SHOPIFY_SCOPES` ("a,b" or a list) and `SHOPIFY_SHOP_URLS`
        ("shop=url,…" or a dict) taken from `overrides` (app config, then the environment)."""
        scopes = overrides.get("SHOPIFY_SCOPES") or DEFAULT_SCOPES
        if isinstance(scopes, str):
            scopes = [s.strip() for s in scopes.split(",")]
        shop_urls = overrides.get("SHOPIFY_SHOP_URLS") or {}
        if isinstance(shop_urls, str):
            pairs = (pair.partition("=") for pair in shop_urls.split(",") if pair.strip())
            shop_urls = {shop.strip(): url.strip() for shop, _, url in pairs}
        return cls(
            api_key=settings.shopify_api_key,
            api_secret=settings.shopify_api_secret,
            app_url=settings.app_url,
            production=settings.production,
            scopes=tuple(s for s in scopes if s),
            shop_urls={} if settings.production else dict(shop_urls),
        )

    def require_shopify(self) -> tuple[str, str]:
        if not self.api_key or not self.api_secret:
            raise NotConfigured("set SHOPIFY_API_KEY and SHOPIFY_API_SECRET to install as a Shopify app")
        return self.api_key, self.api_secret

    def admin_url(self, shop: str) -> str:
        """Where the shop's admin (OAuth and Admin API) is served."""
        return self.shop_urls.get(shop, f"https://{shop}").rstrip("/")

    def api_url(self, shop: str) -> str | None:
        """The channel's API base when it is not the shop's own domain (a sandbox)."""
        return self.shop_urls[shop].rstrip("/") if shop in self.shop_urls else None


@dataclass(frozen=True)
class Installed:
    channel_id: int
    merchant_id: int
    created: bool


# -- Shopify ------------------------------------------------------------------------------------------


def check_shop(shop: str | None) -> str:
    """The shop domain exactly as given, when it is a myshopify.com domain; never rewritten."""
    if not shop or not SHOP_DOMAIN.match(shop):
        raise InstallRefused("shop must be a domain like your-store.myshopify.com")
    return shop


def query_params(pairs: Mapping[str, list[str]]) -> dict[str, str | list[str]]:
    """A query as Shopify signs it: `ids[]` keys keep their list, any other repeated key is refused."""
    params: dict[str, str | list[str]] = {}
    for key, values in pairs.items():
        if key.endswith("[]"):
            params[key] = list(values)
        elif len(values) == 1:
            params[key] = values[0]
        else:
            raise ForgedRequest(f"the parameter {key!r} is repeated")
    return params


def verify_shopify_query(params: Mapping[str, Any], secret: str, *, now: float | None = None) -> None:
    """Shopify's install and callback check: a fresh timestamp (24 h at most) and the hex HMAC over the
    sorted query (ShopifyAPI's `Session.validate_params`, on a class that holds our secret)."""
    if not params.get("hmac"):
        raise ForgedRequest("the request carries no hmac; open the app from your Shopify admin")
    stamp = str(params.get("timestamp") or "")
    if not stamp.isdigit():
        raise InstallRefused("the request carries no valid timestamp")
    now = time.time() if now is None else now
    if int(stamp) < now - HMAC_MAX_AGE.total_seconds():
        raise InstallRefused("the request is more than 24 hours old; start again from your Shopify admin")
    if not _signed_with(secret).validate_hmac(dict(params)):
        raise ForgedRequest("the request's hmac does not match; it was not signed by Shopify")


@lru_cache(maxsize=8)
def _signed_with(secret: str) -> type[shopify.Session]:
    # Session.setup() would set the secret on the package's global class; a subclass per app secret
    # keeps the check free of process-wide state (tests and several apps in one process differ).
    return type("AppSession", (shopify.Session,), {"secret": secret})


def begin_shopify_install(uow: UnitOfWork, config: InstallConfig, shop: str, now: datetime) -> str:
    """Keep a fresh single-use state for `shop`; the authorize URL to send the merchant to."""
    api_key, _ = config.require_shopify()
    nonce = secrets.token_urlsafe(32)
    with uow:
        uow.session.execute(delete(OAuthState).where(OAuthState.created_at < now - HMAC_MAX_AGE))
        uow.session.add(OAuthState(shop=shop, nonce=nonce, created_at=now))
        uow.commit()
    query = {
        "client_id": api_key,
        "scope": ",".join(config.scopes),
        "redirect_uri": f"{config.app_url}/shopify/callback",
        "state": nonce,
    }
    return f"{config.admin_url(shop)}/admin/oauth/authorize?{urlencode(query)}"


def consume_state(uow: UnitOfWork, shop: str, nonce: str, now: datetime) -> None:
    """Use up the state issued for `shop`; an unknown, used, expired or other shop's state is refused."""
    if not nonce:
        raise InstallRefused("the request carries no state; start the install again")
    with uow:
        result = uow.session.execute(
            update(OAuthState)
            .where(
                OAuthState.nonce == nonce,
                OAuthState.shop == shop,
                OAuthState.used_at.is_(None),
                OAuthState.created_at >= now - STATE_TTL,
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:
            raise InstallRefused("the state is unknown, expired or already used; start the install again")
        uow.commit()


def exchange_code(
    config: InstallConfig, shop: str, code: str, *, post: Callable[..., requests.Response] = requests.post
) -> tuple[str, str]:
    """Trade the authorization code for an offline access token; returns (token, granted scopes)."""
    api_key, api_secret = config.require_shopify()
    if not code:
        raise InstallRefused("the request carries no authorization code")
    url = f"{config.admin_url(shop)}/admin/oauth/access_token"
    body = {"client_id": api_key, "client_secret": api_secret, "code": code}
    try:
        response = post(url, json=body, timeout=EXCHANGE_TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        raise ShopUnreachable(
            f"Shopify could not be reached to finish the install ({type(error).__name__})"
        ) from None
    if response.status_code != 200:
        raise InstallRefused(
            f"Shopify refused the authorization code (HTTP {response.status_code}); start the install again"
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise InstallRefused("Shopify's answer to the code exchange carried no access token")
    return token, str(answer.get("scope") or "")


def store_shopify_install(
    uow: UnitOfWork, vault: Vault, config: InstallConfig, shop: str, token: str, scope: str, now: datetime
) -> Installed:
    """Keep the token encrypted on the shop's channel, creating the merchant and channel on a first
    install and reactivating them on a reinstall."""
    for attempt in range(2):
        try:
            return _store_shopify(uow, vault, config, shop, token, scope, now)
        except IntegrityError:  # a concurrent callback for the same new shop created it a moment ago
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store_shopify(
    uow: UnitOfWork, vault: Vault, config: InstallConfig, shop: str, token: str, scope: str, now: datetime
) -> Installed:
    with uow:
        channel = uow.session.scalar(
            select(Channel).where(Channel.kind == "shopify", Channel.address == shop)
        )
        created = channel is None
        if channel is None:
            merchant = Merchant(name=shop.removesuffix(".myshopify.com"))
            uow.session.add(merchant)
            uow.session.flush()
            channel = Channel(merchant_id=merchant.id, kind="shopify", address=shop)
            uow.session.add(channel)
        channel.api_url = config.api_url(shop)
        channel.credentials_encrypted = vault.encrypt_json({"token": token})
        channel.webhook_secret_encrypted = None  # an installed app's webhooks are signed with its secret
        channel.status = "active"
        uow.session.flush()
        _audit(uow, channel, "channel.installed", {"kind": "shopify", "scopes": scope, "new": created}, now)
        installed = Installed(channel.id, channel.merchant_id, created)
        uow.commit()
    return installed


# -- WooCommerce --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WooKeys:
    """What wc-auth posts to our callback; `repr` leaves the secret out."""

    user_ref: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    permissions: str


def begin_woocommerce_connect(
    uow: UnitOfWork, config: InstallConfig, store_url: str, merchant_id: int | None, now: datetime
) -> str:
    """Keep a pending connect for a checked store URL; the wc-auth URL to send the merchant to."""
    ref = secrets.token_urlsafe(32)
    with uow:
        existing = uow.session.scalar(
            select(Channel).where(Channel.kind == "woocommerce", Channel.address == store_url)
        )
        if existing is not None and (merchant_id is None or existing.merchant_id != merchant_id):
            raise Conflict("this store is already connected to another account")
        uow.session.execute(
            delete(PendingConnect).where(
                PendingConnect.created_at < now - timedelta(days=1), PendingConnect.completed_at.is_(None)
            )
        )
        uow.session.add(
            PendingConnect(merchant_id=merchant_id, store_url=store_url, user_ref=ref, created_at=now)
        )
        uow.commit()
    query = {
        "app_name": APP_NAME,
        "scope": "read_write",
        "user_id": ref,
        "return_url": f"{config.app_url}/woocommerce/return",
        "callback_url": f"{config.app_url}/woocommerce/callback",
    }
    return f"{store_url}/wc-auth/v1/authorize?{urlencode(query)}"


def parse_wc_keys(body: object) -> WooKeys:
    """The keys wc-auth posted, checked for shape; anything else is refused."""
    if not isinstance(body, dict):
        raise InvalidInput("the callback body must be a JSON object")
    fields = {
        name: body.get(name) for name in ("user_id", "consumer_key", "consumer_secret", "key_permissions")
    }
    if not all(isinstance(v, str | int) and str(v).strip() for v in fields.values()):
        raise InvalidInput(
            "the callback body needs user_id, consumer_key, consumer_secret and key_permissions"
        )
    keys = WooKeys(
        str(fields["user_id"]),
        str(fields["consumer_key"]),
        str(fields["consumer_secret"]),
        str(fields["key_permissions"]),
    )
    if not keys.consumer_key.startswith("ck_") or not keys.consumer_secret.startswith("cs_"):
        raise InvalidInput("the callback body does not carry WooCommerce API keys")
    if keys.permissions != "read_write":
        raise InvalidInput("the keys must have read_write permission")
    return keys


def complete_woocommerce_connect(uow: UnitOfWork, vault: Vault, keys: WooKeys, now: datetime) -> Installed:
    """Match the pending connect (once), then keep the keys encrypted on a new or reactivated channel."""
    with uow:
        pending = uow.session.scalar(select(PendingConnect).where(PendingConnect.user_ref == keys.user_ref))
        if pending is None or pending.completed_at is not None or pending.created_at < now - CONNECT_TTL:
            raise UnknownConnect("no connect in progress matches this callback; start again from the app")
        claimed = uow.session.execute(
            update(PendingConnect)
            .where(PendingConnect.id == pending.id, PendingConnect.completed_at.is_(None))
            .values(completed_at=now)
        )
        if claimed.rowcount != 1:
            raise UnknownConnect("no connect in progress matches this callback; start again from the app")
        merchant_id = pending.merchant_id or _new_merchant(uow, pending.store_url)
        channel = uow.session.scalar(
            select(Channel).where(Channel.kind == "woocommerce", Channel.address == pending.store_url)
        )
        created = channel is None
        if channel is None:
            channel = Channel(merchant_id=merchant_id, kind="woocommerce", address=pending.store_url)
            uow.session.add(channel)
        elif channel.merchant_id != merchant_id:
            raise Conflict("this store is already connected to another account")
        channel.api_url = pending.store_url
        channel.credentials_encrypted = vault.encrypt_json(
            {"key": keys.consumer_key, "secret": keys.consumer_secret}
        )
        channel.status = "active"
        uow.session.flush()
        pending.channel_id = channel.id
        _audit(uow, channel, "channel.installed", {"kind": "woocommerce", "new": created}, now)
        installed = Installed(channel.id, merchant_id, created)
        uow.commit()
    return installed


def connect_outcome(uow: UnitOfWork, user_ref: str) -> PendingConnect | None:
    """The pending connect behind a wc-auth return, or None."""
    with uow:
        return uow.session.scalar(select(PendingConnect).where(PendingConnect.user_ref == user_ref))


def finish_install(
    new_uow: Callable[[], UnitOfWork],
    settings: Settings,
    port_for: Callable[[Channel], ChannelPort],
    channel_id: int,
    *,
    subscribe_webhooks: bool,
) -> None:
    """After the keys are kept: subscribe the webhooks (when asked), import and link the catalogue, and
    bring the store's quantities in line with the ledger. Runs in the background, each step in its own
    units of work."""
    vault = Vault(settings.encryption_keys)
    if subscribe_webhooks:
        subscribe(new_uow, settings, vault, channel_id, settings.app_url)
    with new_uow() as uow:
        port = port_for(uow.session.get(Channel, channel_id))
    progress = _import(new_uow, channel_id, port)
    report = reconcile_channel(new_uow, channel_id, port)
    for _ in range(RECONCILE_ATTEMPTS):
        if not report.skipped:
            break
        time.sleep(RECONCILE_PAUSE)  # the worker is still applying this store's deliveries
        report = reconcile_channel(new_uow, channel_id, port)
    log.info(
        "channel %s installed: %d listings linked, %d items created, %d problems; reconcile: %s",
        channel_id,
        progress.linked,
        progress.created,
        len(progress.problems),
        report.skipped or "done",
    )


def _import(new_uow: Callable[[], UnitOfWork], channel_id: int, port: ChannelPort) -> ImportProgress:
    """The catalogue import, resumed when a page lost a race: a merchant's two stores installed at
    once import side by side, and both may create the same new item; the page is then read again."""
    for attempt in range(IMPORT_ATTEMPTS):
        try:
            return import_catalog(new_uow, channel_id, port)
        except IntegrityError:
            log.info("channel %s: an import page met a concurrent import; resuming", channel_id)
            time.sleep(0.2 * (attempt + 1))
    return import_catalog(new_uow, channel_id, port)


def _new_merchant(uow: UnitOfWork, store_url: str) -> int:
    merchant = Merchant(name=urlsplit(store_url).hostname or store_url)
    uow.session.add(merchant)
    uow.session.flush()
    return merchant.id


def _audit(uow: UnitOfWork, channel: Channel, action: str, details: dict[str, Any], now: datetime) -> None:
    uow.session.add(
        AuditEntry(
            merchant_id=channel.merchant_id,
            actor=f"{channel.kind}:{channel.address}",
            action=action,
            subject=f"channel {channel.id}",
            details=details,
            created_at=now,
        )
    )
