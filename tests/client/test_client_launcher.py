"""LauncherClient against a live server: signing, start, OTT issue, heartbeat loop, end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from clientkit import FlakyTransport, Gate
from conftest import World, run, server_side

from playwave_client import ApiError, GameServerClient, LauncherClient, LauncherState, PlayerState
from playwave_client.launcher import HEARTBEAT
from sessions import reaper
from sessions.models import LauncherSession

pytestmark = pytest.mark.django_db(transaction=True)


def launcher(
    world: World,
    transport: FlakyTransport,
    gate: Gate,
    *,
    secret: str | None = None,
    died: list[str] | None = None,
) -> LauncherClient:
    return LauncherClient(
        world.url,
        world.cafe.launcher_key_id,
        secret or world.cafe.launcher_secret,
        hardware_id="PC-07",
        internal_ip="192.168.0.17",
        hostname="seat-07",
        transport=transport,
        sleep=gate.sleep,
        on_dead=None if died is None else (lambda c: died.append(c.hardware_id)),
    )


def test_start_signs_the_pc_in_and_lists_the_games(world: World) -> None:
    async def scenario() -> None:
        client = launcher(world, FlakyTransport(), Gate())
        session = await client.start()
        assert client.state is LauncherState.RUNNING
        assert session.heartbeat_interval == 2
        assert sorted(g.game_id for g in session.games) == ["obby", "tycoon"]
        row = LauncherSession.objects.get(pk=session.launcher_session_id)
        assert (row.pc.hardware_id, row.pc.hostname, row.status) == ("PC-07", "seat-07", "active")
        await client.end()
        assert client.state is LauncherState.ENDED
        await client.aclose()

    run(scenario)
    assert LauncherSession.objects.get().status == "closed"


def test_issued_ott_launches_a_game_session(world: World) -> None:
    async def scenario() -> None:
        client = launcher(world, FlakyTransport(), Gate())
        await client.start()
        issued = await client.issue_ott("obby")
        assert issued.launch_data == f"playwave_{issued.ott}" and issued.expires_in == 30
        server = GameServerClient(world.url, world.obby.key, sleep=Gate().sleep)
        player = await server.join("1001", issued.launch_data)
        assert player.state is PlayerState.ACTIVE
        beat = await client.heartbeat()
        assert beat.active_game_session_id == player.game_session_id
        await server.shutdown()
        await server.aclose()
        await client.aclose()

    run(scenario)


def test_heartbeat_loop_honours_next_heartbeat_in(world: World, timers: Any) -> None:
    async def scenario() -> None:
        gate = Gate()
        client = launcher(world, FlakyTransport(), gate)
        await client.start()
        task = client.start_heartbeats()
        assert await gate.next_sleep(task) == 2  # heartbeat_interval_sec from start
        timers.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL = 5
        assert await gate.tick(task) == 5  # the server's next_heartbeat_in wins
        assert client.stats["heartbeat:OK"] == 1
        await client.end()
        assert task.done()
        await client.aclose()

    run(scenario)


def test_a_launcher_the_server_timed_out_stops_and_reports_dead(world: World) -> None:
    async def scenario() -> None:
        gate, died = Gate(), list[str]()
        client = launcher(world, FlakyTransport(), gate, died=died)
        await client.start()
        task = client.start_heartbeats()
        await gate.next_sleep(task)
        server_side(reaper.reap_once, now=world.clock.at(9), batch=100)  # timeout is 8 s
        assert await gate.tick(task) is None
        assert client.state is LauncherState.DEAD
        assert died == ["PC-07"]
        with pytest.raises(ApiError) as refused:
            await client.issue_ott("obby")
        assert refused.value.code == "SESSION_ENDED"
        await client.aclose()

    run(scenario)


@pytest.mark.parametrize("failure", ["500", "connect"])
def test_heartbeat_trouble_is_retried_at_the_next_cycle(world: World, failure: str) -> None:
    async def scenario() -> None:
        gate, transport = Gate(), FlakyTransport()
        client = launcher(world, transport, gate)
        await client.start()
        task = client.start_heartbeats()
        await gate.next_sleep(task)
        transport.fail(failure, HEARTBEAT)
        assert await gate.tick(task) == 2
        assert client.state is LauncherState.RUNNING
        assert await gate.tick(task) == 2
        assert client.stats["heartbeat:OK"] == 1
        await client.end()
        await client.aclose()

    run(scenario)


def test_refusals_raise_with_the_servers_code(world: World) -> None:
    async def scenario() -> None:
        forged = launcher(world, FlakyTransport(), Gate(), secret="not-the-secret")
        with pytest.raises(ApiError) as bad_signature:
            await forged.start()
        assert (bad_signature.value.status, bad_signature.value.code) == (401, "INVALID_SIGNATURE")
        assert forged.state is LauncherState.IDLE
        await forged.aclose()

        client = launcher(world, FlakyTransport(), Gate())
        await client.start()
        with pytest.raises(ApiError) as unknown:
            await client.issue_ott("no-such-game")
        assert unknown.value.code == "GAME_NOT_FOUND"
        await client.aclose()

    run(scenario)


def test_every_request_has_a_fresh_nonce_so_none_is_replayed(world: World) -> None:
    async def scenario() -> None:
        client = launcher(world, FlakyTransport(), Gate())
        await client.start()
        results = await asyncio.gather(*(client.heartbeat() for _ in range(5)))
        assert {r.result for r in results} == {"OK"}
        await client.aclose()

    run(scenario)
