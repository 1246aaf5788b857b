"""Redis keys of the runs layer. Every per-thread key shares the checkpointer's hash tag, so a
thread's records, queue and checkpoints all live on one cluster slot."""

from __future__ import annotations

THREAD_INDEX = "sluice:threads"  # sorted set: thread id -> created time (single-key commands only)
LEASE_INDEX = "sluice:leases"  # sorted set: thread id -> lease deadline (ms) of the run it executes


def _tag(thread_id: str) -> str:
    return f"sluice:{{{thread_id}}}"


def thread(thread_id: str) -> str:
    return f"{_tag(thread_id)}:thread"


def runs(thread_id: str) -> str:
    return f"{_tag(thread_id)}:runs"


def run_prefix(thread_id: str) -> str:
    return f"{_tag(thread_id)}:run:"


def run(thread_id: str, run_id: str) -> str:
    return run_prefix(thread_id) + run_id


def queue(thread_id: str) -> str:
    return f"{_tag(thread_id)}:queue"


def lease(thread_id: str) -> str:
    return f"{_tag(thread_id)}:lease"
