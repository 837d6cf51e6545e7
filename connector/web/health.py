"""Liveness and readiness."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connector import migrate
from connector.web.problems import error_response

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and its schema is at the migrations' head."""
    engine = current_app.extensions["backorder"].engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.current_revision(engine)
    except SQLAlchemyError as error:
        log.warning("readiness check failed: %s", type(error).__name__)
        return error_response(503, "the database is not reachable")
    head = migrate.head_revision()
    if current != head:
        return error_response(
            503, f"the database schema is at {current or 'nothing'}, not {head}: run `backorder db upgrade`"
        )
    return jsonify(status="ready", schema=current)
