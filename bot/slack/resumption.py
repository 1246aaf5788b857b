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

A group (one typed interrupt of several, resumed alone by its id while the other groups stay open)
follows the same steps with its own claim, attempt and `started` mark (`group=`): its due entry is
`<thread> <checkpoint> <group>`, and it is claimable while the pause is pending, every slot of the
group is decided and its resume was not started.
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
from bot.slack.coalesce import Steps
from bot.slack.pause import Pause
from bot.slack.store import MemoryPauseStore
from bot.slack.store_scripts import TAKE_CLAIM

log = logging.getLogger("sluice.slack")

GRACE_MS = 10_000  # a claim this old, on a resume not yet started, belongs to a process that died
SWEEP_EVERY_S = 2.0
SWEEP_BATCH = 100
RUN_IDS = uuid.UUID("5b0c3f0e-6a55-4f4e-9d0c-51c3e0a11d0e")


def resume_run_id(thread_id: str, checkpoint_id: str, attempt: int, group: int | None = None) -> str:
    """The run id of a pause's (or one group's) resume: the same for every process submitting it."""
    name = f"{thread_id}/{checkpoint_id}/{attempt}" + ("" if group is None else f"/group-{group}")
    return str(uuid.uuid5(RUN_IDS, name))


@dataclass(frozen=True)
class Claim:
    outcome: Literal["claimed", "busy", "done"]
    attempt: int = 0


class Resumptions(Protocol):
    async def expect(self, pause: Pause) -> None:
        """Puts the pause (and each of its groups) in the due index (before a decision is recorded)."""

    def expecting(self, pause: Pause) -> list[tuple[Any, ...]]:
        """`expect` as Redis commands, for the store to send ahead of the decision (`PauseStore.decide`)."""

    async def claim(self, pause: Pause, token: str, group: int | None = None) -> Claim:
        """Takes the resume of a `resuming` pause (or a decided group) unless a live claim holds it."""

    async def started(self, pause: Pause, token: str, group: int | None = None) -> None:
        """The resume is queued in the runs layer: nothing left to adopt."""

    async def give_back(self, pause: Pause, slot: str, token: str, group: int | None = None) -> bool:
        """Reopens `slot` of a resume that could not be submitted; False if the claim was lost."""

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str, int | None]]:
        """Pauses (or groups) whose grace ran out: (thread id, checkpoint id, group or None)."""

    async def forget(self, thread_id: str, checkpoint_id: str, group: int | None = None) -> None: ...


# --- memory (one process: nothing outlives it, so nothing to adopt) ------------------------------


class MemoryResumptions:
    def __init__(self, store: MemoryPauseStore) -> None:
        self._store = store
        self._claims: dict[tuple[str, str, int | None], str] = {}
        self._attempts: dict[tuple[str, str, int | None], int] = {}
        self._started: set[tuple[str, str, int | None]] = set()  # groups whose resume is queued

    async def expect(self, pause: Pause) -> None:
        return None

    def expecting(self, pause: Pause) -> list[tuple[Any, ...]]:
        return []

    async def _claimable(self, pause: Pause, group: int | None) -> bool:
        status = await self._store.status(pause.thread_id, pause.checkpoint_id)
        if group is None:
            return status == "resuming"
        decided = await self._store.decided(pause.thread_id, pause.checkpoint_id)
        return (status == "pending" and all(s in decided for s in pause.group_slots(group))
                and (pause.thread_id, pause.checkpoint_id, group) not in self._started)

    async def claim(self, pause: Pause, token: str, group: int | None = None) -> Claim:
        key = (pause.thread_id, pause.checkpoint_id, group)
        if not await self._claimable(pause, group):
            return Claim("done")
        if self._claims.get(key, token) != token:
            return Claim("busy")
        self._claims[key] = token
        return Claim("claimed", self._attempts.get(key, 0))

    async def started(self, pause: Pause, token: str, group: int | None = None) -> None:
        key = (pause.thread_id, pause.checkpoint_id, group)
        if self._claims.get(key) != token or not await self._claimable(pause, group):
            return
        if group is None:
            await self._store.close(pause, "started")
        else:
            self._started.add(key)

    async def give_back(self, pause: Pause, slot: str, token: str, group: int | None = None) -> bool:
        key = (pause.thread_id, pause.checkpoint_id, group)
        status = await self._store.status(pause.thread_id, pause.checkpoint_id)
        if self._claims.get(key) != token or (group is None and status not in ("resuming", "started")):
            return False
        await self._store.undo(pause, slot)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._claims.pop(key, None)
        self._started.discard(key)
        return True

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str, int | None]]:
        return []

    async def forget(self, thread_id: str, checkpoint_id: str, group: int | None = None) -> None:
        self._claims.pop((thread_id, checkpoint_id, group), None)


# --- redis ---------------------------------------------------------------------------------------

# Each script is safe to run twice (the client retries a command whose connection broke).

# Takes the resume. Returns {'claimed', attempt}, {'busy', 0} or {'done', 0}.
_CLAIM = TAKE_CLAIM + """
local pause = KEYS[1]
local token, hold_ms = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', pause, 'status') ~= 'resuming' then return {'done', 0} end
local attempt = take_claim(pause, token, hold_ms, '')
if attempt == nil then return {'busy', 0} end
return {'claimed', attempt}
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


# A group's resume: the same steps on the group's own fields (ARGV[3]: their prefix, 'g<n>:').
# Claimable while the pause is pending, every slot of the group decided (ARGV[4..]) and not started.
_CLAIM_GROUP = TAKE_CLAIM + """
local pause, decided = KEYS[1], KEYS[2]
local token, hold_ms, g = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('HGET', pause, 'status') ~= 'pending' or redis.call('HGET', pause, g .. 'state') == 'started' then
  return {'done', 0}
end
for i = 4, #ARGV do
  if redis.call('HEXISTS', decided, ARGV[i]) == 0 then return {'done', 0} end
end
local attempt = take_claim(pause, token, hold_ms, g)
if attempt == nil then return {'busy', 0} end
return {'claimed', attempt}
"""

_STARTED_GROUP = """
local pause = KEYS[1]
local token, g = ARGV[1], ARGV[2]
if redis.call('HGET', pause, g .. 'claim') ~= token then return 0 end
redis.call('HSET', pause, g .. 'state', 'started')
return 1
"""

_GIVE_BACK_GROUP = """
local pause, decided = KEYS[1], KEYS[2]
local token, slot, g = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', pause, g .. 'claim') ~= token then return 0 end
redis.call('HDEL', decided, slot)
redis.call('HINCRBY', pause, g .. 'attempt', 1)
redis.call('HDEL', pause, g .. 'claim', g .. 'claim_until', g .. 'state')
return 1
"""


class RedisResumptions:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._started = redis.register_script(_STARTED)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._claim_group = redis.register_script(_CLAIM_GROUP)
        self._started_group = redis.register_script(_STARTED_GROUP)
        self._give_back_group = redis.register_script(_GIVE_BACK_GROUP)
        self._steps = Steps(redis)  # a burst of clicks' due entries and claims share round trips

    @staticmethod
    def _member(thread_id: str, checkpoint_id: str, group: int | None = None) -> str:
        return f"{thread_id} {checkpoint_id}" + ("" if group is None else f" {group}")

    @staticmethod
    def _keys(pause: Pause) -> list[str]:
        return [keys.slack_pause(pause.thread_id, pause.checkpoint_id), keys.slack_decided(pause.thread_id, pause.checkpoint_id)]

    async def expect(self, pause: Pause) -> None:
        await self._steps.run(*self.expecting(pause))

    def expecting(self, pause: Pause) -> list[tuple[Any, ...]]:
        due = int(time.time() * 1000) + GRACE_MS
        groups: list[int | None] = [None, *range(len(pause.groups))] if len(pause.groups) > 1 else [None]
        members = [part for g in groups for part in (due, self._member(pause.thread_id, pause.checkpoint_id, g))]
        return [("ZADD", keys.SLACK_RESUMING, *members)]

    async def claim(self, pause: Pause, token: str, group: int | None = None) -> Claim:
        if group is None:
            outcome, attempt = await self._steps.one(*self._steps.script(self._claim, self._keys(pause)[:1], [token, GRACE_MS]))
        else:
            args = [token, GRACE_MS, f"g{group}:", *pause.group_slots(group)]
            outcome, attempt = await self._steps.one(*self._steps.script(self._claim_group, self._keys(pause), args))
        text = outcome.decode() if isinstance(outcome, bytes) else outcome
        return Claim(text, int(attempt))  # type: ignore[arg-type]

    async def started(self, pause: Pause, token: str, group: int | None = None) -> None:
        # The mark and the due entry's removal in one step (one round trip, shared under a burst): in
        # either order, a run already queued is the runs layer's; a sweep finding the entry still due
        # finds the pause started (nothing to do), one finding no entry has nothing to do either.
        if group is None:
            mark = self._steps.script(self._started, self._keys(pause)[:1], [token])
        else:
            mark = self._steps.script(self._started_group, self._keys(pause)[:1], [token, f"g{group}:"])
        await self._steps.run(mark, self._forgetting(pause.thread_id, pause.checkpoint_id, group))

    async def give_back(self, pause: Pause, slot: str, token: str, group: int | None = None) -> bool:
        if group is None:
            return bool(await self._give_back(keys=self._keys(pause), args=[token, slot]))
        return bool(await self._give_back_group(keys=self._keys(pause), args=[token, slot, f"g{group}:"]))

    async def due(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str, int | None]]:
        now = int(time.time() * 1000)
        members = await self._redis.zrangebyscore(keys.SLACK_RESUMING, "-inf", now, start=0, num=limit)
        found: list[tuple[str, str, int | None]] = []
        for raw in members:
            thread_id, checkpoint_id, *group = (raw.decode() if isinstance(raw, bytes) else raw).split(" ")
            found.append((thread_id, checkpoint_id, int(group[0]) if group else None))
        return found

    async def forget(self, thread_id: str, checkpoint_id: str, group: int | None = None) -> None:
        await self._steps.run(self._forgetting(thread_id, checkpoint_id, group))

    def _forgetting(self, thread_id: str, checkpoint_id: str, group: int | None) -> tuple[Any, ...]:
        return ("ZREM", keys.SLACK_RESUMING, self._member(thread_id, checkpoint_id, group))


async def sweep_forever(
    resumptions: Resumptions, adopt: Callable[[str, str, int | None], Awaitable[None]], every_s: float = SWEEP_EVERY_S
) -> None:
    """Runs until cancelled: adopts every due pause (or group) whose resume was recorded, not started."""
    while True:
        try:
            for thread_id, checkpoint_id, group in await resumptions.due():
                await adopt(thread_id, checkpoint_id, group)
        except Exception:
            log.warning("looking for decisions left unapplied failed; retrying", exc_info=True)
        await asyncio.sleep(every_s)
