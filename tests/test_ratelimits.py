"""Rate limits: a key past its rate is refused with a wait, and a Redis outage refuses nothing."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import override_settings

import ratelimits


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimits.reset()
    yield
    ratelimits.reset()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"  # Redis keeps counters between runs for a window


@override_settings(REDIS_URL="")
def test_a_key_past_its_rate_is_refused_with_the_wait_until_the_window_frees() -> None:
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        assert all(ratelimits.hit("t", "a", "3/minute").allowed for _ in range(3))
        refused = ratelimits.hit("t", "a", "3/minute")
        assert not refused.allowed
        assert 1 <= refused.retry_after <= 60
        assert refused.limit == "3 per 1 minute"
        assert ratelimits.hit("t", "b", "3/minute").allowed  # another key counts on its own
        assert ratelimits.hit("other", "a", "3/minute").allowed  # and another limiter
        clock.shift(121)
        assert ratelimits.hit("t", "a", "3/minute").allowed


@override_settings(REDIS_URL="", RATE_LIMITS=False)
def test_rate_limits_off_refuse_nothing() -> None:
    assert all(ratelimits.hit("t", "a", "1/minute").allowed for _ in range(5))


@override_settings(REDIS_URL="")
def test_an_empty_rate_is_no_limit() -> None:
    assert all(ratelimits.hit("t", "a", "").allowed for _ in range(5))


def test_while_redis_is_unreachable_each_process_counts_in_memory_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with override_settings(REDIS_URL=dead), caplog.at_level(logging.WARNING, "ratelimits"):
        started = time.monotonic()
        verdicts = [ratelimits.hit("t", "a", "3/minute") for _ in range(5)]
        took = time.monotonic() - started
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert len([r for r in caplog.records if "Redis unreachable" in r.message]) == 1
    assert took < 2 * ratelimits.REDIS_TIMEOUT + 1  # Redis is tried once, not on every hit


@pytest.mark.services
def test_on_redis_every_process_counts_together() -> None:
    key = unique("shared")
    first = ratelimits._Limiter(settings.REDIS_URL)  # two processes' limiters
    second = ratelimits._Limiter(settings.REDIS_URL)
    item = ratelimits.rate("4/minute")
    got = [limiter.hit(item, "t", key, 1).allowed for limiter in (first, second) * 3]
    assert got == [True, True, True, True, False, False]


@pytest.mark.services
def test_async_callers_get_the_same_verdicts() -> None:
    key = unique("async")
    got = [async_to_sync(ratelimits.ahit)("t", key, "2/minute").allowed for _ in range(3)]
    assert got == [True, True, False]


@override_settings(REDIS_URL="")
def test_peek_says_whether_a_hit_would_pass_without_counting_it() -> None:
    with time_machine.travel(1_800_000_000, tick=False):
        assert all(ratelimits.peek("p", "a", "2/minute").allowed for _ in range(5))
        assert ratelimits.hit("p", "a", "2/minute").allowed
        assert ratelimits.hit("p", "a", "2/minute").allowed
        refused = ratelimits.peek("p", "a", "2/minute")
        assert not refused.allowed and 1 <= refused.retry_after <= 60
        assert ratelimits.peek("p", "b", "2/minute").allowed


class CountingLimiter(ratelimits._Limiter):
    """A process's shared-window client that counts how often it reaches the window."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls = 0

    def hit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().hit(*args, **kwargs)

    def left(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().left(*args, **kwargs)

    def peek(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().peek(*args, **kwargs)


@override_settings(REDIS_URL="")
def test_a_batched_limit_is_exact_in_one_process() -> None:
    """Batching changes when the window is told, never which hit of a process is refused."""
    with time_machine.travel(1_800_000_000, tick=False):
        got = [ratelimits.hit("b", "a", "3/minute", batched=True).allowed for _ in range(6)]
        assert got == [True, True, True, False, False, False]
        assert not ratelimits.hit("b", "a", "3/minute").allowed  # the window holds all three


@pytest.mark.services
def test_a_busy_batched_key_asks_redis_once_per_interval_not_per_hit() -> None:
    key = unique("busy")
    batches = ratelimits._Batched(CountingLimiter(settings.REDIS_URL))
    item = ratelimits.rate("100000/minute")
    at = 1000.0
    verdicts = [batches.hit(item, "t", key, 1, at + i * 0.001) for i in range(50)]  # 50 ms
    assert all(v.allowed for v in verdicts)
    assert batches.limiter.calls == 2  # the first hit and the window's remainder
    batches.hit(item, "t", key, 1, at + ratelimits.SHARE_EVERY + 0.01)  # the interval is over
    assert batches.limiter.calls == 5  # the 49 pending, this hit, the remainder
    fresh = ratelimits._Limiter(settings.REDIS_URL)  # another process sees every hit
    assert fresh.left(item, "t", key) == 100000 - 51


@pytest.mark.services
def test_processes_batching_one_key_admit_at_most_their_last_interval_too_many() -> None:
    key = unique("two")
    first = ratelimits._Batched(ratelimits._Limiter(settings.REDIS_URL))
    second = ratelimits._Batched(ratelimits._Limiter(settings.REDIS_URL))
    item = ratelimits.rate("10/minute")
    at = 1000.0
    allowed = 0
    for i in range(40):  # alternating, 10 ms apart: both learn the window early
        batches = first if i % 2 == 0 else second
        allowed += batches.hit(item, "t", key, 1, at + i * 0.01).allowed
    # Each process may spend the remainder it last learnt before it shares: never more than
    # the limit twice over here, and the window refuses everything once it has heard of them.
    assert 10 <= allowed <= 20
    assert not first.hit(item, "t", key, 1, at + 10).allowed
    assert not second.hit(item, "t", key, 1, at + 10).allowed


@override_settings(REDIS_URL="")
def test_a_batched_peek_sees_this_processs_own_hits_at_once() -> None:
    with time_machine.travel(1_800_000_000, tick=False):
        assert ratelimits.peek("g", "ip", "2/minute", batched=True).allowed
        ratelimits.hit("g", "ip", "2/minute")
        ratelimits.hit("g", "ip", "2/minute")
        assert not ratelimits.peek("g", "ip", "2/minute", batched=True).allowed
