"""The live dashboard's consumer: staff only, a snapshot, then numbered updates.

Test bodies are async functions run with async_to_sync from a sync test, so the consumer's
database calls come back to the test's own thread and connection (as in a real server).
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from personas import CafePC, Clock, GameServer, GameWithKey

from dashboard import hub as dashboard_hub
from dashboard.consumers import CLOSE_FORBIDDEN, DashboardConsumer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def hub(monkeypatch: pytest.MonkeyPatch) -> dashboard_hub.DashboardHub:
    # The hub's own loop polls once at start and then sleeps; tests drive every further poll.
    monkeypatch.setattr(dashboard_hub, "POLL_SECONDS", 3600)
    fresh = dashboard_hub.DashboardHub()
    monkeypatch.setattr("dashboard.consumers.hub", fresh)
    return fresh


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("ops", password="x", is_staff=True)


def socket(user: Any) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/admin/dashboard/")
    comm.scope["user"] = user
    return comm


def test_anonymous_and_non_staff_users_are_refused() -> None:
    player = User.objects.create_user("player", password="x")

    async def body() -> None:
        for user in (AnonymousUser(), player):
            connected, code = await socket(user).connect()
            assert not connected and code == CLOSE_FORBIDDEN

    async_to_sync(body)()


def test_snapshot_on_connect_has_totals_and_the_table(
    staff: User, server: GameServer, pc: CafePC, obby: GameWithKey
) -> None:
    gs = server.start(pc, obby)

    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        snapshot = await comm.receive_json_from()
        assert snapshot["type"] == "snapshot"
        assert snapshot["totals"]["by_state"]["ACTIVE"] == 1
        assert snapshot["totals"]["active_by_game"] == {"obby": 1}
        assert [r["id"] for r in snapshot["table"]["rows"]] == [gs]
        assert snapshot["table"]["page_size"] == 50  # the page keeps its pages this long
        assert set(snapshot["ends_per_minute"]) >= {"normal", "heartbeat_timeout"}
        await comm.disconnect()

    async_to_sync(body)()


def test_changes_arrive_as_numbered_batched_updates(
    staff: User,
    hub: dashboard_hub.DashboardHub,
    server: GameServer,
    pc: CafePC,
    pc2: CafePC,
    obby: GameWithKey,
    clock: Clock,
) -> None:
    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        snapshot = await comm.receive_json_from()
        await hub.poll()  # the hub's first look only sets its cursor
        first = await as_sync(server.start, pc, obby)
        second = await as_sync(server.start, pc2, obby, "2")
        await hub.poll()
        update = await comm.receive_json_from()
        assert update["type"] == "update" and update["seq"] == snapshot["seq"] + 1
        assert {r["id"] for r in update["changed"]} == {first, second}  # one message for both
        assert update["totals"]["by_state"]["ACTIVE"] == 2

        clock.at(2)
        await as_sync(server.end, first)
        await hub.poll()
        update = await comm.receive_json_from()
        assert update["seq"] == snapshot["seq"] + 2
        (row,) = update["changed"]
        assert (row["id"], row["state"], row["end_reason"]) == (first, "ENDED", "normal")

        assert await hub.poll() is None  # nothing new, nothing sent
        assert await comm.receive_nothing()
        await comm.disconnect()

    async_to_sync(body)()


def test_query_filters_and_pages_on_the_server(
    staff: User, server: GameServer, pc: CafePC, pc2: CafePC, obby: GameWithKey
) -> None:
    ended = server.start(pc, obby)
    live = server.start(pc2, obby, "2")
    server.end(ended)

    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        await comm.receive_json_from()
        await comm.send_json_to({"type": "query", "state": "ACTIVE"})
        answer = await comm.receive_json_from()
        assert answer["type"] == "table" and [r["id"] for r in answer["table"]["rows"]] == [live]
        await comm.send_json_to({"type": "query", "search": "PC-01"})
        answer = await comm.receive_json_from()
        assert [r["id"] for r in answer["table"]["rows"]] == [ended]
        await comm.disconnect()

    async_to_sync(body)()


@pytest.mark.parametrize(
    "message",
    [{"type": "query", "state": "SLEEPING"}, {"type": "query", "page": 0}, {"type": "dance"}, [1]],
)
def test_bad_messages_get_an_error_and_the_socket_stays_open(staff: User, message: Any) -> None:
    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        await comm.receive_json_from()
        await comm.send_json_to(message)
        assert (await comm.receive_json_from())["type"] == "error"
        await comm.send_json_to({"type": "resync"})
        assert (await comm.receive_json_from())["type"] == "snapshot"
        await comm.disconnect()

    async_to_sync(body)()


async def as_sync(fn: Any, *args: Any) -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(fn)(*args)


def test_join_code_games_of_this_process_are_listed_and_updated(
    staff: User, hub: dashboard_hub.DashboardHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    games: list[dict[str, Any]] = []
    monkeypatch.setattr(dashboard_hub, "live_games", lambda: list(games))

    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        assert (await comm.receive_json_from())["games"] == []
        await hub.poll()
        games.append({"code": "ZOOT", "game": "tag", "status": "stopped", "players": 2, "bots": 0})
        await hub.poll()
        update = await comm.receive_json_from()
        assert update["changed"] == [] and update["games"][0]["code"] == "ZOOT"
        assert await hub.poll() is None  # same games, no session writes: nothing to send
        await comm.disconnect()

    async_to_sync(body)()


def test_rows_already_sent_never_crowd_out_new_ones(
    staff: User,
    hub: dashboard_hub.DashboardHub,
    server: GameServer,
    obby: GameWithKey,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from personas import open_pc

    monkeypatch.setattr("dashboard.queries.MAX_CHANGES", 4)
    seats = [open_pc(server_cafe(), f"X-{i}") for i in range(10)]

    async def body() -> None:
        comm = socket(staff)
        await comm.connect()
        await comm.receive_json_from()
        await hub.poll()
        started = [await as_sync(server.start, seat, obby, str(i)) for i, seat in enumerate(seats)]
        seen: list[str] = []
        for _ in range(3):  # ten new rows, four per poll at most: three polls, no repeats
            await hub.poll()
            seen += [r["id"] for r in (await comm.receive_json_from())["changed"]]
        assert sorted(seen) == sorted(started)
        clock.at(1)
        await as_sync(server.heartbeat, started[0], "0")
        await hub.poll()
        assert [r["id"] for r in (await comm.receive_json_from())["changed"]] == [started[0]]
        await comm.disconnect()

    async_to_sync(body)()


def server_cafe():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from sessions import billing

    return billing.create_cafe("Busy", ["10.0.0.0/24"], balance=10_000, now=timezone.now())
