"""RFC 9457 problem bodies for every API error."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from connector.errors import ConnectorError

PROBLEM_TYPE = "about:blank"


def error_response(status: int, detail: str, *, title: str | None = None, **extra: object) -> Response:
    """A JSON problem body with the given status."""
    body = {
        "type": PROBLEM_TYPE,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def install(app: Flask) -> None:
    """Make every error, ours or Werkzeug's, answer with a problem body."""

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        response = error_response(error.code or 500, error.description or "", title=error.name)
        if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(ConnectorError)
    def _ours(error: ConnectorError) -> Response:
        return error_response(error.status, str(error), title=error.title)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "the server failed to handle this request; it has been logged")
