"""GameServerClient against a live server: every documented game-server behaviour.

Server time is frozen (time_machine) and moved by the test; the client's loop sleeps through a
Gate the test opens one heartbeat at a time, so nothing waits for a timer.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from clientkit import FlakyTransport, Gate
from conftest import World, run, server_side
from personas import GameWithKey, session_row

from playwave_client import GameServerClient, LauncherClient, PlayerSession, PlayerState
from playwave_client.game_server import END, HEARTBEAT, VERIFY, EndCause
from sessions import billing, reaper
from sessions.models import Cafe, GameSession

pytestmark = pytest.mark.django_db(transaction=True)


class Rig:
    """A PC's launcher and a game server sharing one recording transport."""

    def __init__(
        self, world: World, game: GameWithKey, *, pc: str = "PC-01", cafe: Cafe | None = None
    ) -> None:
        self.world = world
        self.cafe = cafe or world.cafe
        self.gate = Gate()
        self.transport = FlakyTransport()
        self.http = httpx.AsyncClient(transport=self.transport, timeout=10)
        self.events: list[tuple[str, str]] = []
        self.server = self.game_server(game)
        self.launcher = self.launcher_for(pc)

    def game_server(self, game: GameWithKey, gate: Gate | None = None) -> GameServerClient:
        gate = gate or self.gate
        return GameServerClient(
            self.world.url,
            game.key,
            http=self.http,
            heartbeat_interval=120,
            clock=gate.clock,
            sleep=gate.sleep,
            on_kick=lambda p: self.events.append(("kick", p.provider_user_id)),
            on_charge_exhausted=lambda p: self.events.append(("exhausted", p.provider_user_id)),
            on_charge_restored=lambda p: self.events.append(("restored", p.provider_user_id)),
        )

    def launcher_for(self, pc: str) -> LauncherClient:
        cafe = self.cafe
        return LauncherClient(
            self.world.url,
            cafe.launcher_key_id,
            cafe.launcher_secret,
            hardware_id=pc,
            http=self.http,
            sleep=self.gate.sleep,
        )

    async def join(
        self, user: str = "1001", game_id: str = "obby", server: GameServerClient | None = None
    ) -> PlayerSession:
        if self.launcher.session is None:
            await self.launcher.start()
        ott = await self.launcher.issue_ott(game_id)
        player = await (server or self.server).join(user, ott.launch_data)
        assert player.state is PlayerState.ACTIVE, player
        return player

    def task(self, player: PlayerSession) -> asyncio.Task[None]:
        assert player._task is not None
        return player._task

    async def close(self) -> None:
        await self.http.aclose()


def test_join_verifies_the_ott_and_becomes_active(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        seen: list[PlayerState] = []
        rig.transport.before_send = lambda request: (
            seen.append(rig.server.state("1001")) if request.url.path == VERIFY else None
        )
        assert rig.server.state("1001") is PlayerState.NONE
        player = await rig.join()
        assert seen == [PlayerState.VERIFYING]
        assert player.game_session_id is not None
        assert session_row(player.game_session_id).state == "ACTIVE"
        assert await rig.gate.next_sleep(rig.task(player)) == 120  # the loop is running
        await rig.server.shutdown()
        await rig.close()

    run(scenario)


def test_player_without_launch_data_stays_none_and_nothing_is_called(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.server.join("1001", "")
        assert player.state is PlayerState.NONE and player._task is None
        assert rig.transport.sent == []
        await rig.close()

    run(scenario)


def test_refused_verify_goes_back_to_none_with_the_reason(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        await rig.launcher.start()
        ott = await rig.launcher.issue_ott("tycoon")  # another game's OTT
        player = await rig.server.join("1001", ott.launch_data)
        assert player.state is PlayerState.NONE
        assert player.refusal == "GAME_MISMATCH" and player._task is None
        expired = await rig.server.join("1002", "playwave_00000000-0000-4000-8000-000000000000")
        assert expired.refusal == "OTT_EXPIRED"
        await rig.close()

    run(scenario)


def test_verify_whose_answer_was_lost_is_retried_into_the_same_session(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        await rig.launcher.start()
        ott = await rig.launcher.issue_ott("obby")
        rig.transport.fail("lost", VERIFY)
        joining = asyncio.create_task(rig.server.join("1001", ott.launch_data))
        assert await rig.gate.next_sleep(joining) == rig.server.retry_delay
        await rig.gate.tick(joining)  # the retry goes out; then the heartbeat loop sleeps
        player = joining.result()
        assert player.state is PlayerState.ACTIVE and player.errors == 1
        assert rig.transport.calls("POST", VERIFY) == 2
        await rig.server.shutdown()
        await rig.close()

    run(scenario)
    assert GameSession.objects.count() == 1


def test_heartbeat_loop_honours_next_heartbeat_in(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        assert await rig.gate.next_sleep(task) == 120  # the SDK's interval until told otherwise
        world.clock.at(2)
        assert await rig.gate.tick(task) == 3  # the server said next_heartbeat_in = 3
        world.clock.at(5)
        assert await rig.gate.tick(task) == 3
        assert player.heartbeats == {"OK": 2} and player.state is PlayerState.ACTIVE
        assert session_row(player.game_session_id or "").heartbeat_count == 2
        await rig.server.shutdown()
        await rig.close()

    run(scenario)


def test_session_replaced_stops_the_loop_without_calling_end(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        tycoon = rig.game_server(world.tycoon, Gate())  # its loop sleeps apart
        newer = await rig.join("1001", "tycoon", server=tycoon)  # same PC, another game
        assert await rig.gate.tick(task) is None  # the loop ended
        assert player.state is PlayerState.ENDED and player.cause is EndCause.REPLACED
        assert player.last_result == "SESSION_REPLACED"
        assert rig.transport.calls("DELETE", END) == 0
        assert rig.events == []  # no kick: the player moved on
        assert session_row(player.game_session_id or "").end_reason == "session_replace"
        assert newer.state is PlayerState.ACTIVE
        await tycoon.shutdown()
        await rig.close()

    run(scenario)


def test_expired_session_is_kicked_on_404(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        world.clock.at(6)
        await rig.launcher.heartbeat()  # the launcher lives on (its timeout is 8 s)
        late = world.clock.at(11)  # past the 10 s session timeout
        server_side(reaper.reap_once, now=late, batch=100)
        assert await rig.gate.tick(task) is None
        assert player.state is PlayerState.ENDED and player.cause is EndCause.KICKED
        assert player.kicked_with == "SESSION_NOT_FOUND"
        assert rig.events == [("kick", "1001")]
        assert rig.transport.calls("DELETE", END) == 0
        assert session_row(player.game_session_id or "").end_reason == "heartbeat_timeout"
        await rig.close()

    run(scenario)


def test_session_of_a_closed_launcher_is_kicked_on_410(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        world.clock.at(2)
        await rig.launcher.end()
        assert await rig.gate.tick(task) is None
        assert player.kicked_with == "SESSION_ENDED" and rig.events == [("kick", "1001")]
        row = session_row(player.game_session_id or "")
        assert row.end_reason == "launcher_closed"
        await rig.close()

    run(scenario)


def test_charge_exhausted_keeps_heartbeating_and_tells_the_player(world: World) -> None:
    # 15 G-coin at 10 per 1 s unit: verify takes 10, the second unit finds only 5.
    poor = billing.create_cafe(
        "Poor PC Bang", ["127.0.0.0/8", "::1/128"], balance=15, now=world.clock.now
    )

    async def scenario() -> None:
        rig = Rig(world, world.obby, cafe=poor)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        world.clock.at(1.5)
        assert await rig.gate.tick(task) == 3  # still heartbeating
        assert player.last_result == "CHARGE_EXHAUSTED" and player.exhausted
        world.clock.at(2.5)
        assert await rig.gate.tick(task) == 3
        assert rig.events == [("exhausted", "1001")]  # told once, not at every heartbeat
        server_side(billing.topup, poor.pk, 20, now=world.clock.now)
        world.clock.at(3)
        assert await rig.gate.tick(task) == 3  # the backlog is paid: 5 G-coin left
        assert player.last_result == "OK" and not player.exhausted
        assert rig.events[-1] == ("restored", "1001")
        world.clock.at(4.5)
        await rig.launcher.heartbeat()  # the launcher lives on (its timeout is 8 s)
        assert await rig.gate.tick(task) == 3
        assert player.last_result == "CHARGE_EXHAUSTED"
        world.clock.at(9)  # past the 4 s grace: the server ends it and the player is kicked
        assert await rig.gate.tick(task) is None
        assert player.kicked_with == "SESSION_ENDED"
        assert session_row(player.game_session_id or "").end_reason == "charge_exhausted"
        await rig.close()

    run(scenario)


@pytest.mark.parametrize("failure", ["500", "connect"])
def test_server_or_network_error_is_retried_at_the_next_cycle(world: World, failure: str) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        rig.transport.fail(failure, HEARTBEAT)
        world.clock.at(2)
        assert await rig.gate.tick(task) == 120  # no answer: same interval, same session
        assert player.state is PlayerState.ACTIVE and player.errors == 1
        world.clock.at(4)
        assert await rig.gate.tick(task) == 3
        assert player.last_result == "OK" and player.heartbeats == {"OK": 1}
        assert session_row(player.game_session_id or "").heartbeat_count == 1
        await rig.server.shutdown()
        await rig.close()

    run(scenario)


def test_leave_ends_the_session_normally_with_the_client_play_time(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        world.clock.at(2)
        await rig.gate.tick(task)  # one heartbeat; the gate's clock is now at 120 s
        world.clock.at(7)
        await rig.server.leave("1001")
        assert task.done() and player.state is PlayerState.ENDED
        assert player.cause is EndCause.LEFT and player.end_answer == "SUCCESS"
        assert player.play_duration_sec == 7
        ended = [json.loads(s.body) for s in rig.transport.sent if s.path == END]
        assert ended == [
            {
                "game_session_id": player.game_session_id,
                "reason": "normal",
                "play_duration_sec": 120,
            }
        ]
        row = session_row(player.game_session_id or "")
        assert (row.end_reason, row.play_duration_sec) == ("normal", 7)
        assert row.client_play_duration_sec == 120
        await rig.close()

    run(scenario)


def test_shutdown_ends_every_session_with_server_shutdown(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        players = [await rig.join("1001")]
        second = rig.launcher_for("PC-02")
        await second.start()
        players.append(await rig.server.join("1002", (await second.issue_ott("obby")).launch_data))
        await rig.server.shutdown()
        assert {p.state for p in players} == {PlayerState.ENDED}
        assert all(p._task is not None and p._task.done() for p in players)
        assert all(p.cause is EndCause.SHUTDOWN for p in players)
        reasons = {session_row(p.game_session_id or "").end_reason for p in players}
        assert reasons == {"server_shutdown"}
        await rig.close()

    run(scenario)


def test_leave_after_the_server_ended_the_session_is_harmless(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        await rig.gate.next_sleep(rig.task(player))
        world.clock.at(6)
        await rig.launcher.heartbeat()
        server_side(reaper.reap_once, now=world.clock.at(11), batch=100)
        await rig.server.leave("1001")  # the end call meets 404 and is ignored
        assert player.state is PlayerState.ENDED and player.end_answer == "SESSION_NOT_FOUND"
        await rig.close()

    run(scenario)


def test_abandon_stops_heartbeating_without_a_word(world: World) -> None:
    async def scenario() -> None:
        rig = Rig(world, world.obby)
        player = await rig.join()
        task = rig.task(player)
        await rig.gate.next_sleep(task)
        await rig.server.abandon("1001")
        assert task.done() and player.cause is EndCause.ABANDONED
        assert rig.transport.calls("DELETE", END) == 0
        world.clock.at(6)
        await rig.launcher.heartbeat()
        await rig.close()

    run(scenario)
    server_side(reaper.reap_once, now=world.clock.at(10), batch=100)
    assert GameSession.objects.get().end_reason == "heartbeat_timeout"
