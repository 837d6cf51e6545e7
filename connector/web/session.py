"""Embedded-app requests: Shopify session tokens (`Authorization: Bearer <JWT>`).

App Bridge signs a short-lived JWT for the shop the merchant is looking at: HS256 with the app's
secret, audience = the app's API key, `dest` = https://<shop>. ShopifyAPI's
`session_token.decode_from_header` checks the signature, audience, lifetime and issuer; we also insist on
an expiry and on an active channel for that shop, which names the merchant. Anything else is a 401
problem body that says what to do, never what the token held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import current_app, g, request
from shopify import session_token
from sqlalchemy import select

from connector.db import UnitOfWork
from connector.models import Channel
from connector.services.channels import SHOP_DOMAIN
from connector.settings import Settings
from connector.web.problems import error_response

log = logging.getLogger(__name__)


class SessionRefused(Exception):
    """A session token we do not accept; the message is safe to show."""


@dataclass(frozen=True)
class ShopSession:
    """Who an embedded request comes from: the shop, its merchant and channel, Shopify's user id."""

    shop: str
    merchant_id: int
    channel_id: int
    user: str


def authenticate(header: str, settings: Settings, uow: UnitOfWork) -> ShopSession:
    """The session behind an Authorization header, or SessionRefused."""
    if not settings.shopify_api_key or not settings.shopify_api_secret:
        raise SessionRefused("session tokens are not accepted: the Shopify app is not configured")
    if not header:
        raise SessionRefused("send the App Bridge session token as Authorization: Bearer <token>")
    try:
        claims = session_token.decode_from_header(
            header, settings.shopify_api_key, settings.shopify_api_secret
        )
    except session_token.SessionTokenError as error:
        expired = isinstance(error.__cause__, jwt.ExpiredSignatureError)
        raise SessionRefused(
            "the session token has expired" if expired else "the session token is not valid for this app"
        ) from None
    if "exp" not in claims:
        raise SessionRefused("the session token has no expiry")
    shop = urlsplit(str(claims.get("dest", ""))).hostname or ""
    if not SHOP_DOMAIN.match(shop):
        raise SessionRefused("the session token names no myshopify.com shop")
    with uow:
        channel = uow.session.scalar(
            select(Channel).where(
                Channel.kind == "shopify", Channel.address == shop, Channel.status == "active"
            )
        )
    if channel is None:
        raise SessionRefused("the app is not installed on this shop; install it first")
    return ShopSession(shop, channel.merchant_id, channel.id, str(claims.get("sub", "")))


def require_session_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the view run only for a valid session token; it finds the session in `g.shop_session`."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        services = current_app.extensions["backorder"]
        try:
            g.shop_session = authenticate(
                request.headers.get("Authorization", ""), services.settings, services.uow()
            )
        except SessionRefused as refused:
            log.info("embedded request refused: %s", refused)
            response = error_response(401, str(refused))
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        return view(*args, **kwargs)

    return guarded


def current_session() -> ShopSession:
    return g.shop_session
