"""Where thread and run records live, and the per-thread run queue that serialises runs.

The queue is the runs layer's "one run at a time per thread": a run joins the thread's queue
when it is created and may execute only while it is the queue's head *and* holds the thread's
lease. The lease expires unless its holder renews it; threads with a leased run are listed in an
index of lease deadlines, so when a process dies mid-run another one finds the lapsed lease and
adopts the orphaned run (`adopt`), continuing it from its last checkpoint.

`MemoryRecords` (bot.runs.store_memory) serves a single process; `RedisRecords`
(bot.runs.store_redis) shares the same semantics across every process on one Redis, with each
step one Lua script.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.runs.records import RunRecord, ThreadRecord

LEASE_MS = 15_000  # default; SLUICE_RUN_LEASE sets it
ENDED_KEPT_S = 600  # how long a stateless run's outcome outlives its thread (Redis)
ENDED_KEPT = 1000  # how many of them one process keeps (memory)


class Records(Protocol):
    lease_ms: int
    # Whether this process alone reads and writes these records (MemoryRecords): then no lease needs
    # renewing and no other process can cancel a run, so a run keeps no watcher task beside it.
    process_local: bool

    async def create_thread(self, record: ThreadRecord) -> bool:
        """Stores a new thread; False (and nothing changes) when the id exists."""
        ...

    async def get_thread(self, thread_id: str) -> ThreadRecord | None: ...

    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        """Sets some fields of an existing thread (nothing when it was deleted), without reading it."""
        ...

    async def merge_metadata(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord | None:
        """Merges keys into the thread's metadata in one step, changing no other field; the thread
        as it is after, or None when it does not exist (a deleted thread is never recreated)."""
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

    async def keep_ended(self, record: RunRecord) -> None:
        """Keeps the final record of a run whose thread goes as it ends (a stateless run's) for a
        while, apart from the thread, so a join or read from any process still answers its outcome."""
        ...

    async def get_ended(self, run_id: str) -> RunRecord | None:
        """A record `keep_ended` kept, while it is kept."""
        ...

    async def submit(
        self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any], start: RunRecord | None = None
    ) -> str:
        """Stores the run, queues it and applies `thread_changes`, in one step. Returns "queued",
        "exists" (a run with this id is stored already: a resume submitted twice), "busy" (under
        reject, when the thread has a run) or "no_thread"; nothing changes unless queued. With
        `start` (the run's record as it starts) and the queue empty, the run holds the thread at
        once, `start` is stored in its place, and the answer is "started": its first `turn` is done."""
        ...

    async def claim(self, thread_id: str, holder: str) -> str:
        """Takes an idle thread for work that is not a run (a state update): `holder` becomes the
        queue's only entry and holds the lease, so runs submitted meanwhile wait for its `release`.
        Returns "claimed", "busy" (a run is queued) or "no_thread"; nothing changes unless claimed."""
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
        """Ends the run in one step: stores its `final` record (unless the thread was deleted) or
        deletes it, applies `thread_changes`, removes it from the queue and hands the lease to the
        next run. A thread with runs left stays busy; one left without, still marked busy, gets
        `idle_status`. Returns how many runs remain queued."""
        ...

    async def queued(self, thread_id: str) -> list[str]: ...

    async def lapsed(self, limit: int) -> list[str]:
        """Threads whose lease deadline has passed: their run's process may have died."""
        ...

    async def adopt(self, thread_id: str) -> str | None:
        """If the thread's head run lost its lease, lease it to the caller and return its id."""
        ...

    async def adopt_many(self, thread_ids: list[str]) -> dict[str, str]:
        """`adopt` for several threads in one step: thread id -> run id of those adopted. Threads
        left with nothing to run leave the lease index."""
        ...
