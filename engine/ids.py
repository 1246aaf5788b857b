"""Identifiers: time-ordered checkpoint ids, and task / interrupt ids derived from where they run.

Checkpoint ids sort by creation time as strings (so `before=` is a string compare). Task ids are a
hash of the checkpoint and the task's path, so a task keeps its id when a paused step is resumed;
interrupt ids hash the task's namespace and the call's position, so each `interrupt()` call in a
task has its own stable id.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time

_lock = threading.Lock()
_last = 0
_last_id: str | None = None


def new_checkpoint_id(after: str | None = None) -> str:
    """A UUID-shaped id whose text sorts after every id made before it (and after `after`)."""
    global _last, _last_id
    with _lock:
        now = time.time_ns() // 1000  # microseconds
        stamp = max(now, _last + 1)
        if after is not None and after != _last_id:  # the id made last is already below `stamp`
            stamp = max(stamp, _stamp_of(after) + 1)
        _last = stamp
        # uniqueness, not secrecy, from the random half: the stamp orders them
        text = f"{stamp:016x}{random.getrandbits(64):016x}"
        _last_id = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        return _last_id


def _stamp_of(checkpoint_id: str) -> int:
    try:
        return int(checkpoint_id.replace("-", "")[:16], 16)
    except ValueError:
        return 0


def task_id(checkpoint_id: str, ns: str, name: str, path: tuple[object, ...]) -> str:
    digest = hashlib.blake2b(f"{checkpoint_id}|{ns}|{name}|{path!r}".encode(), digest_size=16).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def interrupt_id(task_ns: str, index: int) -> str:
    """32 hex characters, as LangGraph's interrupt ids."""
    return hashlib.blake2b(f"{task_ns}|{index}".encode(), digest_size=16).hexdigest()


def is_interrupt_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
