"""The Redis channel layer as configured: quiet consumers stay up, cancelled receives end.

Both failures were seen on the production configuration: with redis-py 8's default 5 s socket
timeout every idle WebSocket closed with 1011 after one empty BZPOPMIN; with a longer finite
timeout, a receive cancelled as a socket closed sometimes never ended and hung shutdown.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

pytestmark = pytest.mark.services


def fresh_layer() -> RedisChannelLayer:
    """A layer built from the settings, with pools of its own (the loop is the test's)."""
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    return RedisChannelLayer(**config)


def test_the_process_layer_is_redis() -> None:
    assert isinstance(get_channel_layer(), RedisChannelLayer)


def test_a_quiet_receive_outlives_the_blocking_read_and_redis_py_default_timeout() -> None:
    """Nothing arrives for longer than BZPOPMIN's 5 s and redis-py's default socket timeout."""
    layer = fresh_layer()
    wait = layer.brpop_timeout + 1.5

    async def body() -> None:
        channel = await layer.new_channel()
        with pytest.raises(asyncio.TimeoutError):
            # Only our own deadline may end the wait: a redis TimeoutError here is the bug.
            await asyncio.wait_for(layer.receive(channel), timeout=wait)
        await layer.send(channel, {"type": "still.there"})
        assert (await layer.receive(channel))["type"] == "still.there"
        await layer.close_pools()

    async_to_sync(body)()


def test_receives_cancelled_as_sockets_close_all_end_promptly() -> None:
    """Cancel 200 receives a few milliseconds in, some twice (as consumer teardown does)."""
    hung: list[int] = []

    async def one(layer: RedisChannelLayer, i: int) -> None:
        channel = await layer.new_channel()
        task = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep((i % 10) / 1000)
        task.cancel()
        if i % 2:
            await asyncio.sleep(0)
            task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        if not done:
            hung.append(i)
            task.cancel()

    async def body() -> None:
        for batch in range(10):
            layer = fresh_layer()  # new pools: cancels also land while connecting
            await asyncio.gather(*(one(layer, batch * 20 + i) for i in range(20)))
            await layer.close_pools()

    async_to_sync(body)()
    assert hung == []
