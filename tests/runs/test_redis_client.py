"""The service's Redis clients (`bot.redis_client`): a Redis that stops answering fails a command
within a bounded time, whether it stops reading what is written or stops replying, and the client
works again once Redis answers; the URL's transport (TCP, TLS, Unix socket) is kept. A Redis
Cluster's nodes, those given and those discovered, bound their writes the same way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.redis_client import REDIS_RETRIES, cluster_client, single_server_client, timer_bounded_writes
from engine.checkpoint.pipelining import Batcher
from tests.processes import RedisProxy

DEADLINE_S = 0.3
# Every attempt waits out its deadline, and the retries' backoff (at most 0.5 s each) comes on top.
BOUND_S = (REDIS_RETRIES + 1) * DEADLINE_S + REDIS_RETRIES * 0.5 + 2


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
        # More than the socket buffers on both sides hold: the write itself waits, and its deadline fires.
        # Packed before the clock starts: packing 32 MiB is CPU work a loaded machine slows, no wait.
        big = conn.pack_command("SET", "big", b"x" * (32 << 20))
        proxy.hold()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError, match="writing"):
            await asyncio.wait_for(conn.send_packed_command(big), 5)
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


@pytest.mark.parametrize(("url", "transport"), [("redis://127.0.0.1:1/0", Connection),
                                                ("rediss://127.0.0.1:1/0", SSLConnection)])
def test_a_cluster_client_keeps_its_transport_with_bounded_writes(url: str, transport: type) -> None:
    client = cluster_client(url)
    for cls in (client.get_connection_kwargs()["connection_class"], client.startup_nodes[0].connection_class):
        assert issubclass(cls, transport) and timer_bounded_writes(cls) is cls  # bounded already


@pytest.fixture
async def cluster_proxies(redis_cluster_url: str) -> AsyncIterator[dict[int, RedisProxy]]:
    """A proxy in front of every node of the cluster, by the node's port."""
    with redis.Redis.from_url(redis_cluster_url) as probe:
        ports = [int(address.split("@")[0].rsplit(":", 1)[1]) for address in probe.cluster("NODES")]
    proxies = {port: await RedisProxy(port).start() for port in ports}
    yield proxies
    for proxy in proxies.values():
        proxy.release()
        await proxy.close()


async def test_a_cluster_node_that_stops_reading_fails_the_write_at_its_deadline(
    redis_cluster_url: str, cluster_proxies: dict[int, RedisProxy]
) -> None:
    # The nodes the client discovers are reached through the proxies (redis-py's address_remap), so
    # a node can stop reading at a chosen moment.
    by_proxy = {proxy.port: proxy for proxy in cluster_proxies.values()}

    def through_proxy(address: tuple[str, int]) -> tuple[str, int]:  # a proxy's own address stays
        return ("127.0.0.1", cluster_proxies[address[1]].port) if address[1] in cluster_proxies else address

    client = cluster_client(redis_cluster_url, socket_timeout=DEADLINE_S, address_remap=through_proxy)
    try:
        assert await client.set("big", "small")
        node = next(n for n in client.get_nodes() if int(n.port) in by_proxy)  # one the client discovered
        proxy = by_proxy[int(node.port)]
        conn = node.acquire_connection()
        assert timer_bounded_writes(type(conn)) is type(conn)  # a discovered node's connection
        await conn.send_packed_command(conn.pack_command("PING"))
        assert await conn.read_response() == b"PONG"
        proxy.hold()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError, match="writing"):
            await asyncio.wait_for(conn.send_packed_command(conn.pack_command("SET", "big", b"x" * (32 << 20))), 30)
        # Its deadline ended it, not the 30 s: copying 32 MiB on a loaded machine takes a while on top.
        assert time.monotonic() - started < DEADLINE_S + 3
        assert not conn.is_connected and conn.socket_timeout == DEADLINE_S  # dropped; its deadline unchanged
        proxy.release()
        node.release(conn)
        assert await client.get("big") == b"small"  # the cut-off SET never ran; the client answers again
    finally:
        for proxy in cluster_proxies.values():
            proxy.release()
        await client.aclose()


async def test_a_batcher_exchange_with_a_redis_that_stops_replying_fails_in_bounded_time(proxy: RedisProxy) -> None:
    # The batcher's own connections bound a reply with its watchdog (no timer per reply): the exchange
    # is cancelled past its deadline and fails like redis-py's own timeout, retried on redis-py's path.
    client = single_server_client(proxy.url, socket_timeout=DEADLINE_S)
    batcher = Batcher(client)
    try:
        assert await batcher.run(("SET", "k", "1"), ("GET", "k")) == [True, b"1"]
        proxy.hold()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await asyncio.wait_for(batcher.run(("GET", "k")), BOUND_S * 2)
        assert time.monotonic() - started < BOUND_S + DEADLINE_S
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]  # its cancel was taken back
        proxy.release()
        assert await batcher.run(("GET", "k")) == [b"1"]  # answers again
        # A caller's own cancel while a reply is awaited stays a cancel.
        proxy.hold()
        waiting = asyncio.ensure_future(batcher.run(("GET", "k")))
        await asyncio.sleep(DEADLINE_S / 3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        proxy.release()
        await client.aclose()
