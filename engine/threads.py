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
    """Daemon worker threads, started as jobs queue up (lighter than an executor's futures).

    Each job queued wakes one worker (or starts one, up to `limit`), so a job that blocks never
    holds up the jobs behind it. A job no worker has started yet may be taken back (`take`): the
    worker woken for it then finds the next job, or none."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._jobs: collections.deque[Job] = collections.deque()
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()  # one token per job queued
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._queued = 0  # tokens not taken yet

    def submit(self, job: Job) -> None:
        with self._lock:
            self._jobs.append(job)
            self._queued += 1
            start = self._queued > self._idle and self._threads < self.limit
            if start:
                self._threads += 1
        self._wake.put(None)
        if start:
            threading.Thread(target=self._work, name=f"sluice-node-{self._threads}", daemon=True).start()

    def take(self, job: Job) -> bool:
        """Take back a job no worker has started (its submitter runs it itself)."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
        return True

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            self._wake.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
                job = self._jobs.popleft() if self._jobs else None
            if job is not None:
                job()


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
