from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

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


ON_TIER_1: pytest.StashKey[Counter[str]] = pytest.StashKey()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected theirs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    reasons: Counter[str] = Counter()
    for item in items:
        mark = item.get_closest_marker("tier1_only")
        if mark is None:
            kept.append(item)
            continue
        if not (mark.args and isinstance(mark.args[0], str) and mark.args[0].strip()):
            raise pytest.UsageError(f"{item.nodeid}: tier1_only needs its reason as the argument")
        left_out.append(item)
        reasons[mark.args[0]] += 1
    if not ON_POSTGRES:
        skip = pytest.mark.skip(
            reason="needs the PostgreSQL + Redis tier (DATABASE_URL, REDIS_URL)"
        )
        for item in items:
            if "services" in item.keywords:
                item.add_marker(skip)
        return
    # Tier 2 leaves out what it would only repeat: tests whose outcome does not depend on the
    # backends, each saying why; they ran on tier 1 (README, Tests).
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
        config.stash[ON_TIER_1] = reasons


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reasons = config.stash.get(ON_TIER_1, None)
    if reasons:
        terminalreporter.section("ran on tier 1 only (tier1_only), not repeated here", sep="-")
        for reason, count in sorted(reasons.items()):
            terminalreporter.line(f"{count:4d}  {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Tier 2 with nothing left to run (every selected test is tier1_only) has not failed.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.config.stash.get(
        ON_TIER_1, None
    ):
        session.exitstatus = pytest.ExitCode.OK
