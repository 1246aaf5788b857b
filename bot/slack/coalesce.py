"""Redis commands of many coroutines sent as one pipeline: a burst of clicks shares its round trips.

Under a burst (a hundred clicks at once) each command redis-py sends on its own costs about 250 µs
of CPU (a pooled connection each, a socket write each, and on Python 3.11 a task per send), against
about 15 µs in a pipeline; the acks wait for all of it. Commands queued here during one turn of the
event loop go out together at the end of that turn, in one pipeline (not a transaction: each caller
gets its own answers, in the order it queued them). One caller alone waits one loop turn more.

Redis Cluster clients are not coalesced (a pipeline there spans nodes): callers get None from
`Coalescer.of` and send their commands as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from redis.exceptions import NoScriptError

Fill = Callable[[Any], None]  # adds a caller's commands to the pipeline
_SHARED: weakref.WeakKeyDictionary[Any, Coalescer] = weakref.WeakKeyDictionary()


class Coalescer:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._queued: list[tuple[Fill, asyncio.Future[list[Any]]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    @classmethod
    def of(cls, redis: Any) -> Coalescer | None:
        """The one coalescer of this client (every store of the bot shares its pipelines), or None."""
        from redis.asyncio.cluster import RedisCluster

        if isinstance(redis, RedisCluster):
            return None
        if redis not in _SHARED:
            _SHARED[redis] = cls(redis)
        return _SHARED[redis]

    async def run(self, fill: Fill) -> list[Any]:
        """The answers to the commands `fill` adds; the first error among them is raised."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Any]] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._send_queued)  # runs after every callback ready now: the burst is in
        self._queued.append((fill, answer))
        return await answer

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Fill, asyncio.Future[list[Any]]]]) -> None:
        spans: list[tuple[int, int]] = []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for fill, _ in batch:
                    start = len(pipe)
                    fill(pipe)
                    spans.append((start, len(pipe)))
                answers = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # the whole pipeline failed: every caller gets the error
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc if isinstance(exc, Exception) else ConnectionError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for (start, end), (_, answer) in zip(spans, batch, strict=True):
            mine = answers[start:end]
            error = next((a for a in mine if isinstance(a, Exception)), None)
            if answer.done():  # its caller was cancelled
                continue
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(mine)


async def scripted(together: Coalescer | None, script: Any, script_keys: list[str], args: list[Any]) -> Any:
    """A registered script's answer, sent with the burst's other commands when coalescing (loaded
    on first use: a script Redis does not know yet is not run, then sent on its own)."""
    if together is not None:
        try:
            (answer,) = await together.run(lambda pipe: pipe.evalsha(script.sha, len(script_keys), *script_keys, *args))
            return answer
        except NoScriptError:
            pass
    return await script(keys=script_keys, args=args)
