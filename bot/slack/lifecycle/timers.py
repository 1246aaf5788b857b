"""Timers of pauses (reminders, deadlines): due times in one sorted set, claimed atomically.

A member is `"<kind> <thread> <checkpoint>"`, its score the due time in ms. `claim` moves every
due member a lease ahead in the same Lua step that finds it, so exactly one process gets it; that
process then re-schedules or removes it. A process that dies holding one lets it fall due again
when the lease ends, and the pause's own status makes acting twice a no-op. On Redis they survive
restarts; in memory they live in the one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot import keys
from bot.slack.coalesce import Steps

Kind = Literal["remind", "deadline"]
KINDS: tuple[Kind, ...] = ("remind", "deadline")
LEASE_S = 30.0  # a claimed timer falls due again after this long if its process never finished it


@dataclass(frozen=True)
class Timer:
    kind: Kind
    thread_id: str
    checkpoint_id: str

    @property
    def member(self) -> str:
        return f"{self.kind} {self.thread_id} {self.checkpoint_id}"

    @classmethod
    def parse(cls, raw: str | bytes) -> Timer | None:
        parts = (raw.decode() if isinstance(raw, bytes) else raw).split(" ")
        if len(parts) != 3 or parts[0] not in KINDS:
            return None
        return cls(parts[0], parts[1], parts[2])  # type: ignore[arg-type]


class Timers(Protocol):
    async def schedule(self, timer: Timer, due: float) -> None: ...

    async def cancel(self, thread_id: str, checkpoint_id: str) -> None: ...

    async def done(self, timer: Timer) -> None: ...

    async def claim(self, now: float, limit: int = 50) -> list[Timer]:
        """The timers due at `now`, each handed to exactly one caller."""

    async def due(self, timer: Timer) -> float | None: ...


class MemoryTimers:
    def __init__(self) -> None:
        self._due: dict[str, float] = {}

    async def schedule(self, timer: Timer, due: float) -> None:
        self._due[timer.member] = due

    async def cancel(self, thread_id: str, checkpoint_id: str) -> None:
        for kind in KINDS:
            self._due.pop(Timer(kind, thread_id, checkpoint_id).member, None)

    async def done(self, timer: Timer) -> None:
        self._due.pop(timer.member, None)

    async def claim(self, now: float, limit: int = 50) -> list[Timer]:
        found = sorted((due, member) for member, due in self._due.items() if due <= now)[:limit]
        for _, member in found:
            self._due[member] = now + LEASE_S
        return [t for _, member in found if (t := Timer.parse(member))]

    async def due(self, timer: Timer) -> float | None:
        return self._due.get(timer.member)


# Finds the due members and leases them in one step: KEYS[1] the set, ARGV now (ms), lease (ms), limit.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
end
return due
"""


class RedisTimers:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._steps = Steps(redis)

    async def schedule(self, timer: Timer, due: float) -> None:
        await self._redis.zadd(keys.TIMERS, {timer.member: int(due * 1000)})

    async def cancel(self, thread_id: str, checkpoint_id: str) -> None:
        members = [Timer(k, thread_id, checkpoint_id).member for k in KINDS]
        await self._steps.one("ZREM", keys.TIMERS, *members)  # with the burst's other steps: every decision does this

    async def done(self, timer: Timer) -> None:
        await self._redis.zrem(keys.TIMERS, timer.member)

    async def claim(self, now: float, limit: int = 50) -> list[Timer]:
        found = await self._claim(keys=[keys.TIMERS], args=[int(now * 1000), int(LEASE_S * 1000), limit])
        return [t for raw in found if (t := Timer.parse(raw))]

    async def due(self, timer: Timer) -> float | None:
        score = await self._redis.zscore(keys.TIMERS, timer.member)
        return None if score is None else float(score) / 1000
