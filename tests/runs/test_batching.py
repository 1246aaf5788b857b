"""Automatic pipelining of Redis steps (`engine.checkpoint.pipelining`) on one Redis and a Redis Cluster: steps asked
for at once share exchanges, each step's commands run in its order, and an error stays its step's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError, DataError, ResponseError

from engine.checkpoint.pipelining import Batcher, pack, pack_in_python
from tests.conftest import async_client, free_port
from tests.waiting import eventually


@pytest.fixture(params=["redis", "cluster"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    made = async_client(request, request.param)
    yield made
    await made.aclose()


async def test_steps_asked_for_at_once_share_exchanges_and_keep_their_order(client: Any) -> None:
    batcher = Batcher(client)

    async def step(i: int) -> list[Any]:
        key = f"{{t{i}}}:k"  # one thread's keys: one slot, one node on a Cluster
        return await batcher.run(("DEL", key), ("RPUSH", key, "a"), ("RPUSH", key, "b"), ("LRANGE", key, 0, -1))

    replies = await asyncio.gather(*(step(i) for i in range(50)))
    assert all(r[1:] == [1, 2, [b"a", b"b"]] for r in replies)  # each step's commands ran in its order
    assert batcher.steps == 50 and batcher.round_trips < 50


async def test_a_failed_command_is_its_own_steps_reply(client: Any) -> None:
    batcher = Batcher(client)
    await client.set("{e}:text", "x")
    failing, fine = await asyncio.gather(batcher.run(("INCR", "{e}:text"), ("GET", "{e}:text")),
                                         batcher.run(("SET", "{e}:other", "1"), ("GET", "{e}:other")))
    assert isinstance(failing[0], ResponseError) and failing[1] == b"x"
    assert fine == [True, b"1"]
    (alone,) = await batcher.run(("INCR", "{e}:text"))  # sent on its own: the error is still a reply
    assert isinstance(alone, ResponseError)


async def test_replies_read_past_a_resp3_push_message_and_keep_their_types(redis_url: str) -> None:
    """On its own connections (a deadline set: the replies are read straight from the hiredis reader),
    a RESP3 push message that Redis sends between replies (a client-side caching invalidation here) goes
    to redis-py's push handling and is never taken for a reply; replies get their response callbacks
    and a command's error stays a reply, as on redis-py's own path."""
    client = aioredis.from_url(redis_url, protocol=3, socket_timeout=5)
    other = aioredis.from_url(redis_url)
    try:
        batcher = Batcher(client)
        tracking = await batcher.run(("CLIENT", "TRACKING", "ON"), ("SET", "push:k", "1"), ("GET", "push:k"))
        assert tracking[1:] == [True, b"1"]
        await other.set("push:k", "2")  # Redis queues an invalidation push on the batcher's connection
        replies = await batcher.run(("GET", "push:k"), ("INCR", "push:k"), ("HSET", "push:h", "f", "v"),
                                    ("HGETALL", "push:h"), ("LPUSH", "push:k", "x"))
        assert replies[:4] == [b"2", 3, 1, {b"f": b"v"}]
        assert isinstance(replies[4], ResponseError)  # WRONGTYPE: the command's own error, as a reply
        assert await batcher.run(("GET", "push:k")) == [b"3"]
    finally:
        await client.aclose()
        await other.aclose()


async def test_a_lost_connection_fails_every_step_that_waited_on_it() -> None:
    nowhere = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        batcher = Batcher(nowhere)
        outcomes = await asyncio.gather(*(batcher.run(("GET", "k")) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(o, ConnectionError) for o in outcomes)
    finally:
        await nowhere.aclose()


async def test_a_connection_killed_or_a_step_cancelled_midway_costs_no_reply(redis_url: str) -> None:
    """On one server the batcher keeps connections of its own: one Redis closed is reopened, and one
    left with a reply still to come (its step cancelled) is dropped, so no later step reads that reply."""
    control, client = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        batcher = Batcher(client)
        assert await batcher.run(("SET", "{c}:x", "1")) == [True]
        await control.client_kill_filter(skipme=True)  # every other connection, the batcher's too
        assert await batcher.run(("GET", "{c}:x")) == [b"1"]
        waiting = asyncio.ensure_future(batcher.run(("BLPOP", "{c}:list", 30)))
        await eventually(lambda: _blocked(control), what="the step blocking in Redis")
        waiting.cancel()
        await control.rpush("{c}:list", "late")  # the cancelled step's reply, had its connection stayed
        assert await batcher.run(("GET", "{c}:x")) == [b"1"]
    finally:
        await client.aclose()
        await control.aclose()


async def _blocked(control: Any) -> bool:
    return int((await control.info("clients"))["blocked_clients"]) == 1


def test_commands_are_packed_as_redis_py_packs_them() -> None:
    conn = Connection()
    commands: tuple[tuple[Any, ...], ...] = (
        ("EVALSHA", "abc", 2, "sluice:{t}:cp", "k2", "", "héllo ✓", b"\x00bin\r\n", 0, -17, 2**70),
        ("SET", "big", b"x" * 100_000),  # redis-py sends a large argument as a buffer of its own
        ("ZADD", "z", 1.5, "m", float("inf"), "n"),
        ("SET", "view", memoryview(b"from a view")),
        ("CLIENT ID",),  # a command name of two words is two arguments
        (b"PING",),
    )
    one_word = tuple(c for c in commands if c[0] != "CLIENT ID")  # hiredis's packer packs these
    latin = Connection(encoding="latin-1")  # not UTF-8: packed in Python
    for packer in (pack, pack_in_python):
        for some in (commands, one_word, commands[:1], ()):
            assert packer(conn, some) == b"".join(conn.pack_commands(some))
        assert packer(latin, (("SET", "k", "héllo"),)) == b"".join(latin.pack_commands((("SET", "k", "héllo"),)))
        with pytest.raises(DataError):  # as redis-py: a bool is refused, not sent as 1/0
            packer(conn, (("SET", "k", True),))
