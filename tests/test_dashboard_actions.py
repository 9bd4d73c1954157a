"""The dashboard's charts count with nobody watching; operators act from it, within their role,
and every action is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from personas import CafePC, Clock, GameServer, GameWithKey, session_row

from audit.models import AuditEntry
from dashboard import hub as dashboard_hub
from dashboard import minutes
from dashboard.consumers import DashboardConsumer
from games.engine import builtin_rulesets
from games.registry import set_runtime
from games.routing import websocket_urlpatterns as games_ws
from games.runtime import Runtime

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def hub(monkeypatch: pytest.MonkeyPatch) -> dashboard_hub.DashboardHub:
    monkeypatch.setattr(dashboard_hub, "POLL_SECONDS", 3600)
    fresh = dashboard_hub.DashboardHub()
    monkeypatch.setattr("dashboard.consumers.hub", fresh)
    return fresh


@pytest.fixture(autouse=True)
def _no_counts_left_over() -> Iterator[None]:
    minutes.pending.flush()  # an earlier test's beats into the cache, which is then emptied
    cache.clear()
    yield
    minutes.pending.flush()
    cache.clear()


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(store=cache, layer=get_channel_layer(), autostart=False)
    old = set_runtime(rt)
    yield rt
    set_runtime(old)


async def join(code: str, name: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A player's phone joining a live game."""
    comm = WebsocketCommunicator(URLRouter(games_ws), f"/ws/games/{code}/")
    comm.scope["user"] = AnonymousUser()
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "join", "name": name})
    while (frame := await comm.receive_json_from())["type"] != "welcome":
        pass
    return comm, frame


def user_of(client: Any) -> User:
    return client.user  # type: ignore[no-any-return]


def socket(user: Any) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/admin/dashboard/")
    comm.scope["user"] = user
    return comm


async def snapshot_of(user: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = socket(user)
    await comm.connect()
    return comm, await comm.receive_json_from()


def test_a_process_adds_its_heartbeats_to_the_shared_count_once_a_second(
    monkeypatch: pytest.MonkeyPatch, server: GameServer, pc: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    """Not one cache call per heartbeat: the beats wait in the process for one timer."""
    armed: list[Any] = []

    class Timer:
        def __init__(self, seconds: float, run: Any) -> None:
            self.seconds, self.run, self.daemon = seconds, run, False
            armed.append(self)

        def start(self) -> None:
            pass

        def cancel(self) -> None:
            pass

    monkeypatch.setattr(minutes, "pending", minutes._Counts(timer=Timer))  # type: ignore[arg-type]
    gs = server.start(pc, obby)
    for t in range(1, 21):
        clock.at(t)
        server.heartbeat(gs)
    key = f"{minutes.PREFIX}{minutes.minute_of(clock.now)}"
    assert cache.get(key) is None  # nothing shared yet
    assert len(armed) == 1 and armed[0].seconds == minutes.FLUSH_SECONDS and armed[0].daemon
    armed[0].run()  # the timer fires
    assert cache.get(key) == 20
    clock.at(21)
    server.heartbeat(gs)
    assert len(armed) == 2  # the next beat arms the next timer
    assert minutes.heartbeats(clock.now)[-1] == 21  # a reader sees its own process's beats


def test_heartbeats_are_counted_per_minute_with_no_dashboard_open(
    support: Any, server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey, clock: Clock
) -> None:
    first, second = server.start(pc, obby), server.start(pc2, obby, "2")
    clock.at(30)
    server.heartbeat(first)
    server.heartbeat(second, "2")
    clock.at(90)  # the next minute
    server.heartbeat(first)
    server.end(second)

    async def body() -> None:
        comm, snapshot = await snapshot_of(user_of(support))
        charts = snapshot["charts"]
        assert charts["minutes"] == 60 and len(charts["heartbeats"]) == 60
        assert charts["heartbeats"][-2:] == [2, 1]
        assert charts["starts"][-2:] == [2, 0]
        assert charts["ends"]["normal"][-2:] == [0, 1]
        # The first value is for the minute 59 minutes before the current one (12:01).
        assert charts["start"] == "2026-03-06T11:02:00Z"
        await comm.disconnect()

    async_to_sync(body)()


def test_charts_move_with_the_clock_even_when_nothing_is_written(
    support: Any, hub: dashboard_hub.DashboardHub, clock: Clock
) -> None:
    async def body() -> None:
        comm, _ = await snapshot_of(user_of(support))
        await hub.poll()
        assert await hub.poll() is None
        clock.at(dashboard_hub.CHART_REFRESH.total_seconds() + 1)
        update = await hub.poll()
        assert update is not None and update["changed"] == []
        assert update["charts"]["start"] == "2026-03-06T11:01:00Z"
        assert (await comm.receive_json_from())["seq"] == update["seq"]
        await comm.disconnect()

    async_to_sync(body)()


def test_support_ends_a_session_from_the_dashboard_and_it_is_audited(
    support: Any, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)

    async def body() -> None:
        comm, snapshot = await snapshot_of(user_of(support))
        assert snapshot["can_end"] is True
        await comm.send_json_to({"type": "session.end", "id": gs})
        answer = await comm.receive_json_from()
        assert answer == {
            "type": "done",
            "action": "session.end",
            "message": f"{gs} ended (reason: operator)",
        }
        await comm.send_json_to({"type": "session.end", "id": gs})
        assert (await comm.receive_json_from())["type"] == "refused"
        await comm.disconnect()

    async_to_sync(body)()
    assert session_row(gs).end_reason == "operator"
    (entry,) = AuditEntry.objects.filter(action="session_end")
    assert entry.actor_name == "sam"


def test_finance_may_not_end_sessions_or_games_from_the_dashboard(
    finance: Any, server: GameServer, pc: CafePC, obby: GameWithKey, runtime: Runtime
) -> None:
    gs = server.start(pc, obby)

    async def body() -> None:
        live = await runtime.create(builtin_rulesets()["tag"], None)
        comm, snapshot = await snapshot_of(user_of(finance))
        assert snapshot["can_end"] is False
        for message in (
            {"type": "session.end", "id": gs},
            {"type": "game.end", "code": live.code},
            {"type": "game.kick", "code": live.code, "player": "p1"},
        ):
            await comm.send_json_to(message)
            assert (await comm.receive_json_from())["type"] == "refused"
        assert live.world.status == "stopped"
        await comm.disconnect()

    async_to_sync(body)()
    assert session_row(gs).state == "ACTIVE"
    assert not AuditEntry.objects.exists()


def test_an_operator_kicks_a_player_then_ends_the_game_both_audited(
    support: Any, runtime: Runtime, hub: dashboard_hub.DashboardHub
) -> None:
    async def body() -> None:
        live = await runtime.create(builtin_rulesets()["tag"], None)
        ann, welcome = await join(live.code, "Ann")
        await hub.poll()
        comm, snapshot = await snapshot_of(user_of(support))
        (game,) = snapshot["games"]
        assert game["roster"] == [{"id": welcome["playerId"], "name": "Ann"}]
        await comm.send_json_to(
            {"type": "game.kick", "code": live.code.lower(), "player": "p1", "reason": "cheating"}
        )
        assert (await comm.receive_json_from())["message"] == f"Ann removed from game {live.code}"
        await comm.send_json_to({"type": "game.end", "code": live.code, "reason": "closing"})
        assert (await comm.receive_json_from())["type"] == "done"
        assert live.world.status == "ended"
        await comm.send_json_to({"type": "game.end", "code": "12AB"})
        assert (await comm.receive_json_from())["type"] == "refused"
        await comm.disconnect()
        await ann.disconnect()

    async_to_sync(body)()
    kick = AuditEntry.objects.get(action="live_game_kick")
    assert (kick.actor_name, kick.note, kick.after["present"]) == ("sam", "cheating", False)
    assert AuditEntry.objects.get(action="live_game_end").note == "closing"


def test_a_too_long_reason_is_refused_and_changes_nothing(support: Any) -> None:
    async def body() -> None:
        comm, _ = await snapshot_of(user_of(support))
        await comm.send_json_to({"type": "game.end", "code": "ABCD", "reason": "x" * 201})
        assert (await comm.receive_json_from())["type"] == "error"
        await comm.disconnect()

    async_to_sync(body)()


def test_logging_out_closes_the_users_dashboards_as_signed_out(support: Any) -> None:
    from django.contrib.auth.signals import user_logged_out

    from dashboard.consumers import CLOSE_FORBIDDEN

    async def body() -> None:
        comm, _ = await snapshot_of(user_of(support))
        await sync_to_async(user_logged_out.send)(User, request=None, user=user_of(support))
        assert (await comm.receive_output())["code"] == CLOSE_FORBIDDEN
        await comm.disconnect()

    async_to_sync(body)()
