"""The reaper: its single pass (`reap_once`) and the loop that runs it.

It ends due sessions within seconds of their due time. The loop is built from a single-iteration
method so tests drive one pass at a time; several reapers (and request handlers) can run at once
because every end is a conditional, row-locked update.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from sessions import metrics, nonces
from sessions.game_sessions import lock_in_state, settle, settle_locked, touch_locked
from sessions.lifecycle import State, Touch
from sessions.models import GameSession, LauncherSession

logger = logging.getLogger("sessions.reaper")

# Expired launcher nonces are deleted this often (s): one indexed DELETE, not one per pass.
NONCE_PRUNE_EVERY = 60.0


@dataclass
class ReapReport:
    ended: int = 0
    touched: int = 0
    launchers_timed_out: int = 0
    settled: int = 0

    @property
    def total(self) -> int:
        return self.ended + self.touched + self.launchers_timed_out + self.settled


def reap_once(*, now: datetime, batch: int) -> ReapReport:
    """One reaper pass: time out dead launchers, end due sessions, settle stranded ENDINGs."""
    report = ReapReport()
    dead = list(LauncherSession.objects.dead(now).values_list("pk", flat=True)[:batch])
    report.launchers_timed_out = sum(_time_out_launcher(pk, now) for pk in dead)
    due = GameSession.objects.due(now).order_by("due_at").values_list("pk", flat=True)[:batch]
    for pk in list(due):
        ended = _reap_session(pk, now)
        if ended is True:
            report.ended += 1
        elif ended is False:
            report.touched += 1
    stranded = GameSession.objects.filter(state=State.ENDING).values_list("pk", flat=True)[:batch]
    report.settled = sum(settle(pk, now=now, skip_locked=True) for pk in list(stranded))
    return report


def _time_out_launcher(pk: uuid.UUID, now: datetime) -> bool:
    """Time out a launcher still dead under the update; its game sessions become due now."""
    with transaction.atomic():
        n = (
            LauncherSession.objects.dead(now)
            .filter(pk=pk)
            .update(status=LauncherSession.Status.TIMED_OUT, ended_at=now)
        )
        if n == 1:
            GameSession.objects.active().filter(launcher_session_id=pk).update(due_at=now)
    return n == 1


def _reap_session(pk: uuid.UUID, now: datetime) -> bool | None:
    """Touch one due session: True if it ended, False if it lives on, None if another has it."""
    with transaction.atomic():
        # skip_locked: another reaper or a request holds it and will finish it.
        # Still due under the lock: a heartbeat that came in meanwhile leaves nothing to reap.
        session = lock_in_state(pk, State.ACTIVE, skip_locked=True, due_by=now)
        if session is None:
            return None
        # Decided and settled in one transaction: a reaper killed here leaves the session
        # ACTIVE and due, and the next pass redoes it.
        if touch_locked(session, now, Touch.REAP).decided_end:
            settle_locked(session, now)
            return True
        return False


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
