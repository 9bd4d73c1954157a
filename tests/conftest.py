from __future__ import annotations

import uuid

import pytest
from console import admin_op, finance, support  # noqa: F401  (fixtures)
from personas import (  # noqa: F401  (fixtures)
    ON_POSTGRES,
    _fresh_key_cache,
    cafe,
    clock,
    obby,
    pc,
    pc2,
    server,
    tycoon,
    tycoon_server,
)
from stackkit import stack  # noqa: F401  (fixture)

import ratelimits


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts from zero: counters of its own (in memory, and under a fresh prefix in
    Redis), so the many calls of a suite from one test address never trip a limit."""
    monkeypatch.setattr(ratelimits, "KEY_PREFIX", f"playwave-limits-test-{uuid.uuid4().hex}")
    ratelimits.reset()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs the PostgreSQL + Redis tier (DATABASE_URL, REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)
