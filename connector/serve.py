"""`backorder serve`: the embedded default in one process (web now; worker and clock join later)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from werkzeug.serving import make_server

from connector import migrate
from connector.settings import Settings
from connector.web.app import create_app

log = logging.getLogger("connector.serve")


def serve(settings: Settings, engine: Engine, *, host: str, port: int) -> None:
    """Migrate if needed, then serve HTTP until interrupted."""
    if not migrate.at_head(engine):
        migrate.upgrade(engine)
    app = create_app(settings, engine=engine)
    server = make_server(host, port, app, threaded=True)
    log.info("serving on http://%s:%d", host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
