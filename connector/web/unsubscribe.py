"""Unsubscribing from periodic customer messages through the signed link in each email.

GET shows a confirmation page (mail scanners follow links, and must not unsubscribe anybody); POST
records the opt-out. The POST also serves RFC 8058 one-click unsubscribe from the List-Unsubscribe
header. The signed token is the only credential, so there is no session and no CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from connector.models import Merchant
from connector.notify.optout import opt_out, read_token
from connector.notify.render import render_page

bp = Blueprint("unsubscribe", __name__, url_prefix="/notifications")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response:
    services = current_app.extensions["backorder"]
    found = read_token(services.settings.secret_key, token)
    if found is None:
        return _page("invalid", "Link not valid", status=400)
    merchant_id, email = found
    with services.uow() as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        if merchant is None:
            return _page("invalid", "Link not valid", status=404)
        shop = merchant.name
        if request.method == "POST":
            opt_out(uow, merchant_id, email)  # a second click changes nothing
            uow.commit()
            return _page("done", "Unsubscribed", shop=shop, email=email)
    return _page("confirm", "Unsubscribe", shop=shop, email=email)


def _page(state: str, title: str, *, status: int = 200, **context: object) -> Response:
    body = render_page("unsubscribe.html", state=state, title=title, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response.headers["X-Robots-Tag"] = "noindex"
    return response
