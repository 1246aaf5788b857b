"""The state each thread's last run in this process ended at, for a saver that remembers the heads it
last read or wrote (RedisSaver.recall): kept to answer the next resume's look at the thread, which
would decode that same remembered head again.

A kept state answers only while the saver still remembers the very head it was decoded from (the
same object: any write, read or refused write of the thread since replaces it, and forgetting drops
it), with the same graph; else the state is decoded afresh. What the saver remembers is itself only
a hint: the resume's claim checks the head in the store (bot.runs.execution).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from engine import CompiledGraph, StateSnapshot
from engine.spec import GraphSpec

KEPT = 1000  # threads whose ended state is kept, the least recently ended dropped first
Read = Callable[[], Awaitable[StateSnapshot]]


class RecalledStates:
    def __init__(self, saver: Any, limit: int = KEPT) -> None:
        self._recall = getattr(saver, "recall", None)
        self.limit = limit
        self._states: dict[str, tuple[GraphSpec, object, StateSnapshot]] = {}

    def _head(self, thread_id: str) -> object | None:
        head = self._recall(thread_id, "") if self._recall is not None else None
        return head.checkpoint if head is not None else None

    async def ended(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """`read()` (the run's end, decoded from the remembered head), kept for the next resume."""
        head = self._head(thread_id)
        state = await read()
        self._states.pop(thread_id, None)
        if head is not None and self._head(thread_id) is head:
            self._states[thread_id] = (graph.spec, head, state)
            while len(self._states) > self.limit:
                del self._states[next(iter(self._states))]
        return state

    async def current(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """The kept state while the saver remembers the same head (and the same graph reads it), else `read()`."""
        kept = self._states.pop(thread_id, None)
        if kept is not None and kept[0] is graph.spec and kept[1] is self._head(thread_id):
            return kept[2]
        return await read()
