"""The audit trail: every decision on a pause, whoever or whatever made it, oldest first.

One entry per decision: a person's click (actor `U...`), a deadline (`timer`), an escalation, a
Retry, a resume over the HTTP API (`api`). On Redis each thread has a Stream (`bot.keys.audit`),
trimmed to `SLUICE_AUDIT_MAXLEN` entries and expiring with the thread's checkpoints (`SLUICE_THREAD_TTL`);
in memory, a list per thread trimmed the same way. Deleting a thread deletes its entries.
Served by `GET /threads/{thread_id}/audit` and `/sluice audit <thread_id>`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bot import keys
from engine.checkpoint.pipelining import Batcher

DEFAULT_MAXLEN = 10_000


@dataclass(frozen=True)
class AuditEntry:
    thread_id: str
    assistant_id: str
    interrupt_id: str
    decision: str  # approve, edit, reject, respond, answer, continue, approval (1 of N), timeout, escalate, retry, resume
    actor: str  # a Slack user id, "timer" or "api"
    at: float = field(default_factory=time.time)
    before: Any = None  # an edit: the value as proposed
    after: Any = None  # an edit: the value as decided; a resume: what was sent
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at)) + f".{int(self.at % 1 * 1000):03d}Z"
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditEntry:
        known: dict[str, Any] = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def resume_entries(
    thread_id: str, assistant_id: str, pending: list[str], resume: Any, actor: str, detail: str
) -> list[AuditEntry]:
    """The entries of a resume sent while the interrupts `pending` waited: one per interrupt it
    answers (those its dict names, when it names pending ones only; else every pending one)."""
    answered = [i for i in pending if i in resume] if isinstance(resume, dict) and resume and set(resume) <= set(
        pending) else pending
    return [
        AuditEntry(thread_id, assistant_id, interrupt_id, "resume", actor,
                   after=resume[interrupt_id] if isinstance(resume, dict) and interrupt_id in resume else resume,
                   detail=detail)
        for interrupt_id in answered
    ]


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...

    async def entries(self, thread_id: str) -> list[AuditEntry]:
        """The thread's entries, oldest first."""

    async def forget(self, thread_id: str) -> None:
        """The thread was deleted: its entries go with it."""


class MemoryAuditLog:
    def __init__(self, maxlen: int = DEFAULT_MAXLEN) -> None:
        self._maxlen = maxlen
        self._by_thread: dict[str, list[AuditEntry]] = {}

    async def append(self, entry: AuditEntry) -> None:
        log = self._by_thread.setdefault(entry.thread_id, [])
        log.append(entry)
        del log[: max(0, len(log) - self._maxlen)]

    async def entries(self, thread_id: str) -> list[AuditEntry]:
        return list(self._by_thread.get(thread_id, ()))

    async def forget(self, thread_id: str) -> None:
        self._by_thread.pop(thread_id, None)


class RedisAuditLog:
    """`ttl` (seconds, as the thread's checkpoints): a stream not appended to for that long expires."""

    def __init__(self, redis: Any, maxlen: int = DEFAULT_MAXLEN, ttl: int | None = None) -> None:
        self._redis = redis
        self._maxlen = maxlen
        self._ttl = ttl
        self._batcher = Batcher(redis)  # appends of many runs at once share network exchanges

    def commands(self, entry: AuditEntry) -> list[tuple[Any, ...]]:
        """The commands that append `entry`, each (name, key, *args): sent here, or riding a resume
        claim (bot.runs.execution), which lands them with the decision or not at all."""
        key = keys.audit(entry.thread_id)
        data = json.dumps(entry.to_json(), default=str)
        commands: list[tuple[Any, ...]] = [("XADD", key, "MAXLEN", self._maxlen, "*", "entry", data)]
        if self._ttl:
            commands.append(("EXPIRE", key, self._ttl))
        return commands

    async def append(self, entry: AuditEntry) -> None:
        for reply in await self._batcher.run(*self.commands(entry)):
            if isinstance(reply, Exception):
                raise reply

    async def entries(self, thread_id: str) -> list[AuditEntry]:
        rows = await self._redis.xrange(keys.audit(thread_id))
        out = []
        for _, fields in rows:
            raw = fields.get(b"entry") or fields.get("entry")
            if raw:
                out.append(AuditEntry.from_json(json.loads(raw)))
        return out

    async def forget(self, thread_id: str) -> None:
        """Nothing to do: the records' delete script (`bot.runs.store_redis`) deletes the stream with the
        thread, in the same step (same hash tag)."""
