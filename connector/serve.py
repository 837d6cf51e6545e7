"""`backorder serve` (web and worker in one process, the embedded default) and `backorder worker`."""

from __future__ import annotations

import logging
import signal
import threading

from sqlalchemy import Engine
from werkzeug.serving import make_server

from connector import migrate
from connector.settings import Settings
from connector.web.app import create_app
from connector.worker import Worker

log = logging.getLogger("connector.serve")


def serve(settings: Settings, engine: Engine, *, host: str, port: int, on_ready=None) -> None:
    """Migrate if needed, then serve HTTP with a worker in the same process until interrupted."""
    if not migrate.at_head(engine):
        migrate.upgrade(engine)
    app = create_app(settings, engine=engine)
    services = app.extensions["backorder"]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # we log each request ourselves
    stop = threading.Event()
    worker = Worker(
        settings, engine, threads=2, wakeup=services.worker_wakeup, storefronts=services.storefronts
    )
    worker_thread = worker.start(stop)
    server = make_server(host, port, app, threaded=True)
    log.info("serving on http://%s:%d", host, server.server_port)
    if on_ready is not None:
        on_ready(server.server_port)
    _stop_on_sigterm(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        services.wake_worker()
        server.server_close()
        worker_thread.join(timeout=10)


def run_worker(settings: Settings, engine: Engine, *, threads: int) -> None:
    """The `worker` process: inbox and outbox until SIGTERM or Ctrl-C."""
    if not migrate.at_head(engine):
        raise SystemExit(
            "error: DATABASE_URL: the database schema is not current: run `backorder db upgrade`"
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(settings, engine, threads=threads)
    thread = worker.start(stop)
    try:
        while thread.is_alive():
            thread.join(timeout=0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join(timeout=10)


def _stop_on_sigterm(server) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(
            signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
        )
