"""The service's redis-py clients: retries, deadlines, and writes bounded by a timer instead of a task.

Every exchange with Redis is bounded by `socket_timeout`: a Redis that stops answering (a paused
process, a partition that drops packets) fails the command with redis-py's TimeoutError, which the
retry policy treats as a connection failure. redis-py bounds a read with an `asyncio.timeout` (a
timer), but on Python 3.11 it bounds a write with `asyncio.wait_for`, which runs the write in a task
of its own and adds an event-loop pass to every command or pipeline sent. The single server's
connections here write at once, and arm a timer only when the write has to wait: a command the kernel
takes whole (a few KiB: nearly every one) has nothing left to wait for, and one that fills the socket
buffer waits for it to drain under the same deadline, failing with the same error. A Redis Cluster's
connections, on every node, write the same way (`cluster_client`).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_RETRIES = 6
SOCKET_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 100
CLUSTER_CONNECTIONS_PER_NODE = 1000


def redis_retries(socket_timeout: float = SOCKET_TIMEOUT_S) -> dict[str, Any]:
    """Connection errors and timeouts are retried with backoff (about 2 s in all): a pooled
    connection that a Redis restart or failover closed fails its next command, and without this
    that command's click or runs.wait failed. Every script is safe to run twice (see each one)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError, TimeoutError

    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), REDIS_RETRIES),
        "retry_on_error": [ConnectionError, TimeoutError],
        "socket_connect_timeout": 5,
        "socket_timeout": socket_timeout,
        "health_check_interval": 0,
    }


def single_server_client(url: str, socket_timeout: float = SOCKET_TIMEOUT_S) -> Redis:
    """The client of one Redis server. Under a burst (a hundred clicks at once) more commands are in
    flight than redis-py's default pool of 100 connections allows, and its default pool then fails
    them: this one waits for a connection instead."""
    pool = BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=30,
                                           **redis_retries(socket_timeout))
    pool.connection_class = timer_bounded_writes(pool.connection_class)  # TCP, TLS or a Unix socket, as the URL says
    return Redis.from_pool(pool)


def cluster_client(url: str, socket_timeout: float = SOCKET_TIMEOUT_S, **options: Any) -> RedisCluster:
    """The client of a Redis Cluster (`url`: any node), with the single server's retries and deadline.
    A cluster's node pools cannot block, so they allow more connections per node instead.

    RedisCluster picks its connection class itself (TCP, or TLS for rediss://) and keeps it in its
    connection kwargs, from which it builds every node it discovers: the bounded class goes there,
    and on the startup nodes already built, before any node connects."""
    client = RedisCluster.from_url(url, **{"max_connections": CLUSTER_CONNECTIONS_PER_NODE,
                                           **redis_retries(socket_timeout), **options})
    kwargs = client.get_connection_kwargs()
    bounded: Any = timer_bounded_writes(cast(type[AbstractConnection], kwargs["connection_class"]))
    kwargs["connection_class"] = bounded
    for node in client.startup_nodes:
        node.connection_class = bounded
    return client


class _TimerBoundedWrites(AbstractConnection):
    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        limit = self.socket_timeout
        if not limit or not self.is_connected or (check_health and self.health_check_interval):
            # Connecting (rare) reads Redis's replies, a health check sends a PING of its own: redis-py's
            # own path, bounded by a timer.
            await self._bounded_send(command, check_health, limit)
            return
        writer = self._writer
        assert writer is not None
        chunks = [command.encode() if isinstance(command, str) else command] if isinstance(
            command, (bytes, str)) else command
        try:
            writer.writelines(chunks)
        except BaseException:  # as redis-py: a half-written command leaves the connection unusable
            await self.disconnect(nowait=True)
            raise
        if writer.transport.get_write_buffer_size() == 0 and not writer.transport.is_closing():
            # The kernel took every byte (the usual case): nothing can wait, so no deadline to arm.
            return
        # The rest waits in the transport's buffer, or the connection is going away: redis-py's path,
        # with nothing more to write, waits for the buffer to drain (or raises), under the deadline.
        await self._bounded_send(b"", False, limit)

    async def _bounded_send(self, command: Any, check_health: bool, limit: float | None) -> None:
        if not limit:
            await super().send_packed_command(command, check_health)
            return
        # The parent writes with no deadline of its own while this one bounds it (one connection
        # serves one caller at a time, so nothing else reads socket_timeout meanwhile).
        self.socket_timeout = None
        try:
            async with asyncio.timeout(limit):
                await super().send_packed_command(command, check_health)
        except TimeoutError:  # the parent disconnected on the cancellation, as on its own timeout
            raise RedisTimeoutError("Timeout writing to socket") from None
        finally:
            self.socket_timeout = limit


_bounded: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def timer_bounded_writes(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    """`cls` (redis-py's TCP, TLS or Unix socket connection) with its writes bounded by a timer."""
    if issubclass(cls, _TimerBoundedWrites):
        return cls
    if cls not in _bounded:
        _bounded[cls] = type(f"TimerBounded{cls.__name__}", (_TimerBoundedWrites, cls), {})
    return _bounded[cls]
