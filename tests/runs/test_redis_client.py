"""The service's single-server Redis client (`bot.redis_client`): a Redis that stops answering fails
a command within a bounded time, whether it stops reading what is written or stops replying, and
the client works again once Redis answers; the URL's transport (TCP, TLS, Unix socket) is kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.redis_client import REDIS_RETRIES, single_server_client
from tests.processes import RedisProxy

DEADLINE_S = 0.3
# Every attempt waits out its deadline, and the retries' backoff (at most 0.5 s each) comes on top.
BOUND_S = (REDIS_RETRIES + 1) * DEADLINE_S + REDIS_RETRIES * 0.5 + 2


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[RedisProxy]:
    running = await RedisProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])).start()
    yield running
    await running.close()


async def test_a_redis_that_stops_answering_fails_the_command_in_bounded_time(proxy: RedisProxy) -> None:
    client = single_server_client(proxy.url, socket_timeout=DEADLINE_S)
    try:
        assert await client.ping()
        proxy.hold()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):  # retried as a lost connection first, each attempt bounded
            await asyncio.wait_for(client.get("key"), BOUND_S * 2)
        assert time.monotonic() - started < BOUND_S
        proxy.release()
        assert await client.set("after", "1") and await client.get("after") == b"1"  # answers again
    finally:
        proxy.release()
        await client.aclose()


async def test_a_redis_that_stops_reading_fails_the_write_at_its_deadline(proxy: RedisProxy) -> None:
    client = single_server_client(proxy.url, socket_timeout=DEADLINE_S)
    conn = await client.connection_pool.get_connection()
    try:
        await conn.send_packed_command(conn.pack_command("PING"))
        assert await conn.read_response() == b"PONG"
        proxy.hold()
        started = time.monotonic()
        # More than the socket buffers on both sides hold: the write itself waits, and its deadline fires.
        with pytest.raises(RedisTimeoutError, match="writing"):
            await asyncio.wait_for(conn.send_packed_command(conn.pack_command("SET", "big", b"x" * (32 << 20))), 5)
        assert time.monotonic() - started < DEADLINE_S + 1
        assert not conn.is_connected and conn.socket_timeout == DEADLINE_S  # dropped; its deadline unchanged
    finally:
        proxy.release()
        await client.connection_pool.release(conn)
    assert await client.ping()  # a new connection for the next command
    await client.aclose()


@pytest.mark.parametrize(("url", "transport"), [
    ("redis://127.0.0.1:1/0", Connection),
    ("rediss://127.0.0.1:1/0", SSLConnection),
    ("unix:///tmp/redis.sock", UnixDomainSocketConnection),
])
def test_the_url_keeps_its_transport(url: str, transport: type) -> None:
    client = single_server_client(url)
    assert issubclass(client.connection_pool.connection_class, transport)


async def test_a_connection_redis_closed_fails_its_next_write_or_read_and_the_command_is_retried(redis_url: str) -> None:
    # A write the kernel takes whole arms no deadline: a connection the server has closed meanwhile
    # must still surface as a lost connection (on the write or on the reply), which the retry policy
    # answers with a new connection.
    client = single_server_client(redis_url, socket_timeout=DEADLINE_S)
    admin = single_server_client(redis_url)
    try:
        assert await client.set("k", "1")
        conn = await client.connection_pool.get_connection()
        await conn.send_packed_command(conn.pack_command("CLIENT", "ID"), check_health=False)
        own_id = await conn.read_response()
        await client.connection_pool.release(conn)
        assert await admin.client_kill_filter(_id=own_id) == 1
        assert await client.get("k") == b"1"  # the killed connection failed, a new one answered
    finally:
        await client.aclose()
        await admin.aclose()
