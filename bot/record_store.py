"""Where thread and run records live, and the per-thread run queue that serialises runs.

The queue is the runs layer's "one run at a time per thread": a run joins the thread's queue
when it is created and may execute only while it is the queue's head *and* holds the thread's
lease. The lease expires unless its holder renews it; threads with a leased run are listed in an
index of lease deadlines, so when a process dies mid-run another one finds the lapsed lease and
adopts the orphaned run (`adopt`), continuing it from its last checkpoint.

`MemoryRecords` serves a single process; `RedisRecords` (bot.record_store_redis) shares the
same semantics across every process on one Redis, with each step one Lua script.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any, Protocol

from bot.records import RunRecord, ThreadRecord, now_iso

LEASE_MS = 15_000  # default; SLUICE_RUN_LEASE sets it


class Records(Protocol):
    lease_ms: int

    async def create_thread(self, record: ThreadRecord) -> bool:
        """Stores a new thread; False (and nothing changes) when the id exists."""
        ...

    async def get_thread(self, thread_id: str) -> ThreadRecord | None: ...

    async def put_thread(self, record: ThreadRecord) -> None: ...

    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        """Sets some fields of an existing thread (nothing when it was deleted), without reading it."""
        ...

    async def delete_thread(self, thread_id: str) -> bool: ...

    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        """Threads newest first (filtering is the caller's)."""
        ...

    async def put_run(self, record: RunRecord) -> None: ...

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None: ...

    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        """Runs of the thread, newest first."""
        ...

    async def delete_run(self, thread_id: str, run_id: str) -> None: ...

    async def submit(self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any]) -> str:
        """Stores the run, queues it and applies `thread_changes`, in one step. Returns "queued",
        "busy" (under reject, when the thread has a run) or "no_thread"; nothing changes unless queued."""
        ...

    async def turn(self, thread_id: str, run_id: str, *, start: RunRecord | None = None) -> bool:
        """Whether the run holds the thread now; renews its lease (and its deadline in the index).
        `start`, the run's record as it starts, is stored when the turn is the run's."""
        ...

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
        """Ends the run in one step: stores its `final` record (or deletes it), applies
        `thread_changes`, removes it from the queue and hands the lease to the next run. A thread
        with runs left stays busy; one left without, still marked busy, gets `idle_status`.
        Returns how many runs remain queued."""
        ...

    async def queued(self, thread_id: str) -> list[str]: ...

    async def lapsed(self, limit: int) -> list[str]:
        """Threads whose lease deadline has passed: their run's process may have died."""
        ...

    async def adopt(self, thread_id: str) -> str | None:
        """If the thread's head run lost its lease, lease it to the caller and return its id."""
        ...


class MemoryRecords:
    """Records of one process (the in-memory deployment and the playground)."""

    def __init__(self, lease_ms: int = LEASE_MS) -> None:
        self.lease_ms = lease_ms
        self._threads: dict[str, str] = {}
        self._runs: dict[str, dict[str, str]] = {}
        self._queues: dict[str, list[str]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def create_thread(self, record: ThreadRecord) -> bool:
        if record.thread_id in self._threads:
            return False
        self._threads[record.thread_id] = record.dumps()
        return True

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        raw = self._threads.get(thread_id)
        return ThreadRecord.loads(raw) if raw else None

    async def put_thread(self, record: ThreadRecord) -> None:
        self._threads[record.thread_id] = record.dumps()

    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        raw = self._threads.get(thread_id)
        if raw is not None:
            self._threads[thread_id] = replace(ThreadRecord.loads(raw), **changes).dumps()

    async def delete_thread(self, thread_id: str) -> bool:
        self._runs.pop(thread_id, None)
        self._queues.pop(thread_id, None)
        self._leases.pop(thread_id, None)
        return self._threads.pop(thread_id, None) is not None

    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        records = [ThreadRecord.loads(raw) for raw in self._threads.values()]
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records[offset : offset + limit]

    async def put_run(self, record: RunRecord) -> None:
        self._runs.setdefault(record.thread_id, {})[record.run_id] = record.dumps()

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        raw = self._runs.get(thread_id, {}).get(run_id)
        return RunRecord.loads(raw) if raw else None

    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        records = [RunRecord.loads(raw) for raw in self._runs.get(thread_id, {}).values()]
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

    async def submit(self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any]) -> str:
        async with self._lock:
            if run.thread_id not in self._threads:
                return "no_thread"
            queue = self._queues.setdefault(run.thread_id, [])
            if reject_if_busy and queue:
                return "busy"
            await self.put_run(run)
            await self.patch_thread(run.thread_id, thread_changes)
            queue.append(run.run_id)
            if len(queue) == 1:
                self._grant(run.thread_id)
            return "queued"

    async def turn(self, thread_id: str, run_id: str, *, start: RunRecord | None = None) -> bool:
        async with self._lock:
            lease = self._leases.get(thread_id)
            if lease is None or lease[0] != run_id:
                return False
            self._leases[thread_id] = (run_id, time.monotonic() + self.lease_ms / 1000)
            if start is not None:
                await self.put_run(start)
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
        async with self._lock:
            if delete_run:
                await self.delete_run(thread_id, run_id)
            elif final is not None:
                await self.put_run(final)
            if thread_changes:
                await self.patch_thread(thread_id, thread_changes)
            queue = self._queues.get(thread_id, [])
            was_head = bool(queue) and queue[0] == run_id
            if run_id in queue:
                queue.remove(run_id)
            if was_head:
                self._grant(thread_id)
            raw = self._threads.get(thread_id)
            if raw is not None and queue:
                await self.patch_thread(thread_id, {"status": "busy"})
            elif raw is not None and ThreadRecord.loads(raw).status == "busy":
                await self.patch_thread(thread_id, {"status": idle_status, "updated_at": now_iso()})
            return len(queue)

    async def queued(self, thread_id: str) -> list[str]:
        return list(self._queues.get(thread_id, []))

    async def lapsed(self, limit: int) -> list[str]:
        return []  # one process: a run can only stop with it

    async def adopt(self, thread_id: str) -> str | None:
        return None
