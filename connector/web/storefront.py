"""The public storefront read API: what a product page shows (status, wait text, date, substitutes)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from connector.models import Channel, Item, Merchant, utcnow
from connector.services import substitutes
from connector.services.backorders import availability
from connector.web.problems import error_response

bp = Blueprint("storefront", __name__, url_prefix="/storefront/v1")
CACHE_SECONDS = 30


@bp.get("/availability")
def get_availability() -> Response:
    channel_ref, sku = request.args.get("channel", ""), request.args.get("sku", "")
    if not channel_ref.isdigit() or not sku:
        return _public(error_response(400, "give channel=<channel id> and sku=<SKU>"))
    services = current_app.extensions["backorder"]
    with services.uow() as uow:
        channel = uow.session.get(Channel, int(channel_ref))
        if channel is None or channel.status != "active":
            return _public(error_response(404, f"no channel {channel_ref}"))
        item = uow.session.scalar(
            select(Item).where(Item.merchant_id == channel.merchant_id, Item.sku == sku)
        )
        if item is None:
            return _public(error_response(404, f"no item {sku!r} on channel {channel_ref}"))
        merchant = uow.session.get(Merchant, channel.merchant_id)
        shown = availability(uow, merchant, item, utcnow())
        waiting = shown["status"] != "in_stock"
        offered = substitutes.for_storefront(uow, merchant, item, channel.id) if waiting else []
    response = jsonify(sku=sku, **shown, substitutes=offered)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return _public(response)


def _public(response: Response) -> Response:
    # Read by theme code on the store's own domain: any origin may read it; it carries no secret.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Vary"] = "Origin"
    return response
