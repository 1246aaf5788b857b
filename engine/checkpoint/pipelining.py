"""Automatic pipelining: commands issued while a batch is on the wire leave together as the next one.

Each command still gets its own reply (and its own error); it just shares a network exchange with
whatever other threads asked for at the same moment. A lone command goes out at once, on its own, so
latency stays one round trip; under load, a thousand threads cost a few large round trips instead of a
thousand small ones, and redis-py's per-call overhead (pool checkout, timeouts) is paid per batch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis, RedisCluster


class Pipeliner:
    """Batches commands onto one redis-py pipeline (no MULTI: replies are independent)."""

    def __init__(self, client: Redis | RedisCluster) -> None:
        self.client = client
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._direct = 0  # commands sent on their own, still waiting for their reply
        self.commands = 0  # sent so far, and in how many network round trips: for metrics and the bench
        self.round_trips = 0

    async def execute(self, *args: Any) -> Any:
        if self._direct == 0 and self._sender is None:
            # Nothing else on the wire: a plain command is quicker than a pipeline of one.
            self._direct += 1
            self.commands += 1
            self.round_trips += 1
            try:
                return await self.client.execute_command(*args)
            finally:
                self._direct -= 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((args, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all())
        return await future

    async def _send_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        self.commands += len(batch)
        self.round_trips += 1
        pipe = self.client.pipeline(transaction=False)
        for args, _ in batch:
            pipe.execute_command(*args)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: every command of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its caller gave up waiting
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
