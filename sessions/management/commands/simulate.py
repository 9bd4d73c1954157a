from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, transaction
from django.db.models import Sum
from django.utils import timezone

from sessions import billing
from sessions.models import ApiKey, BalanceEntry, Cafe, Game, GameSession
from sessions.simulator import (
    DEFAULT_MIX,
    SCENARIOS,
    CafeAccess,
    CafePlan,
    GameAccess,
    Provisioned,
    Report,
    ServerRecords,
    SessionRecord,
    SimConfig,
    Simulator,
    Timers,
)


def server_timers() -> Timers:
    """The timers this process's settings give the server (the same environment variables)."""
    return Timers(
        heartbeat_interval=settings.PLAYWAVE_HEARTBEAT_INTERVAL,
        session_timeout=settings.PLAYWAVE_SESSION_TIMEOUT,
        launcher_heartbeat_interval=settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL,
        launcher_timeout=settings.PLAYWAVE_LAUNCHER_TIMEOUT,
        grace_period=settings.PLAYWAVE_GRACE_PERIOD,
        billing_unit=settings.PLAYWAVE_BILLING_UNIT,
        ott_ttl=settings.PLAYWAVE_OTT_TTL,
        reaper_interval=settings.PLAYWAVE_REAPER_INTERVAL,
    )


class DjangoOperator:
    """The simulator's back office: provisioning, top-ups and the records, through the ORM."""

    def _provision(self, cafes: list[CafePlan], games: list[tuple[str, str, int]]) -> Provisioned:
        now = timezone.now()
        with transaction.atomic():
            accesses = []
            for slug, name, rate in games:
                game, _ = Game.objects.get_or_create(
                    slug=slug, defaults={"name": name, "coins_per_minute": rate}
                )
                if not game.is_active:
                    Game.objects.filter(pk=game.pk).update(is_active=True)
                raw = ApiKey.objects.issue(game, label="simulator").raw_key
                accesses.append(GameAccess(slug, raw, game.coins_per_minute))
            made = []
            for plan in cafes:
                cafe = billing.create_cafe(
                    plan.name, list(plan.networks), balance=plan.balance, now=now
                )
                made.append(
                    CafeAccess(
                        cafe.pk,
                        cafe.launcher_key_id,
                        cafe.launcher_secret,
                        plan.poor,
                        plan.topup_amount,
                    )
                )
        return Provisioned(made, accesses)

    def _topup(self, cafe_id: int, amount: int) -> None:
        billing.topup(cafe_id, amount, now=timezone.now(), note="simulator")

    def _end_session(self, game_session_id: str) -> bool:
        from sessions import actions

        pk = uuid.UUID(game_session_id.removeprefix("gs_"))
        return actions.end_session("simulator", pk, now=timezone.now())

    def _records(self, cafe_ids: list[int]) -> ServerRecords:
        sessions = {
            f"gs_{pk}": SessionRecord(state, reason, beats)
            for pk, state, reason, beats in GameSession.objects.filter(
                cafe_id__in=cafe_ids
            ).values_list("id", "state", "end_reason", "heartbeat_count")
        }
        balanced = True
        for cafe in Cafe.objects.filter(pk__in=cafe_ids):
            sums = {
                row["kind"]: row["total"]
                for row in BalanceEntry.objects.filter(cafe=cafe)
                .values("kind")
                .annotate(total=Sum("amount"))
            }
            if sums.get("topup", 0) - sums.get("charge", 0) != cafe.balance:
                balanced = False
        return ServerRecords(sessions, balanced)

    async def provision(
        self, cafes: list[CafePlan], games: list[tuple[str, str, int]]
    ) -> Provisioned:
        return await sync_to_async(self._provision)(cafes, games)

    async def topup(self, cafe_id: int, amount: int) -> None:
        await sync_to_async(self._topup)(cafe_id, amount)

    async def records(self, cafe_ids: list[int]) -> ServerRecords:
        return await sync_to_async(self._records)(cafe_ids)

    async def end_session(self, game_session_id: str) -> bool:
        return await sync_to_async(self._end_session)(game_session_id)

    async def close(self) -> None:
        """Close the worker thread's database connections."""
        await sync_to_async(connections.close_all)()


def parse_mix(text: str) -> dict[str, float]:
    """`normal=4,crash=1,…`: weights of each PC visit's script; unnamed scenarios weigh 0."""
    if not text:
        return dict(DEFAULT_MIX)
    mix = dict.fromkeys(SCENARIOS, 0.0)
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in mix:
            raise CommandError(f"--mix: unknown scenario {name!r} (one of {', '.join(SCENARIOS)})")
        try:
            mix[name] = float(weight or 1)
        except ValueError:
            raise CommandError(f"--mix: {weight!r} is not a number") from None
    return mix


def wait_for_server(url: str, limit: float) -> None:
    """Bounded poll until the server answers (for a simulator started beside it)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v1/openapi.json", timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() >= deadline:
                raise CommandError(f"{url} did not answer within {limit:.0f} s") from None
            time.sleep(0.25)


class Command(BaseCommand):
    help = (
        "Drive simulated PC cafes (launchers and game servers) against a PlayWave server, "
        "then check that what the clients saw matches what the server recorded. Provisions its "
        "own cafes, games and keys in this database; timers come from the PLAYWAVE_* settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--cafes", type=int, default=3)
        parser.add_argument("--pcs", type=int, default=4, help="PCs per cafe")
        parser.add_argument("--poor-cafes", type=int, default=1, help="cafes that run dry")
        parser.add_argument("--games", type=int, default=2, choices=[1, 2, 3])
        parser.add_argument(
            "--duration", type=float, default=60, help="seconds of traffic; 0 = until Ctrl-C"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--mix",
            default="",
            help="scenario weights, e.g. normal=4,crash=1,switch=1,launcher_close=1,"
            "launcher_crash=1 (the default)",
        )
        parser.add_argument("--connections", type=int, default=100, help="HTTP connection pool")
        parser.add_argument(
            "--wait-for-server", type=float, default=0, help="seconds to wait for --url to answer"
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--allow-errors", action="store_true", help="exit 0 despite transport or 5xx errors"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"].rstrip("/")
        if options["wait_for_server"]:
            wait_for_server(url, options["wait_for_server"])
        if options["cafes"] < 1 or options["pcs"] < 1:
            raise CommandError("--cafes and --pcs must be at least 1")
        config = SimConfig(
            url=url,
            cafes=options["cafes"],
            pcs_per_cafe=options["pcs"],
            poor_cafes=min(options["poor_cafes"], options["cafes"]),
            games=options["games"],
            duration=options["duration"],
            seed=options["seed"],
            mix=parse_mix(options["mix"]),
            connections=options["connections"],
        )
        timers = server_timers()
        # One line per HTTP request would drown the progress line and the table.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.stderr.write(
            f"simulating {config.cafes} cafes x {config.pcs_per_cafe} PCs against {url} "
            f"(heartbeat {timers.heartbeat_interval:g} s, session timeout "
            f"{timers.session_timeout:g} s, grace {timers.grace_period:g} s, seed {config.seed})"
        )
        report = asyncio.run(self.simulate(config, timers, progress=not options["no_progress"]))
        self.stdout.write(report.table())
        if not report.matches:
            raise CommandError("the simulation does not match the server's records (see above)")
        if report.error_count and not options["allow_errors"]:
            raise CommandError(f"{report.error_count} errors during the simulation (see above)")

    async def simulate(self, config: SimConfig, timers: Timers, *, progress: bool) -> Report:
        operator = DjangoOperator()
        simulator = Simulator(
            config, timers, operator, progress=self.progress if progress else None
        )
        loop = asyncio.get_running_loop()
        handled = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            # A signal winds down and reports: the simulator ends its sessions first.
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(signum, simulator.stop)
                handled.append(signum)
        try:
            return await simulator.run()
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
            await operator.close()

    _last_line_at = 0.0

    def progress(self, line: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K" + line)
        elif line:
            # Into a log: a progress line every 10 s is plenty; other notes as they come.
            now = time.monotonic()
            if not line.startswith("[") or now - self._last_line_at >= 10:
                self._last_line_at = now if line.startswith("[") else self._last_line_at
                sys.stderr.write(line + "\n")
        sys.stderr.flush()
