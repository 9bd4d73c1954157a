"""/metrics: every lifecycle transition moves its series; the scrape is valid Prometheus text."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from django.test import Client
from personas import CafePC, Clock, GameServer, GameWithKey, open_pc, reap
from prometheus_client import REGISTRY

from sessions import services
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
    le_110 = Delta("playwave_heartbeat_gap_seconds_bucket", game="obby", le="110.0")
    le_120 = Delta("playwave_heartbeat_gap_seconds_bucket", game="obby", le="120.0")
    ok = Delta("playwave_heartbeats_total", game="obby", result="OK")
    gs = server.start(pc, obby)
    services.heartbeat_launcher(pc.launcher, now=clock.at(100))
    clock.at(120)
    server.heartbeat(gs)
    assert (le_110.moved, le_120.moved, ok.moved) == (0, 1, 1)


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
    cafe = services.create_cafe("Tiny", ["10.0.0.0/24"], balance=20, now=clock.now)
    seat = open_pc(cafe, "T-1")
    server.start(seat, obby)
    gs = server.start(seat, obby, user="2")  # replaces the first; balance now 0
    services.heartbeat_launcher(seat.launcher, now=clock.at(59))
    clock.at(61)
    beat = server.heartbeat(gs, user="2").json()
    assert beat.get("data", {}).get("result") == "CHARGE_EXHAUSTED", beat
    services.heartbeat_launcher(seat.launcher, now=clock.at(170))
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
        "playwave_http_request_duration_seconds_count", route=route, method="PATCH", status="404"
    )
    server.heartbeat("gs_550e8400-e29b-41d4-a716-446655440000")
    assert count.moved == 1
    assert "550e8400" not in scrape()


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
