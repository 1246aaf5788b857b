"""Where the bot keeps its pauses: Redis when there is one (shared by every bot process), else memory.

Keys of one thread share its hash tag, so every multi-key step is one slot (Redis Cluster):
  sluice:{<thread>}:slack:current             the checkpoint id of the thread's pending pause
  sluice:{<thread>}:slack:pause:<checkpoint>  hash: data (Pause JSON), status
  sluice:{<thread>}:slack:decided:<checkpoint> hash: slot -> SlotDecision JSON
Two indexes, one key each: pending pauses by channel, and pause by posted message (channel, ts).
A decision is recorded by one Lua script, so two clicks anywhere make exactly one resume.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.slack.pause import Pause
from bot.slack.prompts import SlotDecision
from engine.checkpoint.keys import PREFIX, thread_tag

TTL_S = 30 * 24 * 3600
Outcome = Literal["unknown", "stale", "closed", "taken", "recorded", "complete"]


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    decided: Mapping[str, SlotDecision]


class PauseStore(Protocol):
    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        """Stores a pending pause and makes it the thread's current one.

        Returns whether it is new (a pause reported twice is posted once) and the previous current id.
        """

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None: ...

    async def current(self, thread_id: str) -> str | None: ...

    async def set_posted(self, pause: Pause) -> None:
        """Saves where the pause's message is (channel, ts) and indexes it by message."""

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None: ...

    async def decide(self, pause: Pause, slot: str, decision: SlotDecision) -> Recorded:
        """Records one slot's decision if the pause is current, pending and the slot undecided."""

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]: ...

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None: ...

    async def undo(self, pause: Pause, slot: str) -> None:
        """Forgets a slot's decision and reopens the pause (its resume could not be started)."""

    async def close(self, pause: Pause, status: str) -> None:
        """Marks the pause done (decided / stale / answered elsewhere) and drops it from the index."""

    async def leave(self, thread_id: str) -> str | None:
        """The thread has no pending pause any more; returns the one that was current."""

    async def pending(self, channel: str) -> list[tuple[str, str]]: ...


def _decoded(raw: Mapping[Any, Any]) -> dict[str, SlotDecision]:
    return {(k.decode() if isinstance(k, bytes) else k): SlotDecision.from_json(json.loads(v)) for k, v in raw.items()}


# --- memory ---------------------------------------------------------------------------------


class MemoryPauseStore:
    """One process only; every method runs without awaiting, so each is atomic under asyncio."""

    def __init__(self) -> None:
        self._pauses: dict[tuple[str, str], Pause] = {}
        self._status: dict[tuple[str, str], str] = {}
        self._decided: dict[tuple[str, str], dict[str, SlotDecision]] = {}
        self._current: dict[str, str] = {}
        self._messages: dict[tuple[str, str], tuple[str, str]] = {}

    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        key = (pause.thread_id, pause.checkpoint_id)
        previous = self._current.get(pause.thread_id)
        created = key not in self._pauses
        if created:
            self._pauses[key] = pause
            self._status[key] = "pending"
            self._decided[key] = {}
        self._current[pause.thread_id] = pause.checkpoint_id
        return created, previous if previous != pause.checkpoint_id else None

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None:
        return self._pauses.get((thread_id, checkpoint_id))

    async def current(self, thread_id: str) -> str | None:
        return self._current.get(thread_id)

    async def set_posted(self, pause: Pause) -> None:
        key = (pause.thread_id, pause.checkpoint_id)
        self._pauses[key] = pause
        if pause.placement and pause.ts:
            self._messages[(pause.placement.channel, pause.ts)] = key

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None:
        return self._messages.get((channel, ts))

    async def decide(self, pause: Pause, slot: str, decision: SlotDecision) -> Recorded:
        key = (pause.thread_id, pause.checkpoint_id)
        if key not in self._pauses:
            return Recorded("unknown", {})
        decided = self._decided[key]
        if self._current.get(pause.thread_id) != pause.checkpoint_id:
            return Recorded("stale", dict(decided))
        if self._status[key] != "pending":
            return Recorded("closed", dict(decided))
        if slot in decided:
            return Recorded("taken", dict(decided))
        decided[slot] = decision
        if len(decided) >= len(pause.slot_keys()):
            self._status[key] = "resuming"
            return Recorded("complete", dict(decided))
        return Recorded("recorded", dict(decided))

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]:
        return dict(self._decided.get((thread_id, checkpoint_id), {}))

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None:
        return self._status.get((thread_id, checkpoint_id))

    async def undo(self, pause: Pause, slot: str) -> None:
        key = (pause.thread_id, pause.checkpoint_id)
        self._decided.get(key, {}).pop(slot, None)
        if key in self._status:
            self._status[key] = "pending"

    async def close(self, pause: Pause, status: str) -> None:
        self._status[(pause.thread_id, pause.checkpoint_id)] = status

    async def leave(self, thread_id: str) -> str | None:
        return self._current.pop(thread_id, None)

    async def pending(self, channel: str) -> list[tuple[str, str]]:
        out = []
        for (thread_id, checkpoint_id), pause in sorted(self._pauses.items(), key=lambda kv: kv[1].created_at):
            if (
                self._status.get((thread_id, checkpoint_id)) == "pending"
                and self._current.get(thread_id) == checkpoint_id
                and pause.placement is not None
                and pause.placement.channel == channel
            ):
                out.append((thread_id, checkpoint_id))
        return out


# --- redis ----------------------------------------------------------------------------------

# KEYS: current, pause, decided. ARGV: checkpoint id, slot, decision JSON, slots needed.
_DECIDE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return {'unknown'} end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'stale'} end
if redis.call('HGET', KEYS[2], 'status') ~= 'pending' then return {'closed'} end
if redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[3]) == 0 then return {'taken'} end
redis.call('EXPIRE', KEYS[3], ARGV[5])
if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[2], 'status', 'resuming')
  return {'complete'}
end
return {'recorded'}
"""

# KEYS: current, pause, decided. ARGV: checkpoint id, pause JSON, ttl. Returns {created, previous id or ''}.
_OPEN = """
local previous = redis.call('GET', KEYS[1])
local created = redis.call('HSETNX', KEYS[2], 'data', ARGV[2])
redis.call('HSETNX', KEYS[2], 'status', 'pending')
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if previous == ARGV[1] then previous = '' end
return {created, previous or ''}
"""


# KEYS: current, pause, decided. ARGV: slot. Gives the slot back after a resume that failed.
_UNDO = """
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[2], 'status', 'pending')
return 1
"""


class RedisPauseStore:
    def __init__(self, redis: Any) -> None:
        self._r = redis
        self._decide = redis.register_script(_DECIDE)
        self._open = redis.register_script(_OPEN)
        self._undo = redis.register_script(_UNDO)

    def _k(self, thread_id: str, *rest: str) -> str:
        return ":".join((f"{thread_tag(thread_id)}:slack", *rest))

    def _keys(self, thread_id: str, checkpoint_id: str) -> list[str]:
        return [
            self._k(thread_id, "current"),
            self._k(thread_id, "pause", checkpoint_id),
            self._k(thread_id, "decided", checkpoint_id),
        ]

    def _index(self, channel: str) -> str:
        return f"{PREFIX}:slack:pending:{channel}"

    def _message(self, channel: str, ts: str) -> str:
        return f"{PREFIX}:slack:message:{channel}:{ts}"

    @staticmethod
    def _s(value: Any) -> str | None:
        return value.decode() if isinstance(value, bytes) else value

    async def open(self, pause: Pause) -> tuple[bool, str | None]:
        keys = self._keys(pause.thread_id, pause.checkpoint_id)
        created, previous = await self._open(keys=keys, args=[pause.checkpoint_id, pause.to_json(), TTL_S])
        if pause.placement:  # indexed before it is posted: a pause Slack refused can be re-posted
            member = f"{pause.thread_id} {pause.checkpoint_id}"
            await self._r.zadd(self._index(pause.placement.channel), {member: pause.created_at})
        return bool(created), self._s(previous) or None

    async def get(self, thread_id: str, checkpoint_id: str) -> Pause | None:
        raw = await self._r.hget(self._k(thread_id, "pause", checkpoint_id), "data")
        return Pause.from_json(raw) if raw else None

    async def current(self, thread_id: str) -> str | None:
        return self._s(await self._r.get(self._k(thread_id, "current")))

    async def set_posted(self, pause: Pause) -> None:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.hset(self._k(pause.thread_id, "pause", pause.checkpoint_id), "data", pause.to_json())
            if pause.placement and pause.ts:
                member = f"{pause.thread_id} {pause.checkpoint_id}"
                pipe.set(self._message(pause.placement.channel, pause.ts), member, ex=TTL_S)
            await pipe.execute()

    async def by_message(self, channel: str, ts: str) -> tuple[str, str] | None:
        raw = self._s(await self._r.get(self._message(channel, ts)))
        if not raw:
            return None
        thread_id, checkpoint_id = raw.split(" ", 1)
        return thread_id, checkpoint_id

    async def decide(self, pause: Pause, slot: str, decision: SlotDecision) -> Recorded:
        keys = self._keys(pause.thread_id, pause.checkpoint_id)
        args = [pause.checkpoint_id, slot, json.dumps(decision.to_json()), len(pause.slot_keys()), TTL_S]
        (outcome,) = await self._decide(keys=keys, args=args)
        decided = await self.decided(pause.thread_id, pause.checkpoint_id)
        return Recorded(self._s(outcome), decided)  # type: ignore[arg-type]

    async def decided(self, thread_id: str, checkpoint_id: str) -> dict[str, SlotDecision]:
        return _decoded(await self._r.hgetall(self._k(thread_id, "decided", checkpoint_id)))

    async def status(self, thread_id: str, checkpoint_id: str) -> str | None:
        return self._s(await self._r.hget(self._k(thread_id, "pause", checkpoint_id), "status"))

    async def undo(self, pause: Pause, slot: str) -> None:
        await self._undo(keys=self._keys(pause.thread_id, pause.checkpoint_id), args=[slot])

    async def close(self, pause: Pause, status: str) -> None:
        await self._r.hset(self._k(pause.thread_id, "pause", pause.checkpoint_id), "status", status)
        if pause.placement:
            await self._r.zrem(self._index(pause.placement.channel), f"{pause.thread_id} {pause.checkpoint_id}")

    async def leave(self, thread_id: str) -> str | None:
        return self._s(await self._r.getdel(self._k(thread_id, "current")))

    async def pending(self, channel: str) -> list[tuple[str, str]]:
        members = await self._r.zrange(self._index(channel), 0, -1)
        out = []
        for raw in members:
            thread_id, checkpoint_id = self._s(raw).split(" ", 1)  # type: ignore[union-attr]
            if (
                await self.current(thread_id) == checkpoint_id
                and await self.status(thread_id, checkpoint_id) == "pending"
            ):
                out.append((thread_id, checkpoint_id))
            else:
                await self._r.zrem(self._index(channel), raw)
        return out
