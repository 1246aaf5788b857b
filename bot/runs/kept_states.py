"""The state each thread's last run in this process ended at, kept to answer the next run's look at
the thread (a resume looks before it runs: is anything left to run, which pauses it answers) without
reading and decoding that same head again.

A kept state answers only while the thread's head is still the checkpoint it was decoded from, and
only to the graph that decoded it; it is answered once (a run that follows writes a new head). What
"the head" is depends on what it stands in for:
- `stored`: the head in the store, byte for byte (same id, body and pending writes), so the kept
  state is what a read would decode now. Only where that look is cheap and nothing outside this
  process writes: process-local records over the in-memory checkpointer.
- `recalled`: the head the saver remembers (RedisSaver.recall), which any write, read or refused
  write of the thread replaces. That is itself only a hint: use it only where the run's resume claim
  checks the head in the store (bot.runs.execution).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from engine import Checkpointer, CompiledGraph, StateSnapshot
from engine.spec import GraphSpec

KEPT = 1000  # threads whose ended state is kept, the least recently ended dropped first
Read = Callable[[], Awaitable[StateSnapshot]]
Head = Callable[[str], Awaitable[object | None]]  # a thread's head now, as this kind of kept state sees it


class KeptStates:
    def __init__(self, head: Head | None, limit: int = KEPT) -> None:
        self._head = head
        self.enabled = head is not None  # disabled, every look is a read
        self.limit = limit
        self._states: dict[str, tuple[GraphSpec, object, StateSnapshot]] = {}

    @classmethod
    def stored(cls, saver: Checkpointer, enabled: bool, limit: int = KEPT) -> KeptStates:
        """Kept while the stored head is unchanged; `enabled` only where nothing else writes the store."""

        async def head(thread_id: str) -> object | None:
            return await saver.load(thread_id, "")

        return cls(head if enabled else None, limit)

    @classmethod
    def recalled(cls, saver: Any, limit: int = KEPT) -> KeptStates:
        """Kept while the saver remembers the same head; disabled for a saver that remembers none."""
        recall = getattr(saver, "recall", None)
        if not callable(recall):
            return cls(None, limit)

        async def head(thread_id: str) -> object | None:
            remembered = recall(thread_id, "")
            return remembered.checkpoint if remembered is not None else None

        return cls(head, limit)

    async def ended(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """`read()` (the thread's state as the run that holds it left it), kept for the next look
        when the head did not change while it was read."""
        if self._head is None:
            return await read()
        head = await self._head(thread_id)
        state = await read()
        self._states.pop(thread_id, None)
        if head is not None and await self._head(thread_id) == head:
            self._states[thread_id] = (graph.spec, head, state)
            while len(self._states) > self.limit:
                del self._states[next(iter(self._states))]
        return state

    async def current(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """The kept state while the head is the one it was decoded from (and the same graph asks),
        else `read()`."""
        kept = self._states.pop(thread_id, None) if self._head is not None else None
        if kept is not None and kept[0] is graph.spec and await self._head(thread_id) == kept[1]:  # type: ignore[misc]
            return kept[2]
        return await read()
