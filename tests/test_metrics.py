"""/metrics: every lifecycle transition moves its series; the scrape is valid Prometheus text."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from django.test import Client
from personas import CafePC, Clock, GameServer, GameWithKey, make_game, open_pc, reap
from prometheus_client import REGISTRY

from sessions import billing, launchers
from sessions.lifecycle import EndReason
from sessions.metrics import gap_buckets
from sessions.reaper import Reaper

# Metrics are fed after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Reads a sample before and after a block."""

    def __init__(self, name: str, **labels: str) -> None:
        self.name, self.labels = name, labels
        self.start = value(name, **labels)

    @property
    def moved(self) -> float:
        return value(self.name, **self.labels) - self.start


def scrape(client: Client | None = None, **headers: str) -> str:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_verify_results_are_counted_by_result(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    valid = Delta("playwave_verify_total", game="obby", result="valid")
    expired = Delta("playwave_verify_total", game="obby", result="OTT_EXPIRED")
    started = Delta("playwave_sessions_started_total", game="obby")
    ott = pc.ott(obby)
    server.verify(ott)
    server.verify(ott)  # a retry: valid again, but no second session
    server.verify("00000000-0000-4000-8000-000000000000")
    assert (valid.moved, expired.moved, started.moved) == (2, 1, 1)


def test_heartbeat_gap_lands_in_the_bucket_around_the_interval(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    le_108 = Delta("playwave_heartbeat_gap_seconds_bucket", game="obby", le="108.0")
    le_120 = Delta("playwave_heartbeat_gap_seconds_bucket", game="obby", le="120.0")
    ok = Delta("playwave_heartbeats_total", game="obby", result="OK")
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(100))
    clock.at(120)
    server.heartbeat(gs)
    assert (le_108.moved, le_120.moved, ok.moved) == (0, 1, 1)


def test_gap_buckets_follow_the_configured_interval_and_timeout() -> None:
    default = gap_buckets(120, 240)
    compressed = gap_buckets(4, 8)
    # Dense just under and over the interval, up to the timeout and not beyond it (later
    # heartbeats are refused and counted as late instead).
    assert {108.0, 120.0, 132.0, 150.0, 240.0} <= set(default) and max(default) == 240
    assert {3.6, 4.0, 4.4, 5.0, 8.0} <= set(compressed) and max(compressed) == 8
    # The histogram the app exports uses the configured timers (120 s / 240 s in the tests).
    text = scrape()
    assert 'playwave_heartbeat_gap_seconds_bucket{game="obby",le="240.0"}' in text
    assert 'le="600.0"' not in text


def test_compressed_timers_get_buckets_around_their_own_interval() -> None:
    """With ./dev run --simulate timers (4 s / 8 s) a 4 s gap no longer reads as 15 s."""
    import sys

    env = {
        **os.environ,
        "PLAYWAVE_HEARTBEAT_INTERVAL": "4",
        "PLAYWAVE_SESSION_TIMEOUT": "8",
        "DJANGO_SETTINGS_MODULE": "playwave.settings",
    }
    code = (
        "import django; django.setup(); from sessions.metrics import HEARTBEAT_GAP; "
        "print(list(HEARTBEAT_GAP._upper_bounds))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    bounds = [float(b) for b in result.stdout.strip().strip("[]").split(", ")]
    assert bounds[:-1] == [1.0, 2.0, 3.0, 3.6, 4.0, 4.4, 5.0, 6.0, 7.2, 8.0]
    assert bounds[-1] == float("inf")


def test_apps_import_their_own_metrics_and_the_project_none_of_theirs() -> None:
    """No cycle: sessions/ and games/ never import playwave's metrics; it names no app."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def imported(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        return names

    for app in ("sessions", "games"):
        for path in (root / app).rglob("*.py"):
            assert "playwave.metrics" not in imported(path), path
    project = imported(root / "playwave" / "metrics.py")
    assert not {n for n in project if n.split(".")[0] in {"sessions", "games"}}, project


def test_a_heartbeat_after_the_timeout_is_counted_late(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    late = Delta("playwave_heartbeats_late_total", game="obby")
    gaps = Delta("playwave_heartbeat_gap_seconds_count", game="obby")
    gs = server.start(pc, obby)
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(200))
    clock.at(241)  # past the 240 s timeout, before any reaper pass
    assert server.heartbeat(gs).status_code == 404
    reap(clock.at(242))
    assert server.heartbeat(gs).status_code == 404  # the reaper had already expired it
    assert (late.moved, gaps.moved) == (2, 0)


def test_coins_charged_and_topups_are_counted(
    server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    charged = Delta("playwave_coins_charged_total", game="obby")
    topups, topup_coins = Delta("playwave_topups_total"), Delta("playwave_topup_coins_total")
    gs = server.start(pc, obby)  # the first minute is charged on verify
    launchers.heartbeat_launcher(pc.launcher, now=clock.at(110))
    clock.at(120)
    server.heartbeat(gs)  # the second minute
    billing.topup(pc.cafe.pk, 250, now=clock.now)
    assert (charged.moved, topups.moved, topup_coins.moved) == (20, 1, 250)


def test_cafes_in_grace_and_cafes_running_dry_come_from_the_database(
    server: GameServer, obby: GameWithKey, clock: Clock
) -> None:
    # 10 G-coin a minute: 1 000 G-coin last 100 minutes, 25 G-coin under 3 (warning: 30 min).
    rich = open_pc(billing.create_cafe("Rich", ["10.0.0.0/24"], balance=1000, now=clock.now), "R")
    poor = open_pc(billing.create_cafe("Poor", ["10.0.1.0/24"], balance=25, now=clock.now), "P")
    server.start(rich, obby)
    gs = server.start(poor, obby, user="2")
    text = scrape()
    assert "playwave_cafes_low_runway 1.0" in text
    assert "playwave_cafes_in_grace 0.0" in text
    launchers.heartbeat_launcher(poor.launcher, now=clock.at(110))
    clock.at(121)  # the third minute: 5 G-coin left, 10 owed
    assert server.heartbeat(gs, user="2").json()["data"]["result"] == "CHARGE_EXHAUSTED"
    text = scrape()
    assert "playwave_cafes_in_grace 1.0" in text
    assert 'playwave_sessions_in_grace{game="obby"} 1.0' in text
    assert "playwave_runway_warning_seconds 1800.0" in text


def test_every_family_is_exported_at_zero_before_anything_happens() -> None:
    make_game("untouched", "Nobody played it yet", 5)  # a slug no other test uses
    text = scrape()
    for series in (
        'playwave_sessions_started_total{game="untouched"} 0.0',
        'playwave_charge_exhaustions_total{game="untouched"} 0.0',
        'playwave_heartbeats_total{game="untouched",result="OK"} 0.0',
        'playwave_heartbeats_late_total{game="untouched"} 0.0',
        'playwave_coins_charged_total{game="untouched"} 0.0',
        'playwave_verify_total{game="untouched",result="valid"} 0.0',
        'playwave_heartbeat_gap_seconds_count{game="untouched"} 0.0',
    ):
        assert series in text, series
    # The engine's families exist in every process, whether or not a game ever ran in it
    # (other tests of this process may have run one, so only their presence is checked).
    for series in (
        'playwave_games_sessions{state="started"} ',
        "playwave_games_players_connected ",
        "playwave_games_tick_duration_seconds_count ",
        "playwave_games_broadcast_lag_seconds_count ",
        "playwave_games_tick_anchor_seconds",
    ):
        assert f"\n{series}" in text, series
    # End reasons come from the EndReason enum: a new reason is exported without a change here.
    for reason in EndReason:
        assert f'playwave_sessions_ended_total{{game="untouched",reason="{reason}"}} 0.0' in text


def test_heartbeat_errors_are_counted_by_code(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    not_found = Delta("playwave_heartbeats_total", game="obby", result="SESSION_NOT_FOUND")
    ended = Delta("playwave_heartbeats_total", game="obby", result="SESSION_ENDED")
    gs = server.start(pc, obby)
    server.end(gs)
    server.heartbeat(gs)
    server.heartbeat("gs_550e8400-e29b-41d4-a716-446655440000")
    assert (not_found.moved, ended.moved) == (1, 1)


def test_replacement_exhaustion_and_ends_move_their_series(
    server: GameServer, obby: GameWithKey, clock: Clock
) -> None:
    replaced = Delta("playwave_session_replacements_total", game="obby")
    by_replace = Delta("playwave_sessions_ended_total", game="obby", reason="session_replace")
    exhausted = Delta("playwave_charge_exhaustions_total", game="obby")
    by_charge = Delta("playwave_sessions_ended_total", game="obby", reason="charge_exhausted")
    lag = Delta("playwave_reaper_lag_seconds_count")
    cafe = billing.create_cafe("Tiny", ["10.0.0.0/24"], balance=20, now=clock.now)
    seat = open_pc(cafe, "T-1")
    server.start(seat, obby)
    gs = server.start(seat, obby, user="2")  # replaces the first; balance now 0
    launchers.heartbeat_launcher(seat.launcher, now=clock.at(59))
    clock.at(61)
    beat = server.heartbeat(gs, user="2").json()
    assert beat.get("data", {}).get("result") == "CHARGE_EXHAUSTED", beat
    launchers.heartbeat_launcher(seat.launcher, now=clock.at(170))
    reap(clock.at(182))  # grace ended at 181
    assert (replaced.moved, by_replace.moved, exhausted.moved, by_charge.moved) == (1, 1, 1, 1)
    assert lag.moved == 1
    assert value("playwave_reaper_lag_seconds_bucket", le="1.0") >= 1


def test_live_gauges_come_from_the_database(
    server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    server.start(pc, obby)
    server.start(pc2, obby, user="2")
    text = scrape()
    assert 'playwave_sessions_active{game="obby"} 2.0' in text
    assert 'playwave_sessions_in_grace{game="obby"} 0.0' in text
    assert "playwave_launchers_active 2.0" in text


def test_reaper_pass_sets_last_run(clock: Clock) -> None:
    Reaper(clock=lambda: clock.now).iterate()
    assert value("playwave_reaper_last_run_timestamp_seconds") > 0


def test_http_durations_are_labelled_by_route_not_by_path(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    route = "/v1/game/session/heartbeat"
    count = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="api",
        route=route,
        method="PATCH",
        status="404",
    )
    server.heartbeat("gs_550e8400-e29b-41d4-a716-446655440000")
    assert count.moved == 1
    assert "550e8400" not in scrape()


def test_unknown_methods_and_paths_fold_into_other(obby: GameWithKey) -> None:
    other = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="api",
        route="/v1/game/session/verify",
        method="other",
        status="405",
    )
    unmatched = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="other",
        route="other",
        method="GET",
        status="404",
    )
    client = Client()
    for method in ("FOO1", "FOO2", "BREW"):
        client.generic(method, "/v1/game/session/verify", headers={"X-Api-Key": obby.key})
    client.get("/no-such-page-1")
    client.get("/no-such-page-2")
    text = scrape()
    assert (other.moved, unmatched.moved) == (3, 2)
    assert "FOO1" not in text and "BREW" not in text and "no-such-page" not in text


def test_api_series_are_kept_apart_from_admin_and_static_files(
    server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    api = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="api",
        route="/v1/game/session/verify",
        method="POST",
        status="200",
    )
    admin = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="admin",
        route="/admin/login/",
        method="GET",
        status="200",
    )
    static = Delta(
        "playwave_http_request_duration_seconds_count",
        surface="static",
        route="other",
        method="GET",
        status="404",
    )
    server.start(pc, obby)
    Client().get("/admin/login/")
    Client().get("/static/no-such-file.css")
    assert (api.moved, admin.moved, static.moved) == (1, 1, 1)


def test_no_created_series_are_exported(server: GameServer, pc: CafePC, obby: GameWithKey) -> None:
    server.heartbeat(server.start(pc, obby))
    assert "_created" not in scrape()


def test_metrics_can_require_a_bearer_token(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PLAYWAVE_METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "playwave_" in scrape(Authorization="Bearer scrape-secret")


@pytest.fixture
def promtool() -> Iterator[str]:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("promtool is missing (Debian package prometheus); ./dev test installs it")
        pytest.skip("promtool is missing: install Debian's prometheus package (./dev test does)")
    yield path


def test_scrape_passes_promtool_check_metrics(
    promtool: str, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    server.heartbeat(server.start(pc, obby))
    result = subprocess.run(  # noqa: S603
        [promtool, "check", "metrics"], input=scrape(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
