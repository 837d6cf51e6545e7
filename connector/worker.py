"""The worker: processes the webhook inbox and dispatches the outbox, channel by channel.

Several dispatcher threads share the channels through leases, so one slow or failing storefront holds
one thread, never the others. Many worker processes on many machines can run side by side.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from connector.db import UnitOfWork, session_factory
from connector.models import Channel, utcnow
from connector.services import dispatch, doorbell, inbox
from connector.settings import Settings
from connector.storefronts import StorefrontCache
from connector.substitutes.index import SubstituteIndex

log = logging.getLogger("connector.worker")
IDLE_WAIT = 0.5


class Worker:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        threads: int = 4,
        wakeup: threading.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
        storefronts: StorefrontCache | None = None,
        policy: dispatch.RetryPolicy | None = None,
    ):
        self.engine = engine
        self.sessions = session_factory(engine)
        self.threads = threads
        self.wakeup = wakeup or threading.Event()
        self.clock = clock
        self.storefronts = storefronts or StorefrontCache(settings)
        self.policy = policy or dispatch.RetryPolicy()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set."""
        workers = [
            threading.Thread(
                target=self._loop, args=(stop, f"{self.name}/{n}"), name=f"worker-{n}", daemon=True
            )
            for n in range(self.threads)
        ]
        # Other processes' work wakes idle threads; the connection also tells them this process is alive.
        doorbell.listen(self.engine, self.wakeup, stop, present_as=self.name)
        SubstituteIndex.load_text_model()
        for thread in workers:
            thread.start()
        log.info("worker %s running %d dispatcher threads", self.name, self.threads)
        for thread in workers:
            thread.join()

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="worker", daemon=True)
        thread.start()
        return thread

    def step(self, lease_name: str) -> bool:
        """One round of work: the inbox, then one channel's outbox. True when anything was done."""
        report = inbox.process_due(self.new_uow, self._port, self.clock)
        busy = report.processed + report.failed > 0
        if report.processed:
            self.wakeup.set()  # what it queued for the storefronts: idle threads here dispatch it now
        leased_at = self.clock()
        channel_id = dispatch.lease_channel(self.new_uow(), lease_name, leased_at)
        if channel_id is None:
            return busy
        try:
            with self.new_uow() as uow:
                channel = uow.session.get(Channel, channel_id)
            port = self._port(channel)
            result = dispatch.dispatch_round(
                self.new_uow,
                channel_id,
                port,
                self.clock,
                worker=lease_name,
                policy=self.policy,
                leased_at=leased_at,
            )
            if result.errors:
                log.warning("channel %s: %s", channel_id, "; ".join(result.errors))
        finally:
            dispatch.release_lease(self.new_uow(), channel_id, lease_name)
        return True

    def _port(self, channel: Channel):
        return self.storefronts.get(channel)

    def _loop(self, stop: threading.Event, lease_name: str) -> None:
        while not stop.is_set():
            try:
                busy = self.step(lease_name)
            except Exception:  # keep the thread alive; the failure is logged and the work stays queued
                log.exception("worker step failed; retrying shortly")
                busy = False
            if not busy:
                self.wakeup.wait(IDLE_WAIT)
                self.wakeup.clear()
