"""`backorder serve` (web, worker and clock in one process, the embedded default) and `backorder worker`."""

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


def serve(
    settings: Settings, engine: Engine, *, host: str, port: int, demo: bool = False, on_ready=None
) -> None:
    """Migrate if needed, then serve HTTP with a worker in the same process until interrupted; with
    `demo`, also start a Shopify and a WooCommerce sandbox store connected to a demo merchant."""
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
    from connector.clock import start_scheduler

    scheduler = start_scheduler(engine)  # the clock's jobs, in this one process
    server = make_server(host, port, app, threaded=True)
    log.info("serving on http://%s:%d", host, server.server_port)
    _stop_on_sigterm(server, stop)
    demo_stores = None
    if demo:
        # The stores ping our webhook route while they are connected, so serve before connecting them.
        from connector.demo import start_demo

        threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
        demo_stores = start_demo(settings, services.sessions, f"http://{host}:{server.server_port}")
        print(
            f"demo stores: Shopify {demo_stores.shopify_url}, WooCommerce {demo_stores.woocommerce_url}",
            flush=True,
        )
    if on_ready is not None:
        on_ready(server.server_port)
    try:
        if demo_stores is None:
            server.serve_forever()
        else:
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        scheduler.shutdown(wait=False)
        services.wake_worker()
        if demo_stores is not None:
            server.shutdown()
            demo_stores.stop()
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


def _stop_on_sigterm(server, stop: threading.Event) -> None:
    def _handler(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handler)
