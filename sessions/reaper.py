"""The reaper loop: ends due sessions within seconds of their due time.

Built from a single-iteration method so tests drive one pass at a time; several reapers (and
request handlers) can run at once because every end is a conditional, row-locked update.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from sessions import metrics, nonces
from sessions.services import ReapReport, reap_once

logger = logging.getLogger("sessions.reaper")

# Expired launcher nonces are deleted this often (s): one indexed DELETE, not one per pass.
NONCE_PRUNE_EVERY = 60.0


class Reaper:
    def __init__(
        self,
        *,
        batch: int | None = None,
        interval: float | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.batch = batch or settings.PLAYWAVE_REAPER_BATCH
        self.interval = interval if interval is not None else settings.PLAYWAVE_REAPER_INTERVAL
        self.clock = clock
        self.stopping = threading.Event()
        self.last_report = ReapReport()
        self.next_prune: datetime | None = None

    def iterate(self) -> bool:
        """One pass; True when a batch came back full, so there is more work right away."""
        with metrics.REAPER_PASS.time():
            now = self.clock()
            report = reap_once(now=now, batch=self.batch)
            self.prune_nonces(now)
        metrics.REAPER_LAST_RUN.set(time.time())
        self.last_report = report
        if report.total:
            logger.info(
                "reaped: %d ended, %d touched, %d launchers timed out, %d settled",
                report.ended,
                report.touched,
                report.launchers_timed_out,
                report.settled,
            )
        return max(report.ended + report.touched, report.launchers_timed_out) >= self.batch

    def prune_nonces(self, now: datetime) -> int:
        """Forget expired launcher nonces, at most every NONCE_PRUNE_EVERY seconds."""
        if self.next_prune is not None and now < self.next_prune:
            return 0
        self.next_prune = now + timedelta(seconds=NONCE_PRUNE_EVERY)
        pruned = nonces.prune(now)
        if pruned:
            logger.info("pruned %d expired launcher nonces", pruned)
        return pruned

    def run(self) -> None:
        """Loop until `stop()`; database trouble is logged and retried, never fatal."""
        logger.info("reaper running every %ss, batch %d", self.interval, self.batch)
        while not self.stopping.is_set():
            close_old_connections()
            try:
                more = self.iterate()
            except DatabaseError:
                logger.exception("reaper pass failed; retrying")
                more = False
            if not more:
                self.stopping.wait(self.interval)
        close_old_connections()
        logger.info("reaper stopped")

    def stop(self) -> None:
        self.stopping.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="playwave-reaper", daemon=True)
        thread.start()
        return thread
