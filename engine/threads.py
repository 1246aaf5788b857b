"""ThreadBatch: sync nodes of one step run in worker threads, and the loop is woken once for them.

`loop.run_in_executor` wakes the event loop once per finished call. A step's sync nodes finish
together anyway (the step waits for all of them), so here a finished call only queues its result;
the last call still out (or any call that failed, so its siblings can be cancelled at once) wakes
the loop, which then hands every queued result to its waiting task.
"""

from __future__ import annotations

import asyncio
import collections
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

Job = Callable[[], None]


class _Workers:
    """Daemon worker threads that wake one another only as jobs need them.

    A woken worker runs queued jobs one after another. Whenever a worker takes a job while others
    are still queued and no other worker is free to take them, it first wakes (or starts) one more.
    So a job that blocks never holds up the jobs queued behind it (they get a thread of their own,
    up to `limit`), while a batch of quick jobs costs one or two thread wake-ups, not one per job.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._jobs: collections.deque[Job] = collections.deque()
        self._lock = threading.Lock()
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()  # one token wakes one sleeping worker
        self._threads = 0
        self._sleeping = 0
        self._free = 0  # workers awake (or starting, or woken) and not running a job

    def submit(self, job: Job) -> None:
        with self._lock:
            self._jobs.append(job)
            wake = self._call_one()
        if wake is not None:
            wake()

    def _call_one(self) -> Callable[[], None] | None:
        """Under the lock: make sure a free worker is coming for the queued jobs; what to do outside it."""
        if self._free:
            return None
        if self._sleeping:
            self._sleeping -= 1
            self._free += 1
            return self._wake_one
        if self._threads < self.limit:
            self._threads += 1
            self._free += 1
            return self._start_one
        return None  # every worker is busy: the first to finish takes the next job

    def take(self, job: Job) -> bool:
        """Take back a job no worker has started (its submitter runs it itself)."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
        return True

    def _wake_one(self) -> None:
        self._wake.put(None)

    def _start_one(self) -> None:
        threading.Thread(target=self._work, name=f"sluice-node-{self._threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._free -= 1
                    self._sleeping += 1
                    job = None
                    wake = None
                else:
                    job = self._jobs.popleft()
                    self._free -= 1
                    wake = self._call_one() if self._jobs else None
            if job is None:
                self._wake.get()  # counted free again by whoever woke it
                continue
            if wake is not None:
                wake()
            try:
                job()
            finally:
                with self._lock:
                    self._free += 1


_workers = _Workers(limit=min(32, (os.cpu_count() or 1) + 4))


class ThreadBatch:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._loop_thread = threading.get_ident()  # made on the loop's thread
        self._lock = threading.Lock()
        self._outstanding = 0
        self._done: list[tuple[asyncio.Future[Any], bool, Any]] = []
        self._submitted: list[Job] = []

    def call(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run `fn` in a worker thread; the future resolves on the loop once the batch is woken."""
        future: asyncio.Future[Any] = self.loop.create_future()
        with self._lock:
            self._outstanding += 1
        job: Job = lambda: self._run(fn, future)  # noqa: E731
        self._submitted.append(job)
        _workers.submit(job)
        return future

    def run_queued_here(self) -> None:
        """Run on this thread the calls no worker has started yet (a sync run's thread, otherwise idle).

        Only calls still queued are taken, so no call waits behind a blocked one: a worker is already
        coming for every queued call (see _Workers), and takes those not yet run here."""
        submitted, self._submitted = self._submitted, []
        for job in submitted:
            if _workers.take(job):
                job()

    def _run(self, fn: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        try:
            result, ok = fn(), True
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            result, ok = exc, False
        with self._lock:
            self._done.append((future, ok, result))
            self._outstanding -= 1
            wake = self._outstanding == 0 or not ok
        if wake:
            if threading.get_ident() == self._loop_thread:
                self.loop.call_soon(self._deliver)
            else:
                self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            done, self._done = self._done, []
        for future, ok, result in done:
            if future.done():  # its task was cancelled meanwhile
                continue
            if ok:
                future.set_result(result)
            else:
                future.set_exception(result)
