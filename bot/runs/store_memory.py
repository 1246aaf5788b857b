"""The records of one process (the in-memory deployment and the playground): the `Records`
contract of `bot.runs.store` without Redis.

Records are kept as objects, not JSON text: each is copied as it is stored and as it is read
(`copy_record`, the values a JSON round trip would give back), so no caller ever holds the stored
one. Copying costs a fraction of writing and parsing JSON, which records are several times a run.

Every step that must be atomic (submit, claim, turn, release) runs without an await that can
suspend, so no other task runs in between: on one event loop that makes it one step, with no lock."""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

from bot.runs.records import RunRecord, ThreadRecord, copy_record, now_iso, plain_copy
from bot.runs.store import ENDED_KEPT, LEASE_MS

_THREAD_FIELDS = frozenset(f.name for f in fields(ThreadRecord))


class MemoryRecords:
    """Records of one process (the in-memory deployment and the playground)."""

    process_local = True

    def __init__(self, lease_ms: int = LEASE_MS) -> None:
        self.lease_ms = lease_ms
        self._threads: dict[str, ThreadRecord] = {}
        self._runs: dict[str, dict[str, RunRecord]] = {}
        self._queues: dict[str, list[str]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._ended: dict[str, RunRecord] = {}  # the last ENDED_KEPT, oldest first

    async def create_thread(self, record: ThreadRecord) -> bool:
        if record.thread_id in self._threads:
            return False
        self._threads[record.thread_id] = copy_record(record)
        return True

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        stored = self._threads.get(thread_id)
        return copy_record(stored) if stored is not None else None

    def _patch(self, thread: ThreadRecord, changes: dict[str, Any]) -> None:
        """Sets fields of the stored (never handed out) thread, each value copied."""
        for name, value in changes.items():
            if name not in _THREAD_FIELDS:
                raise TypeError(f"ThreadRecord has no field {name!r}")
            setattr(thread, name, plain_copy(value))

    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        stored = self._threads.get(thread_id)
        if stored is not None:
            self._patch(stored, changes)

    def _put_run(self, record: RunRecord) -> None:
        self._runs.setdefault(record.thread_id, {})[record.run_id] = copy_record(record)

    async def merge_metadata(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord | None:
        stored = self._threads.get(thread_id)  # no await between reading and writing: one step
        if stored is None:
            return None
        stored.metadata = {**stored.metadata, **plain_copy(metadata)}
        return copy_record(stored)

    async def delete_thread(self, thread_id: str) -> bool:
        self._runs.pop(thread_id, None)
        self._queues.pop(thread_id, None)
        self._leases.pop(thread_id, None)
        return self._threads.pop(thread_id, None) is not None

    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        records = sorted(self._threads.values(), key=lambda r: r.created_at, reverse=True)
        return [copy_record(r) for r in records[offset : offset + limit]]

    async def put_run(self, record: RunRecord) -> None:
        self._put_run(record)

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        stored = self._runs.get(thread_id, {}).get(run_id)
        return copy_record(stored) if stored is not None else None

    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        records = [copy_record(r) for r in self._runs.get(thread_id, {}).values()]
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        self._runs.get(thread_id, {}).pop(run_id, None)

    def _grant(self, thread_id: str) -> None:
        queue = self._queues.get(thread_id, [])
        if queue:
            self._leases[thread_id] = (queue[0], time.monotonic() + self.lease_ms / 1000)
        else:
            self._leases.pop(thread_id, None)

    async def submit(
        self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any], start: RunRecord | None = None
    ) -> str:
        thread = self._threads.get(run.thread_id)
        if thread is None:
            return "no_thread"
        if run.run_id in self._runs.get(run.thread_id, {}):
            return "exists"
        queue = self._queues.setdefault(run.thread_id, [])
        if reject_if_busy and queue:
            return "busy"
        self._patch(thread, thread_changes)
        queue.append(run.run_id)
        if len(queue) == 1:
            self._grant(run.thread_id)
            if start is not None:
                self._put_run(start)
                return "started"
        self._put_run(run)
        return "queued"

    async def claim(self, thread_id: str, holder: str) -> str:
        if thread_id not in self._threads:
            return "no_thread"
        if self._queues.get(thread_id):
            return "busy"
        self._queues[thread_id] = [holder]
        self._grant(thread_id)
        return "claimed"

    async def turn(self, thread_id: str, run_id: str, *, start: RunRecord | None = None) -> bool:
        lease = self._leases.get(thread_id)
        if lease is None or lease[0] != run_id:
            return False
        self._leases[thread_id] = (run_id, time.monotonic() + self.lease_ms / 1000)
        if start is not None:
            self._put_run(start)
        return True

    async def release(
        self,
        thread_id: str,
        run_id: str,
        *,
        final: RunRecord | None = None,
        delete_run: bool = False,
        thread_changes: dict[str, Any] | None = None,
        idle_status: str = "idle",
    ) -> int:
        if delete_run:
            self._runs.get(thread_id, {}).pop(run_id, None)
        elif final is not None and thread_id in self._threads:  # a deleted thread keeps no runs
            self._put_run(final)
        queue = self._queues.get(thread_id, [])
        was_head = bool(queue) and queue[0] == run_id
        if run_id in queue:
            queue.remove(run_id)
        if was_head:
            self._grant(thread_id)
        thread = self._threads.get(thread_id)
        if thread is not None:
            self._patch(thread, thread_changes or {})
            if queue:
                thread.status = "busy"
            elif thread.status == "busy":
                thread.status, thread.updated_at = idle_status, now_iso()  # type: ignore[assignment]
        return len(queue)

    async def queued(self, thread_id: str) -> list[str]:
        return list(self._queues.get(thread_id, []))

    async def lapsed(self, limit: int) -> list[str]:
        return []  # one process: a run can only stop with it

    async def adopt(self, thread_id: str) -> str | None:
        return None

    async def adopt_many(self, thread_ids: list[str]) -> dict[str, str]:
        return {}

    async def keep_ended(self, record: RunRecord) -> None:
        self._ended[record.run_id] = copy_record(record)
        while len(self._ended) > ENDED_KEPT:
            self._ended.pop(next(iter(self._ended)))

    async def get_ended(self, run_id: str) -> RunRecord | None:
        stored = self._ended.get(run_id)
        return copy_record(stored) if stored is not None else None
