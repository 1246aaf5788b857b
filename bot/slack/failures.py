"""Failed runs the bot reported in a pause's thread, and their one Retry.

On Redis each is a hash (`bot.keys.slack_failure`): data (Failure JSON), retried_by (user id, once).

The Retry is claimed with HSETNX inside one script (the record must exist), so of two clicks on
any processes exactly one continues the thread. Memory mode keeps the same in one process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, Protocol

from bot import keys

TTL_S = 30 * 24 * 3600
Claim = Literal["claimed", "taken", "unknown"]


@dataclass(frozen=True)
class Failure:
    thread_id: str
    run_id: str
    assistant_id: str
    checkpoint_id: str  # the thread's head when it failed: a Retry continues from there
    pause_checkpoint: str  # the pause whose decision started the run ("": a run started from Slack)
    node: str
    error_type: str
    message: str
    traceback: str
    channel: str
    thread_ts: str  # the Slack thread the failure was reported in
    reply_ts: str = ""  # the report itself, once posted
    from_slack: bool = False
    decided_at: float = 0.0
    outside_graph: bool = False  # it could not run (storage, a bug of ours): no node raised

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Failure:
        return cls(**json.loads(raw))

    def posted(self, ts: str) -> Failure:
        return replace(self, reply_ts=ts)


class FailureStore(Protocol):
    async def save(self, failure: Failure) -> None: ...

    async def get(self, thread_id: str, run_id: str) -> Failure | None: ...

    async def claim_retry(self, thread_id: str, run_id: str, user: str) -> tuple[Claim, str]:
        """Records `user`'s Retry unless one was recorded; returns the outcome and who retried."""

    async def release_retry(self, thread_id: str, run_id: str) -> None:
        """Gives the Retry back (the new run could not be started)."""

    async def retried_by(self, thread_id: str, run_id: str) -> str | None:
        """Who retried the failure, if anyone has."""


class MemoryFailureStore:
    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], Failure] = {}
        self._retried: dict[tuple[str, str], str] = {}

    async def save(self, failure: Failure) -> None:
        self._failures[(failure.thread_id, failure.run_id)] = failure

    async def get(self, thread_id: str, run_id: str) -> Failure | None:
        return self._failures.get((thread_id, run_id))

    async def claim_retry(self, thread_id: str, run_id: str, user: str) -> tuple[Claim, str]:
        key = (thread_id, run_id)
        if key not in self._failures:
            return "unknown", ""
        if key in self._retried:
            return "taken", self._retried[key]
        self._retried[key] = user
        return "claimed", user

    async def release_retry(self, thread_id: str, run_id: str) -> None:
        self._retried.pop((thread_id, run_id), None)

    async def retried_by(self, thread_id: str, run_id: str) -> str | None:
        return self._retried.get((thread_id, run_id))

    def forget_thread(self, thread_id: str) -> None:
        for table in (self._failures, self._retried):
            for key in [k for k in table if k[0] == thread_id]:
                del table[key]


# The one Retry of a failure. Returns {outcome, user who retried}.
_CLAIM = """
local failure = KEYS[1]
local user = ARGV[1]
if redis.call('EXISTS', failure) == 0 then return {'unknown', ''} end
if redis.call('HSETNX', failure, 'retried_by', user) == 0 then
  return {'taken', redis.call('HGET', failure, 'retried_by')}
end
return {'claimed', user}
"""


class RedisFailureStore:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)

    @staticmethod
    def key(thread_id: str, run_id: str) -> str:
        return keys.slack_failure(thread_id, run_id)

    async def save(self, failure: Failure) -> None:
        key = self.key(failure.thread_id, failure.run_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, "data", failure.to_json())
            pipe.expire(key, TTL_S)
            await pipe.execute()

    async def get(self, thread_id: str, run_id: str) -> Failure | None:
        raw = await self._redis.hget(self.key(thread_id, run_id), "data")
        return Failure.from_json(raw) if raw else None

    async def claim_retry(self, thread_id: str, run_id: str, user: str) -> tuple[Claim, str]:
        outcome, by = await self._claim(keys=[self.key(thread_id, run_id)], args=[user])
        return _text(outcome), _text(by)  # type: ignore[return-value]

    async def release_retry(self, thread_id: str, run_id: str) -> None:
        await self._redis.hdel(self.key(thread_id, run_id), "retried_by")

    async def retried_by(self, thread_id: str, run_id: str) -> str | None:
        by = await self._redis.hget(self.key(thread_id, run_id), "retried_by")
        return _text(by) if by else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
