"""The sandbox's HTTP face: Admin GraphQL under /admin/api/<version>/graphql.json and the OAuth routes."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING

from flask import Flask, Response, redirect, request

from .oauth import OAuthError

if TYPE_CHECKING:
    from .sandbox import ShopifySandbox

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - a message
QUERY_MISSING = {"errors": {"query": "Required parameter missing or invalid"}}
# What Shopify's edge answers when it is having a bad moment.
FAILURES = (
    (500, "application/json", json.dumps({"errors": "Internal Server Error"})),
    (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    (503, "application/json", json.dumps({"errors": "Unavailable Shop"})),
)


def _json(body, status: int = 200, **headers) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def create_app(sandbox: ShopifySandbox) -> Flask:
    app = Flask("shopify_sandbox")
    faults = sandbox.faults

    @app.post("/admin/api/<version>/graphql.json")
    def graphql(version: str):
        faults.delay()
        if version not in sandbox.api_versions:
            return _json({"errors": "Not Found"}, 404)
        token = request.headers.get("X-Shopify-Access-Token", "")
        if not sandbox.accepts(token):
            return _json({"errors": INVALID_TOKEN}, 401)
        if faults.roll(faults.fail_rate):
            status, mimetype, body = FAILURES[faults.rng.randrange(len(FAILURES))]
            return Response(body, status=status, mimetype=mimetype)
        query, variables, name = _read_request()
        if not isinstance(query, str) or not query.strip():
            return _json(QUERY_MISSING, 400)
        answer = sandbox.endpoint.run(token, version, query, variables, name)
        sandbox.publisher.publish(answer.events)
        if faults.roll(faults.timeout_rate):
            time.sleep(faults.timeout_seconds)  # done, but answered after the client gave up
        return _json(
            answer.body, 200, **{"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}
        )

    @app.get("/admin/oauth/authorize")
    def authorize():
        try:
            return redirect(sandbox.oauth.authorize(request.args.to_dict()), code=302)
        except OAuthError as error:
            return _json(error.body, error.status)

    @app.post("/admin/oauth/access_token")
    def access_token():
        form = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        try:
            return _json(sandbox.oauth.exchange(form or {}))
        except OAuthError as error:
            return _json(error.body, error.status)

    return app


def _read_request() -> tuple[object, dict | None, str | None]:
    if request.mimetype == "application/graphql":
        return request.get_data(as_text=True), None, None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, None, None
    variables = body.get("variables")
    return body.get("query"), variables if isinstance(variables, dict) else None, body.get("operationName")
