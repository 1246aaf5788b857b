"""The sync-node worker pool: a blocked job never holds up the jobs queued behind it."""

from __future__ import annotations

import threading

from engine.threads import _Workers


def test_each_queued_job_gets_a_thread_while_the_others_block() -> None:
    workers = _Workers(limit=4)
    meet = threading.Barrier(4, timeout=5)  # three jobs and this thread: all must be running at once
    names: list[str] = []

    def job() -> None:
        names.append(threading.current_thread().name)
        meet.wait()

    for _ in range(3):
        workers.submit(job)
    meet.wait()
    assert len(set(names)) == 3
