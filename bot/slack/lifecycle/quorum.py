"""N-of-M approval: a slot's Approve counts once per person until `required_approvals` is reached.

The tally of a slot holds who approved so far and, after an Edit, the edited decision they approve
(an Edit is its author's approval of the edited value and drops the others' approvals). Counting is
one Lua script on the pause's keys (memory: one synchronous step), so clicks on several processes
count exactly once each, and exactly one click reaches the quorum. A Reject (or Respond) is not
counted here: it decides the slot at once (`Decisions.record`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from bot import keys
from bot.slack.pause import Pause
from bot.slack.prompts import SlotDecision
from bot.slack.store import TTL_S

# repeat: this person already approved; counted: more approvals needed; reached: record `decision` now
Counted = Literal["unknown", "stale", "closed", "taken", "repeat", "counted", "reached"]
SEPARATOR = ","  # the quorum's approvers, in order, in one SlotDecision.user


@dataclass(frozen=True)
class Tally:
    outcome: Counted
    approvers: tuple[str, ...] = ()
    decision: SlotDecision | None = None  # reached: what the slot is decided as, by all its approvers


def _settle(tally: dict[str, Any], decision: SlotDecision, needed: int) -> Tally:
    """Adds `decision` to a slot's tally (mutated in place) and says what that means."""
    users: list[str] = list(tally.get("users") or [])
    if tally.get("reached"):
        return Tally("taken", tuple(users))
    if decision.decision == "edit":
        users = [decision.user]
        tally["decision"] = decision.to_json()
    elif decision.user in users:
        return Tally("repeat", tuple(users))
    else:
        users.append(decision.user)
    tally["users"] = users
    if len(users) < needed:
        return Tally("counted", tuple(users))
    tally["reached"] = True
    base = SlotDecision.from_json(tally["decision"]) if tally.get("decision") else decision
    return Tally("reached", tuple(users), replace(base, user=SEPARATOR.join(users)))


class Quorum(Protocol):
    async def count(self, pause: Pause, slot: str, decision: SlotDecision, needed: int) -> Tally: ...

    async def approvers(self, pause: Pause, slot: str) -> tuple[str, ...]: ...


class MemoryQuorum:
    """One process: `count` reads the pause store and updates its tally without awaiting in between."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._tallies: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def count(self, pause: Pause, slot: str, decision: SlotDecision, needed: int) -> Tally:
        key = (pause.thread_id, pause.checkpoint_id)
        if key not in self._store._pauses:
            return Tally("unknown")
        if self._store._current.get(pause.thread_id) != pause.checkpoint_id:
            return Tally("stale")
        if self._store._status[key] != "pending":
            return Tally("closed")
        if slot in self._store._decided[key]:
            return Tally("taken")
        return _settle(self._tallies.setdefault((*key, slot), {}), decision, needed)

    async def approvers(self, pause: Pause, slot: str) -> tuple[str, ...]:
        return tuple(self._tallies.get((pause.thread_id, pause.checkpoint_id, slot), {}).get("users") or ())

    def forget_thread(self, thread_id: str) -> None:
        for key in [k for k in self._tallies if k[0] == thread_id]:
            del self._tallies[key]


# The same steps as `_settle`, on the pause's keys (current, pause, decided, approvals).
_COUNT = """
local current, pause, decided, approvals = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local checkpoint_id, slot, decision_json, needed, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
if redis.call('EXISTS', pause) == 0 then return {'unknown'} end
if redis.call('GET', current) ~= checkpoint_id then return {'stale'} end
if redis.call('HGET', pause, 'status') ~= 'pending' then return {'closed'} end
if redis.call('HEXISTS', decided, slot) == 1 then return {'taken'} end
local raw = redis.call('HGET', approvals, slot)
local tally = raw and cjson.decode(raw) or {}
local users = tally['users'] or {}
if tally['reached'] then return {'taken', cjson.encode(users)} end
local decision = cjson.decode(decision_json)
if decision['decision'] == 'edit' then
  users = {decision['user']}
  tally['decision'] = decision
else
  for _, u in ipairs(users) do
    if u == decision['user'] then return {'repeat', cjson.encode(users)} end
  end
  table.insert(users, decision['user'])
end
tally['users'] = users
local outcome = 'counted'
if #users >= needed then
  tally['reached'] = true
  outcome = 'reached'
end
redis.call('HSET', approvals, slot, cjson.encode(tally))
redis.call('EXPIRE', approvals, ttl)
return {outcome, cjson.encode(users), cjson.encode(tally['decision'] or decision)}
"""


class RedisQuorum:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._count = redis.register_script(_COUNT)

    async def count(self, pause: Pause, slot: str, decision: SlotDecision, needed: int) -> Tally:
        pause_keys = [
            keys.slack_current(pause.thread_id),
            keys.slack_pause(pause.thread_id, pause.checkpoint_id),
            keys.slack_decided(pause.thread_id, pause.checkpoint_id),
            keys.slack_approvals(pause.thread_id, pause.checkpoint_id),
        ]
        args = [pause.checkpoint_id, slot, json.dumps(decision.to_json()), needed, TTL_S]
        reply = await self._count(keys=pause_keys, args=args)
        outcome = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
        users = tuple(_users(reply[1])) if len(reply) > 1 else ()
        if outcome != "reached":
            return Tally(outcome, users)  # type: ignore[arg-type]
        base = SlotDecision.from_json(json.loads(reply[2]))
        return Tally("reached", users, replace(base, user=SEPARATOR.join(users)))

    async def approvers(self, pause: Pause, slot: str) -> tuple[str, ...]:
        raw = await self._redis.hget(keys.slack_approvals(pause.thread_id, pause.checkpoint_id), slot)
        return tuple(_users(json.dumps(json.loads(raw).get("users") or []))) if raw else ()


def _users(raw: Any) -> list[str]:
    found = json.loads(raw)
    return [str(u) for u in found] if isinstance(found, list) else []  # cjson writes an empty list as {}
