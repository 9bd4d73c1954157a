from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browserkit import (  # noqa: F401  (fixtures)
    browser,
    gm_staff,
    grid_map,
    live_runtime,
    local_tiles,
)
from channels.layers import get_channel_layer
from django.core.cache import cache
from gamekit import FakeClock

from games import codes
from games.registry import set_runtime
from games.runtime import Runtime


@pytest.fixture(autouse=True)
def no_internet_tiles(settings: Any) -> None:
    """Pages under test never ask a tile server on the internet for the map (the default is
    OpenStreetMap's): the grid, unless a test serves its own tiles (``local_tiles``)."""
    settings.GAMES_TILE_URL = ""


@pytest.fixture
def game_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(game_clock: FakeClock) -> Iterator[Runtime]:
    """A runtime ticked by hand on a fake clock (no scheduler), installed as the process one."""
    rt = Runtime(store=cache, layer=get_channel_layer(), clock=game_clock, autostart=False)
    old = set_runtime(rt)
    yield rt
    set_runtime(old)
    for code in list(rt.sessions):
        cache.delete(codes.key(code))


@pytest.fixture
def host(django_user_model: Any) -> Any:
    """The game master: a staff user who hosts the sessions under test."""
    return django_user_model.objects.create_user("gm", password="gm-pass-123", is_staff=True)


@pytest.fixture
def other_staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("staff2", password="x-pass-123", is_staff=True)
