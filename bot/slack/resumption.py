"""Every complete decision is resumed exactly once, even when the process that recorded it dies or
Redis blips between recording it and starting the resume.

  1. Before a slot's decision is recorded, the pause is put in a due index (`expect`): "look at this
     pause after GRACE_MS". A single-key command, done first, so no crash can skip it.
  2. Whoever recorded the last slot claims the resume (`claim`: a token and a deadline on the pause)
     and submits it under a run id derived from the pause and its attempt number
     (`resume_run_id`): submitting it twice queues it once (the runs layer answers "exists").
  3. Once the run is queued the runs layer owns it (leases, adoption of lapsed runs) and the pause
     is marked `started`.
  4. Any process sweeps the due index: a pause still `resuming` whose claim lapsed (its process died
     before step 3) is claimed again and submitted with the same run id: applied exactly once.
  5. A resume that cannot be submitted gives the decision back (`give_back`: the slot reopens, the
     attempt number grows, so a later click makes a new run id) and the clicker is told.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot import keys
from bot.slack.pause import Pause
from bot.slack.store import MemoryPauseStore

log = logging.getLogger("sluice.slack")

GRACE_MS = 10_000  # a claim this old, on a resume not yet started, belongs to a process that died
SWEEP_EVERY_S = 2.0
SWEEP_BATCH = 100
RUN_IDS = uuid.UUID("5b0c3f0e-6a55-4f4e-9d0c-51c3e0a11d0e")


def resume_run_id(thread_id: str, checkpoint_id: str, attempt: int) -> str:
    """The run id of a pause's resume: the same for every process that submits this attempt."""
    return str(uuid.uuid5(RUN_IDS, f"{thread_id}/{checkpoint_id}/{attempt}"))


@dataclass(frozen=True)
class Claim:
    outcome: Literal["claimed", "busy", "done"]
    attempt: int = 0


class Resumptions(Protocol):
    async def expect(self, pause: Pause) -> None:
        """Puts the pause in the due index (before its decision is recorded)."""

    async def claim(self, pause: Pause, token: str) -> Claim:
        """Takes the resume of a `resuming` pause unless another live claim holds it."""

    async def started(self, pause: Pause, token: str) -> None:
        """The resume is queued in the runs layer: nothing left to adopt."""

    async def give_back(self, pause: Pause, slot: str, token: str) -> bool:
        """Reopens `slot` of a resume that could not be submitted; False if the claim was lost."""

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str]]:
        """Pauses whose grace ran out: (thread id, checkpoint id)."""

    async def forget(self, thread_id: str, checkpoint_id: str) -> None: ...


# --- memory (one process: nothing outlives it, so nothing to adopt) ------------------------------


class MemoryResumptions:
    def __init__(self, store: MemoryPauseStore) -> None:
        self._store = store
        self._claims: dict[tuple[str, str], str] = {}
        self._attempts: dict[tuple[str, str], int] = {}

    async def expect(self, pause: Pause) -> None:
        return None

    async def claim(self, pause: Pause, token: str) -> Claim:
        key = (pause.thread_id, pause.checkpoint_id)
        if await self._store.status(*key) != "resuming":
            return Claim("done")
        if self._claims.get(key, token) != token:
            return Claim("busy")
        self._claims[key] = token
        return Claim("claimed", self._attempts.get(key, 0))

    async def started(self, pause: Pause, token: str) -> None:
        key = (pause.thread_id, pause.checkpoint_id)
        if self._claims.get(key) == token and await self._store.status(*key) == "resuming":
            await self._store.close(pause, "started")

    async def give_back(self, pause: Pause, slot: str, token: str) -> bool:
        key = (pause.thread_id, pause.checkpoint_id)
        if self._claims.get(key) != token or await self._store.status(*key) not in ("resuming", "started"):
            return False
        await self._store.undo(pause, slot)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._claims.pop(key, None)
        return True

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str]]:
        return []

    async def forget(self, thread_id: str, checkpoint_id: str) -> None:
        self._claims.pop((thread_id, checkpoint_id), None)


# --- redis ---------------------------------------------------------------------------------------

# Each script is safe to run twice (the client retries a command whose connection broke).

# Takes the resume. Returns {'claimed', attempt}, {'busy', 0} or {'done', 0}.
_CLAIM = """
local pause = KEYS[1]
local token, hold_ms = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', pause, 'status') ~= 'resuming' then return {'done', 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = redis.call('HGET', pause, 'claim')
local until_ms = tonumber(redis.call('HGET', pause, 'claim_until') or '0')
if holder and holder ~= token and until_ms > now then return {'busy', 0} end
redis.call('HSET', pause, 'claim', token, 'claim_until', now + hold_ms)
return {'claimed', tonumber(redis.call('HGET', pause, 'attempt') or '0')}
"""

# The claimed resume is queued: the pause leaves `resuming`.
_STARTED = """
local pause = KEYS[1]
local token = ARGV[1]
if redis.call('HGET', pause, 'claim') == token and redis.call('HGET', pause, 'status') == 'resuming' then
  redis.call('HSET', pause, 'status', 'started')
  return 1
end
return 0
"""

# Gives a slot back under the claim that holds the resume (not queued, or queued and its answer
# refused by the graph); the next decision is a new attempt.
_GIVE_BACK = """
local pause, decided = KEYS[1], KEYS[2]
local token, slot = ARGV[1], ARGV[2]
local status = redis.call('HGET', pause, 'status')
if redis.call('HGET', pause, 'claim') ~= token or (status ~= 'resuming' and status ~= 'started') then
  return 0
end
redis.call('HDEL', decided, slot)
redis.call('HINCRBY', pause, 'attempt', 1)
redis.call('HDEL', pause, 'claim', 'claim_until')
redis.call('HSET', pause, 'status', 'pending')
return 1
"""


class RedisResumptions:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._started = redis.register_script(_STARTED)
        self._give_back = redis.register_script(_GIVE_BACK)

    @staticmethod
    def _member(thread_id: str, checkpoint_id: str) -> str:
        return f"{thread_id} {checkpoint_id}"

    async def expect(self, pause: Pause) -> None:
        due = int(time.time() * 1000) + GRACE_MS
        await self._redis.zadd(keys.SLACK_RESUMING, {self._member(pause.thread_id, pause.checkpoint_id): due})

    async def claim(self, pause: Pause, token: str) -> Claim:
        outcome, attempt = await self._claim(
            keys=[keys.slack_pause(pause.thread_id, pause.checkpoint_id)], args=[token, GRACE_MS]
        )
        text = outcome.decode() if isinstance(outcome, bytes) else outcome
        return Claim(text, int(attempt))  # type: ignore[arg-type]

    async def started(self, pause: Pause, token: str) -> None:
        await self._started(keys=[keys.slack_pause(pause.thread_id, pause.checkpoint_id)], args=[token])
        await self.forget(pause.thread_id, pause.checkpoint_id)

    async def give_back(self, pause: Pause, slot: str, token: str) -> bool:
        pause_keys = [
            keys.slack_pause(pause.thread_id, pause.checkpoint_id),
            keys.slack_decided(pause.thread_id, pause.checkpoint_id),
        ]
        return bool(await self._give_back(keys=pause_keys, args=[token, slot]))

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str]]:
        now = int(time.time() * 1000)
        members = await self._redis.zrangebyscore(keys.SLACK_RESUMING, "-inf", now, start=0, num=limit)
        found = []
        for raw in members:
            thread_id, checkpoint_id = (raw.decode() if isinstance(raw, bytes) else raw).split(" ", 1)
            found.append((thread_id, checkpoint_id))
        return found

    async def forget(self, thread_id: str, checkpoint_id: str) -> None:
        await self._redis.zrem(keys.SLACK_RESUMING, self._member(thread_id, checkpoint_id))


async def sweep_forever(
    resumptions: Resumptions, adopt: Callable[[str, str], Awaitable[None]], every_s: float = SWEEP_EVERY_S
) -> None:
    """Runs until cancelled: adopts every due pause whose resume was recorded but never started."""
    while True:
        try:
            for thread_id, checkpoint_id in await resumptions.due():
                await adopt(thread_id, checkpoint_id)
        except Exception:
            log.warning("looking for decisions left unapplied failed; retrying", exc_info=True)
        await asyncio.sleep(every_s)
