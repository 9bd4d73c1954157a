"""Traffic simulator: PC cafes, their launchers and game servers, driven against a live server.

Every PC runs its own seeded script of visits — play and leave, a game server crash, a switch
to another game on the same PC, a launcher closed or crashed mid-game — while "poor" cafes run
out of G-coin and are topped up (sometimes within the grace, sometimes after it). The game
servers behave exactly as `GameServerClient` does. At the end every game server shuts down,
the simulator waits until the server has ended every session it saw, and compares what the
clients observed with what the server recorded, session by session.

A server tool built on the installable client (it is not part of it: it provisions cafes and
reads the server's records). No Django here all the same: provisioning and the records come
through an `Operator`, which `manage.py simulate` implements with the ORM.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from playwave_client import (
    ApiError,
    EndCause,
    GameServerClient,
    LauncherClient,
    LauncherState,
    PlayerSession,
    PlayerState,
    PlayWaveError,
)

SCENARIOS = ("normal", "crash", "switch", "launcher_close", "launcher_crash", "operator_end")
DEFAULT_MIX: Mapping[str, float] = {
    "normal": 4,
    "crash": 1,
    "switch": 1,
    "launcher_close": 1,
    "launcher_crash": 1,
    "operator_end": 0.5,
}
END_REASONS = (
    "normal",
    "server_shutdown",
    "heartbeat_timeout",
    "session_replace",
    "launcher_timeout",
    "launcher_closed",
    "charge_exhausted",
    "operator",
)
SIM_GAMES = (
    ("sim-obby", "Sim Obby", 10),
    ("sim-kart", "Sim Kart", 6),
    ("sim-tycoon", "Sim Tycoon", 4),
)
RICH_BALANCE = 10**12
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Timers:
    """The server's timers (seconds): the simulator paces itself by them."""

    heartbeat_interval: float = 120
    session_timeout: float = 240
    launcher_heartbeat_interval: float = 60
    launcher_timeout: float = 240
    grace_period: float = 120
    billing_unit: float = 60
    ott_ttl: float = 60
    reaper_interval: float = 1


@dataclass(frozen=True)
class SimConfig:
    url: str
    cafes: int = 3
    pcs_per_cafe: int = 4
    poor_cafes: int = 1
    games: int = 2
    duration: float = 60.0  # seconds of traffic; 0 runs until stop()
    seed: int = 1
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    play: tuple[float, float] = (1.5, 4.0)  # play length, in heartbeat intervals
    connections: int = 100
    networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    settle_timeout: float | None = None  # default: derived from the timers


@dataclass(frozen=True)
class CafeAccess:
    cafe_id: int
    key_id: str
    secret: str
    poor: bool
    topup_amount: int


@dataclass(frozen=True)
class GameAccess:
    slug: str
    api_key: str
    rate: int


@dataclass(frozen=True)
class CafePlan:
    name: str
    balance: int
    networks: tuple[str, ...]
    poor: bool
    topup_amount: int


@dataclass(frozen=True)
class Provisioned:
    cafes: list[CafeAccess]
    games: list[GameAccess]


@dataclass(frozen=True)
class SessionRecord:
    state: str
    end_reason: str
    heartbeat_count: int


@dataclass(frozen=True)
class ServerRecords:
    sessions: dict[str, SessionRecord]  # gs_<uuid> → record, every session of the given cafes
    ledger_balanced: bool


class Operator(Protocol):
    """What the simulator needs from the service's back office."""

    async def provision(
        self, cafes: list[CafePlan], games: list[tuple[str, str, int]]
    ) -> Provisioned: ...

    async def topup(self, cafe_id: int, amount: int) -> None: ...

    async def end_session(self, game_session_id: str) -> bool:
        """End a live session as an operator would (end reason `operator`)."""
        ...

    async def records(self, cafe_ids: list[int]) -> ServerRecords: ...


@dataclass
class Tracked:
    """One game session as the simulator saw it."""

    player: PlayerSession
    cafe: CafeAccess
    server: GameServerClient
    mark: str | None = None  # the end the simulator caused without the game server's knowledge

    def observed_end(self) -> str:
        """The end reason the clients' own evidence (and the simulator's actions) imply."""
        p = self.player
        if p.end_answer == "SUCCESS":
            return "server_shutdown" if p.cause is EndCause.SHUTDOWN else "normal"
        if p.cause is EndCause.REPLACED:
            return "session_replace"
        if "SESSION_NOT_FOUND" in (p.kicked_with, p.end_answer):
            return "heartbeat_timeout"  # expired sessions, and only they, answer 404
        if self.mark is not None:
            return self.mark
        if p.exhausted:  # its last word from the server was CHARGE_EXHAUSTED
            return "charge_exhausted"
        if p.kicked_with == "SESSION_ENDED":
            # Nothing the simulator did explains a 410: a person at the admin or the dashboard
            # ended it (the server then records `operator`).
            return "operator"
        return UNKNOWN


@dataclass
class Report:
    duration: float = 0.0
    pcs: int = 0
    sim_reasons: Counter[str] = field(default_factory=Counter)
    server_reasons: Counter[str] = field(default_factory=Counter)
    heartbeats: Counter[str] = field(default_factory=Counter)
    sim_accepted: int = 0
    server_accepted: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    launcher: Counter[str] = field(default_factory=Counter)
    topups: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    unended: list[str] = field(default_factory=list)
    unknown_sessions: list[str] = field(default_factory=list)
    ledger_balanced: bool = True

    @property
    def matches(self) -> bool:
        """The simulator's table equals the server's records."""
        return (
            self.sim_reasons == self.server_reasons
            and self.sim_accepted == self.server_accepted
            and not self.mismatches
            and not self.unended
            and not self.unknown_sessions
            and self.ledger_balanced
        )

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def heartbeats_per_second(self) -> float:
        total = sum(self.heartbeats.values()) + self.launcher["heartbeat"]
        return total / self.duration if self.duration else 0.0

    def table(self) -> str:
        """The end-of-run summary, the simulator's column beside the server's."""
        lines = [f"{'sessions by end reason':<28}{'simulator':>10}{'server':>10}"]
        for reason in (*END_REASONS, UNKNOWN):
            sim, srv = self.sim_reasons[reason], self.server_reasons[reason]
            if sim or srv or reason != UNKNOWN:
                flag = "" if sim == srv else "   <-- differs"
                lines.append(f"  {reason:<26}{sim:>10}{srv:>10}{flag}")
        total_sim, total_srv = sum(self.sim_reasons.values()), sum(self.server_reasons.values())
        lines.append(f"  {'total':<26}{total_sim:>10}{total_srv:>10}")
        lines.append(f"{'game heartbeats by result':<28}{'simulator':>10}{'server':>10}")
        for result, n in sorted(self.heartbeats.items()):
            lines.append(f"  {result:<26}{n:>10}{'':>10}")
        flag = "" if self.sim_accepted == self.server_accepted else "   <-- differs"
        accepted = "accepted (OK+EXHAUSTED)"
        lines.append(f"  {accepted:<26}{self.sim_accepted:>10}{self.server_accepted:>10}{flag}")
        lines.append("launcher calls")
        for name, n in sorted(self.launcher.items()):
            lines.append(f"  {name:<26}{n:>10}")
        if self.topups:
            lines.append("top-ups")
            for name, n in sorted(self.topups.items()):
                lines.append(f"  {name:<26}{n:>10}")
        lines.append("refusals (expected business answers)")
        for name, n in sorted(self.refusals.items()) or [("none", 0)]:
            lines.append(f"  {name:<26}{n:>10}")
        lines.append(f"errors{self.error_count:>32}")
        for name, n in sorted(self.errors.items()):
            lines.append(f"  {name:<26}{n:>10}")
        lines.append(
            f"{self.pcs} PCs for {self.duration:.0f} s: "
            f"{self.heartbeats_per_second:.1f} heartbeats/s (game + launcher)"
        )
        for problem in self.mismatches[:20]:
            lines.append(f"MISMATCH {problem}")
        for gs in self.unended[:20]:
            lines.append(f"NOT ENDED on the server: {gs}")
        for gs in self.unknown_sessions[:20]:
            lines.append(f"UNKNOWN to the simulator: {gs}")
        if not self.ledger_balanced:
            lines.append("LEDGER: top-ups - charges != balance for a simulated cafe")
        lines.append(
            "CHECK: the table matches the server's records"
            if self.matches
            else "CHECK FAILED: the table does not match the server's records"
        )
        return "\n".join(lines)


@dataclass
class PC:
    cafe: CafeAccess
    number: int
    rng: random.Random
    launcher: LauncherClient | None = None


class Simulator:
    """Runs one simulation; `run()` returns the report (the caller decides what fails)."""

    def __init__(
        self,
        config: SimConfig,
        timers: Timers,
        operator: Operator,
        *,
        http: httpx.AsyncClient | None = None,
        progress: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.timers = timers
        self.operator = operator
        self._http = http
        self.progress = progress
        self.clock = clock
        self.tracked: list[Tracked] = []
        self.by_session: dict[str, Tracked] = {}
        self.refusals: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.topups: Counter[str] = Counter()
        self.servers: dict[str, GameServerClient] = {}
        self.games: list[GameAccess] = []
        self.pcs: list[PC] = []
        self.launchers: list[LauncherClient] = []
        self._stop = asyncio.Event()
        self._exhausted: dict[int, asyncio.Event] = {}
        self._next_user = 10_000_000
        self._started = 0.0

    def stop(self) -> None:
        """Stop starting visits; the run winds down and reports."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    async def _pause(self, seconds: float) -> bool:
        """Wait, waking early if the run is stopping; True while it is still running."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), max(0.0, seconds))
        return self.running

    # --- setup ---------------------------------------------------------------------------------

    async def _provision(self) -> Provisioned:
        c = self.config
        games = [SIM_GAMES[i % len(SIM_GAMES)] for i in range(max(1, min(c.games, 3)))]
        max_rate = max(rate for _, _, rate in games)
        # A poor cafe can pay a few billing units per PC, then runs dry.
        poor_amount = max_rate * c.pcs_per_cafe * 3
        tag = f"{int(time.time())}-{c.seed}"
        plans = [
            CafePlan(
                f"Sim {tag} cafe {i + 1}" + (" (poor)" if i < c.poor_cafes else ""),
                poor_amount if i < c.poor_cafes else RICH_BALANCE,
                c.networks,
                poor=i < c.poor_cafes,
                topup_amount=poor_amount,
            )
            for i in range(c.cafes)
        ]
        return await self.operator.provision(plans, list(games))

    def _game_server(self, game: GameAccess, http: httpx.AsyncClient) -> GameServerClient:
        return GameServerClient(
            self.config.url,
            game.api_key,
            http=http,
            heartbeat_interval=self.timers.heartbeat_interval,
            on_charge_exhausted=self._on_exhausted,
            retry_delay=min(1.0, self.timers.heartbeat_interval / 4),
        )

    def _on_exhausted(self, player: PlayerSession) -> None:
        tracked = self.by_session.get(player.game_session_id or "")
        if tracked is not None and tracked.cafe.cafe_id in self._exhausted:
            self._exhausted[tracked.cafe.cafe_id].set()

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> Report:
        """Provision, drive traffic for the configured duration, wind down, compare."""
        c = self.config
        limits = httpx.Limits(
            max_connections=c.connections, max_keepalive_connections=c.connections
        )
        http = self._http or httpx.AsyncClient(timeout=30, limits=limits)
        try:
            return await self._run(http)
        finally:
            if self._http is None:
                await http.aclose()

    async def _run(self, http: httpx.AsyncClient) -> Report:
        c = self.config
        provisioned = await self._provision()
        self.games = provisioned.games
        for game in self.games:
            self.servers[game.slug] = self._game_server(game, http)
        for cafe in provisioned.cafes:
            if cafe.poor:
                self._exhausted[cafe.cafe_id] = asyncio.Event()
            for n in range(c.pcs_per_cafe):
                # Each PC has its own stream, so its script does not depend on timing.
                rng = random.Random(f"{c.seed}:{cafe.cafe_id}:{n}")  # noqa: S311 - not security
                self.pcs.append(PC(cafe, n + 1, rng))

        self._started = self.clock()
        keepers = [
            asyncio.create_task(self._cafe_keeper(cafe)) for cafe in provisioned.cafes if cafe.poor
        ]
        pc_tasks = [asyncio.create_task(self._pc_loop(pc, http)) for pc in self.pcs]
        ticker = asyncio.create_task(self._ticker())
        if c.duration > 0:
            await self._pause(c.duration)
            self.stop()
        else:
            await self._stop.wait()
        traffic_seconds = self.clock() - self._started

        await asyncio.gather(*pc_tasks, return_exceptions=True)
        for task in keepers:
            task.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)
        await asyncio.gather(*(server.shutdown() for server in self.servers.values()))
        records = await self._settle()
        # Launchers last: closing one earlier could end a crashed game's session first.
        await asyncio.gather(*(self._close_launcher(pc) for pc in self.pcs))
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        if self.progress is not None:
            self.progress("")
        return self._report(records, traffic_seconds, provisioned)

    async def _settle(self) -> ServerRecords:
        """Bounded wait until the server has ended every session the simulator saw."""
        t = self.timers
        limit = self.config.settle_timeout or (
            t.session_timeout + t.launcher_timeout + t.grace_period + 4 * t.reaper_interval + 10
        )
        cafe_ids = sorted({pc.cafe.cafe_id for pc in self.pcs})
        deadline = self.clock() + limit
        while True:
            records = await self.operator.records(cafe_ids)
            open_ = [gs for gs, r in records.sessions.items() if r.state != "ENDED"]
            if not open_ or self.clock() >= deadline:
                return records
            self._say(f"waiting for the server to end {len(open_)} sessions")
            await asyncio.sleep(min(0.5, t.reaper_interval))

    async def _close_launcher(self, pc: PC) -> None:
        launcher = pc.launcher
        if launcher is None or launcher.state is not LauncherState.RUNNING:
            return
        try:
            await launcher.end()
        except PlayWaveError as exc:
            self._error("launcher_end", exc)

    # --- one PC --------------------------------------------------------------------------------

    async def _pc_loop(self, pc: PC, http: httpx.AsyncClient) -> None:
        weights = [max(0.0, float(self.config.mix.get(s, 0))) for s in SCENARIOS]
        if sum(weights) <= 0:
            weights = [1.0] + [0.0] * (len(SCENARIOS) - 1)
        # Spread the PCs' first moves over one heartbeat interval, like real opening hours.
        if not await self._pause(pc.rng.uniform(0, self.timers.heartbeat_interval)):
            return
        while self.running:
            try:
                if pc.launcher is None or pc.launcher.state is not LauncherState.RUNNING:
                    await self._start_launcher(pc, http)
                # Poor cafes only play and leave, so every end there has one explanation.
                scenario = (
                    "normal" if pc.cafe.poor else pc.rng.choices(SCENARIOS, weights=weights)[0]
                )
                await self._visit(pc, scenario)
            except PlayWaveError as exc:
                self._error("pc", exc)
            except Exception as exc:  # a simulated PC must never take the run down
                self._error("bug", exc)
            if not await self._pause(pc.rng.uniform(0.2, 1.0) * self.timers.heartbeat_interval):
                return

    async def _start_launcher(self, pc: PC, http: httpx.AsyncClient) -> None:
        cafe = pc.cafe
        launcher = LauncherClient(
            self.config.url,
            cafe.key_id,
            cafe.secret,
            hardware_id=f"SIM-{cafe.cafe_id}-{pc.number:03d}",
            internal_ip=f"10.{cafe.cafe_id % 250}.{pc.number // 250}.{pc.number % 250 + 1}",
            hostname=f"sim-{cafe.cafe_id}-{pc.number}",
            launcher_version="simulator",
            http=http,
        )
        pc.launcher = launcher
        self.launchers.append(launcher)
        await launcher.start()
        launcher.start_heartbeats()

    @staticmethod
    def _launcher(pc: PC) -> LauncherClient:
        if pc.launcher is None:
            raise RuntimeError(f"PC {pc.number} of cafe {pc.cafe.cafe_id} has no launcher")
        return pc.launcher

    def _user(self) -> str:
        self._next_user += 1
        return str(self._next_user)

    async def _play(self, pc: PC, game: GameAccess) -> Tracked | None:
        """Launch `game` on the PC and join its game server; None if refused."""
        launcher = self._launcher(pc)
        try:
            issued = await launcher.issue_ott(game.slug)
        except ApiError as exc:
            if exc.code == "NOT_CHARGEABLE":
                self.refusals["ott:NOT_CHARGEABLE"] += 1
                self._poke_keeper(pc.cafe)
                return None
            raise
        server = self.servers[game.slug]
        player = await server.join(self._user(), issued.launch_data)
        if player.state is not PlayerState.ACTIVE:
            self.refusals[f"verify:{player.refusal}"] += 1
            if player.refusal == "NOT_CHARGEABLE":
                self._poke_keeper(pc.cafe)
            return None
        tracked = Tracked(player, pc.cafe, server)
        self.tracked.append(tracked)
        self.by_session[player.game_session_id or ""] = tracked
        return tracked

    def _play_time(self, pc: PC) -> float:
        low, high = self.config.play
        return pc.rng.uniform(low, high) * self.timers.heartbeat_interval

    async def _visit(self, pc: PC, scenario: str) -> None:
        game = pc.rng.choice(self.games)
        tracked = await self._play(pc, game)
        if tracked is None:
            return
        if not await self._pause(self._play_time(pc)):
            return  # closing time: the game servers' shutdown ends it
        user = tracked.player.provider_user_id
        t = self.timers
        if scenario == "normal":
            await tracked.server.leave(user)
        elif scenario == "crash":
            await tracked.server.abandon(user)
            tracked.mark = "heartbeat_timeout"
            # A new game on this PC before the expiry would replace the session instead.
            await self._pause(t.session_timeout + 2 * t.reaper_interval + 1)
        elif scenario == "switch":
            others = [g for g in self.games if g.slug != game.slug]
            if not others:
                await tracked.server.leave(user)
                return
            newer = await self._play(pc, pc.rng.choice(others))
            if newer is None:
                await tracked.server.leave(user)
                return
            tracked.mark = "session_replace"
            if await self._pause(self._play_time(pc)):
                await newer.server.leave(newer.player.provider_user_id)
        elif scenario == "launcher_close":
            await self._launcher(pc).end()
            tracked.mark = "launcher_closed"
            await self._until_ended(tracked, t.heartbeat_interval * 2 + 2)
        elif scenario == "launcher_crash":
            await self._launcher(pc).stop_heartbeats()
            pc.launcher = None  # the next visit starts a new launcher
            tracked.mark = "launcher_timeout"
            # Wait for the death to be noticed: a new start now would close it instead.
            await self._until_ended(tracked, t.launcher_timeout + t.heartbeat_interval * 2 + 2)
        elif scenario == "operator_end":
            if await self.operator.end_session(tracked.player.game_session_id or ""):
                tracked.mark = "operator"
                # The game server hears of it at its next heartbeat (410 SESSION_ENDED).
                await self._until_ended(tracked, t.heartbeat_interval * 2 + 2)
            else:  # it ended some other way first
                await tracked.server.leave(user)

    async def _until_ended(self, tracked: Tracked, limit: float) -> None:
        deadline = self.clock() + limit
        while tracked.player.state is not PlayerState.ENDED and self.clock() < deadline:
            if not await self._pause(min(0.2, self.timers.heartbeat_interval / 4)):
                return

    # --- poor cafes ----------------------------------------------------------------------------

    def _poke_keeper(self, cafe: CafeAccess) -> None:
        event = self._exhausted.get(cafe.cafe_id)
        if event is not None:
            event.set()

    async def _cafe_keeper(self, cafe: CafeAccess) -> None:
        """Tops a poor cafe up: half the time within the grace, otherwise after it ran out."""
        rng = random.Random(f"{self.config.seed}:keeper:{cafe.cafe_id}")  # noqa: S311
        event = self._exhausted[cafe.cafe_id]
        t = self.timers
        while True:
            await event.wait()
            if rng.random() < 0.5:
                await asyncio.sleep(t.grace_period * 0.3)
                kind = "within_grace"
            else:
                await asyncio.sleep(t.grace_period + 2 * t.heartbeat_interval + t.reaper_interval)
                kind = "after_grace"
            event.clear()
            try:
                await self.operator.topup(cafe.cafe_id, cafe.topup_amount)
                self.topups[kind] += 1
            except Exception as exc:  # reported, and the keeper carries on
                self._error("topup", exc)

    # --- reporting -----------------------------------------------------------------------------

    def _error(self, where: str, exc: BaseException) -> None:
        code = exc.code if isinstance(exc, ApiError) else type(exc).__name__
        self.errors[f"{where}:{code}"] += 1
        self._say(f"{where}: {exc}")

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    async def _ticker(self) -> None:
        if self.progress is None:
            return
        width = 24
        while True:
            elapsed = self.clock() - self._started
            duration = self.config.duration
            if duration > 0:
                done = min(1.0, elapsed / duration)
                bar = "#" * int(done * width) + "-" * (width - int(done * width))
                head = f"[{bar}] {elapsed:5.0f}/{duration:.0f} s"
            else:
                head = f"[running] {elapsed:5.0f} s"
            active = sum(len(s.active()) for s in self.servers.values())
            beats = sum(
                n
                for s in self.servers.values()
                for k, n in s.stats.items()
                if k.startswith("heartbeat:")
            )
            errors = sum(self.errors.values()) + sum(
                n
                for s in self.servers.values()
                for k, n in s.stats.items()
                if k.startswith("error:")
            )
            ended = sum(1 for tr in self.tracked if tr.player.state is PlayerState.ENDED)
            self.progress(
                f"{head}  sessions {len(self.tracked)} (active {active}, ended {ended})  "
                f"heartbeats {beats}  errors {errors}"
            )
            await asyncio.sleep(0.5)

    def _report(self, records: ServerRecords, seconds: float, provisioned: Provisioned) -> Report:
        report = Report(
            duration=seconds, pcs=len(self.pcs), ledger_balanced=records.ledger_balanced
        )
        report.refusals = Counter(self.refusals)
        report.errors = Counter(self.errors)
        report.topups = Counter(self.topups)
        for server in self.servers.values():
            for key, n in server.stats.items():
                kind, _, what = key.partition(":")
                if kind == "heartbeat":
                    report.heartbeats[what] += n
                elif kind == "error":
                    report.errors[f"game:{what}"] += n
        for launcher in self.launchers:
            self._count_launcher(report, launcher)
        seen = set()
        for tracked in self.tracked:
            gs = tracked.player.game_session_id or ""
            seen.add(gs)
            observed = tracked.observed_end()
            report.sim_reasons[observed] += 1
            report.sim_accepted += tracked.player.heartbeats["OK"]
            report.sim_accepted += tracked.player.heartbeats["CHARGE_EXHAUSTED"]
            record = records.sessions.get(gs)
            if record is None:
                report.mismatches.append(f"{gs}: the server has no such session")
                continue
            if record.state != "ENDED":
                report.unended.append(gs)
            if record.end_reason != observed:
                report.mismatches.append(
                    f"{gs}: simulator saw {observed}, server recorded "
                    f"{record.end_reason or record.state}"
                )
        for gs, record in records.sessions.items():
            report.server_reasons[record.end_reason or record.state] += 1
            report.server_accepted += record.heartbeat_count
            if gs not in seen:
                report.unknown_sessions.append(gs)
        return report

    @staticmethod
    def _count_launcher(report: Report, launcher: LauncherClient) -> None:
        for key, n in launcher.stats.items():
            call, _, code = key.partition(":")
            if code == "OK":
                report.launcher[call] += n
            elif code in ("NOT_CHARGEABLE",) and call == "ott":
                continue  # counted as a refusal
            else:
                report.errors[f"launcher_{call}:{code}"] += n
