"""Connecting storefronts (channels) to a merchant and keeping their secrets encrypted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import select

from connector.crypto import Vault
from connector.db import UnitOfWork
from connector.errors import Conflict, InvalidInput, NotFound
from connector.models import Channel, Listing, Merchant

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


@dataclass(frozen=True)
class ShopifyConnection:
    shop: str
    token: str
    api_url: str | None = None
    location_id: str | None = None
    webhook_secret: str | None = None


@dataclass(frozen=True)
class WooCommerceConnection:
    url: str
    key: str
    secret: str
    webhook_secret: str | None = None


def add_channel(
    uow: UnitOfWork, vault: Vault, merchant_id: int, connection: ShopifyConnection | WooCommerceConnection
) -> int:
    """Store a storefront connection with its credentials encrypted; returns the channel id."""
    kind, address, credentials, api_url = _describe(connection)
    with uow:
        if uow.session.get(Merchant, merchant_id) is None:
            raise NotFound(f"unknown merchant {merchant_id}")
        existing = uow.session.scalar(select(Channel).where(Channel.kind == kind, Channel.address == address))
        if existing is not None:
            raise Conflict(f"{address} is already connected as channel {existing.id}")
        channel = Channel(
            merchant_id=merchant_id,
            kind=kind,
            address=address,
            api_url=api_url,
            location_id=getattr(connection, "location_id", None),
            credentials_encrypted=vault.encrypt_json(credentials),
            webhook_secret_encrypted=vault.encrypt(connection.webhook_secret)
            if connection.webhook_secret
            else None,
            status="active",
        )
        uow.session.add(channel)
        uow.session.flush()
        channel_id = channel.id
        uow.commit()
    return channel_id


def list_channels(uow: UnitOfWork, merchant_id: int | None = None) -> list[dict[str, object]]:
    """Every channel (or one merchant's) with its linked listing count; never any secret."""
    with uow:
        query = select(Channel).order_by(Channel.id)
        if merchant_id is not None:
            query = query.where(Channel.merchant_id == merchant_id)
        rows = []
        for channel in uow.session.scalars(query):
            linked = uow.session.query(Listing).filter(Listing.channel_id == channel.id).count()
            state = channel.import_state or {}
            rows.append(
                {
                    "id": channel.id,
                    "merchant_id": channel.merchant_id,
                    "kind": channel.kind,
                    "address": channel.address,
                    "status": channel.status,
                    "listings": linked,
                    "import": state.get("status", "never"),
                }
            )
        return rows


def get_channel(uow: UnitOfWork, channel_id: int | str) -> Channel:
    text = str(channel_id).strip()
    channel = uow.session.get(Channel, int(text)) if text.isdigit() else None
    if channel is None:
        raise NotFound(f"unknown channel {text!r}")
    return channel


def _describe(
    connection: ShopifyConnection | WooCommerceConnection,
) -> tuple[str, str, dict[str, str], str | None]:
    if isinstance(connection, ShopifyConnection):
        shop = connection.shop.strip().lower()
        if not SHOP_DOMAIN.match(shop):
            raise InvalidInput(
                f"--shop must be a myshopify.com domain like my-store.myshopify.com, got {shop!r}"
            )
        if not connection.token.strip():
            raise InvalidInput("--token must not be empty")
        api_url = _check_url(connection.api_url, "--api-url") if connection.api_url else None
        return "shopify", shop, {"token": connection.token.strip()}, api_url
    url = _check_url(connection.url, "--url")
    if not connection.key.strip() or not connection.secret.strip():
        raise InvalidInput("--key and --secret must not be empty")
    return "woocommerce", url, {"key": connection.key.strip(), "secret": connection.secret.strip()}, url


def _check_url(url: str, option: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"{option} must be an http(s) URL, got {url!r}")
    return url.strip().rstrip("/")
