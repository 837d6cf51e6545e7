"""The WSGI side of the sandbox store: `/wp-json/wc/v3/…` in the order WordPress handles a REST
request (authentication, key scope, route, arguments, permission, handler), injected faults, call
counts, and `/wc-auth/v1/…`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import auth
from .auth import AuthDenied, check_permission, unauthenticated
from .routes import ROUTES, Call, Reply
from .serialize import Urls
from .wp import WPError, paging, wp_json

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox

API_PREFIX = "/wp-json/wc/v3"
CRITICAL_ERROR = (
    '<p>There has been a critical error on this website.</p><p><a href="https://wordpress.org/documentation/'
    'article/faq-troubleshooting/">Learn more about troubleshooting WordPress.</a></p>'
)


class StoreApp:
    """WSGI application for one sandbox store."""

    def __init__(self, sandbox: WooCommerceSandbox):
        self.sandbox = sandbox
        rules = [Rule(f"{API_PREFIX}/{path}", endpoint=index) for index, (path, _, _) in enumerate(ROUTES)]
        rules.append(Rule(API_PREFIX, endpoint="index"))
        self.routes = Map(rules, strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.sandbox.remember_address(request.host_url)
        if request.path.startswith("/wc-auth/v1/"):
            response = self._wc_auth(request)
        elif request.path.startswith("/wp-json/"):
            response = self._api(request)
        else:
            response = Response("Not Found", 404, content_type="text/html; charset=UTF-8")
        return response(environ, start_response)

    # -- REST ---------------------------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        faults = self.sandbox.faults
        try:
            index, args = self.routes.bind_to_environ(request.environ).match(method=request.method)
        except NotFound:
            index, args = None, {}
        route = ROUTES[index] if isinstance(index, int) else None
        name = route[1] if route else ("index" if index == "index" else "unrouted")
        self.sandbox.calls.add(name)
        faults.delay()
        scripted = faults.scripted_outcome(request.method, name)
        if scripted == "fail":
            return self._server_error(503)
        if faults.roll(faults.fail_rate):
            return self._server_error()
        hold = faults.roll(faults.timeout_rate)
        try:
            response = self._respond(request, route, args)
        except WPError as error:
            response = _json(error.body(), error.status, list(error.headers.items()))
        if scripted == "lost":
            # Done, but the proxy in front gave up: the client gets a gateway error and cannot tell.
            return self._server_error(502)
        if hold:
            # The work is done; the answer comes too late for the client, which must treat a write as unknown.
            time.sleep(faults.timeout_seconds)
        return response

    def _respond(self, request: Request, route: Any, args: dict[str, int]) -> Response:
        params, form = _params(request)
        key = self.sandbox.keys.authenticate(request, form, self.sandbox.address)
        if key is not None:
            check_permission(key, request.method)
        if route is None:
            if request.path.rstrip("/") == API_PREFIX and request.method == "GET":
                return _json({"namespace": "wc/v3", "routes": {}})
            raise WPError("rest_no_route", "No route was found matching the URL and request method.", 404)
        handlers = route[2]
        if request.method not in handlers:
            raise WPError("rest_no_route", "No route was found matching the URL and request method.", 404)
        handler, kind = handlers[request.method]
        if key is None:
            if kind == "list":
                paging(params)  # WordPress checks the arguments before the permission callback
            raise unauthenticated(kind)
        call = Call(
            self.sandbox, request.method, params, dict(request.args), Urls(self.sandbox.address), args
        )
        with self.sandbox.store.transaction() as transaction:
            reply: Reply = handler(call)
            body = wp_json(reply.body)
        self.sandbox.webhooks.deliver(transaction.events)
        return _json_bytes(body, reply.status, reply.headers)

    def _server_error(self, status: int | None = None) -> Response:
        status = status or self.sandbox.faults.rng.choice((500, 502, 503))
        if status == 500:
            body = {"code": "internal_server_error", "message": CRITICAL_ERROR, "data": {"status": 500}}
            return _json({**body, "additional_errors": []}, 500)
        title = "502 Bad Gateway" if status == 502 else "503 Service Temporarily Unavailable"
        page = (
            f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
        )
        return Response(page, status, content_type="text/html")

    # -- wc-auth ------------------------------------------------------------------------------------

    def _wc_auth(self, request: Request) -> Response:
        route = request.path[len("/wc-auth/v1/") :].strip("/")
        params = {k: v for k, v in request.values.items()}
        try:
            if route in ("authorize", "login", "access_granted"):
                # A logged-in administrator who always presses "Approve".
                location = auth.authorize(self.sandbox.keys, params)
            elif route == "deny":
                location = auth.denied_url(params)
            else:
                raise AuthDenied("You do not have permission to access this page")
        except AuthDenied as error:
            return Response(f"Error: {error}.", 401, content_type="text/html; charset=UTF-8")
        return Response("", 302, headers={"Location": location})


def _params(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """`WP_REST_Request::get_params`: JSON body over form body over query. Also the form fields alone,
    which OAuth signs."""
    params: dict[str, Any] = dict(request.args)
    form: dict[str, str] = {}
    if request.mimetype == "application/x-www-form-urlencoded":
        form = dict(request.form)
        params.update(form)
    elif request.mimetype == "application/json" or (request.mimetype.endswith("+json")):
        raw = request.get_data(cache=True)
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as error:
                raise WPError(
                    "rest_invalid_json",
                    "Invalid JSON body passed.",
                    400,
                    json_error_code=4,
                    json_error_message=f"Syntax error ({error.msg})",
                ) from None
            if isinstance(body, dict):
                params.update(body)
    return params, form


def _json(body: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return _json_bytes(wp_json(body), status, headers or [])


def _json_bytes(body: bytes, status: int, headers: list[tuple[str, str]]) -> Response:
    response = Response(body, status, content_type="application/json; charset=UTF-8")
    for name, value in headers:
        response.headers.add(name, value)
    return response
