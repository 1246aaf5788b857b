"""Redis keys of the runs layer. Every per-thread key shares the checkpointer's hash tag, so a
thread's records, queue and checkpoints all live on one cluster slot."""

from __future__ import annotations

from engine.checkpoint.keys import PREFIX, thread_tag

THREAD_INDEX = f"{PREFIX}:threads"  # sorted set: thread id -> created time (single-key commands only)
LEASE_INDEX = f"{PREFIX}:leases"  # sorted set: thread id -> lease deadline (ms) of the run it executes


def thread(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:thread"


def runs(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:runs"


def run_prefix(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:run:"


def run(thread_id: str, run_id: str) -> str:
    return run_prefix(thread_id) + run_id


def queue(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:queue"


def lease(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:lease"
