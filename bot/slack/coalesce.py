"""The Slack stores' Redis steps, batched (`engine.checkpoint.pipelining`): a burst of clicks shares round trips.

Under a burst (a hundred clicks at once) each command redis-py sends on its own costs about 250 µs
of CPU (a pooled connection each, a socket write each, on Python 3.11 a task per send) against
about 15 µs in a pipeline, and the acks wait for all of it. The pause store, the resumptions and
the timers of one client share one `Batcher`: a step (one command, or a few) leaves at once when
nothing is on the wire, else with every step asked for meanwhile.

A step's commands may run in any order on Redis Cluster (a pipeline there spans nodes): a step
whose commands must run in order is not one step.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from redis.exceptions import NoScriptError

from engine.checkpoint.pipelining import Batcher, Command

_SHARED: weakref.WeakKeyDictionary[Any, Batcher] = weakref.WeakKeyDictionary()


class Steps:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        if redis not in _SHARED:
            _SHARED[redis] = Batcher(redis)
        self._batcher = _SHARED[redis]
        self._scripts: dict[str, str] = {}  # sha -> source, of the scripts sent in steps
        self._loading: dict[str, asyncio.Future[Any]] = {}  # sha -> its SCRIPT LOAD on the wire
        from redis.asyncio.cluster import RedisCluster

        self.ordered = not isinstance(redis, RedisCluster)  # one server runs a step's commands in order

    async def run(self, *commands: Command) -> list[Any]:
        """The replies to a step's commands; the first error among them is raised. A script Redis
        does not know (new, or Redis restarted) did not run: it is loaded and run again."""
        replies = await self._batcher.run(*commands)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                await self._load(commands[i][1])
                replies[i] = reply = (await self._batcher.run(commands[i]))[0]
            if isinstance(reply, Exception):
                raise reply
        return list(replies)

    async def _load(self, sha: str) -> None:
        """Loads the script once for every step that found it missing at the same time: after a
        Redis restart, a burst of clicks would otherwise send a SCRIPT LOAD each, each on a pooled
        connection of its own (a hundred clicks: as many connections as the pool holds)."""
        loading = self._loading.get(sha)
        if loading is None:
            loading = self._loading[sha] = asyncio.ensure_future(self._redis.script_load(self._scripts[sha]))
            loading.add_done_callback(lambda _: self._loading.pop(sha, None))
        await asyncio.shield(loading)  # one caller cancelled leaves the load to the others

    async def one(self, *command: Any) -> Any:
        (reply,) = await self.run(command)
        return reply

    def script(self, script: Any, script_keys: list[str], args: list[Any]) -> Command:
        """A registered script's call, as a command of a step."""
        self._scripts.setdefault(script.sha, script.script)
        return ("EVALSHA", script.sha, len(script_keys), *script_keys, *args)
