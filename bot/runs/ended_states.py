"""The state each thread's last run in this process ended at, kept to answer the next run's read of
the thread (a resume reads it before it runs: is anything left to run, which pauses it answers).

A kept state answers only while the thread's stored head is still, byte for byte, the checkpoint it
was read from (same id, same body, same pending writes), so it is what a read would decode now.
Used where that comparison is cheap and the store is this process's alone (process-local records
over an in-memory checkpointer); elsewhere every read goes to the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from engine import Checkpointer, CompiledGraph, SavedCheckpoint, StateSnapshot
from engine.spec import GraphSpec

KEPT = 1000  # threads whose ended state is kept, the least recently ended dropped first
Read = Callable[[], Awaitable[StateSnapshot]]


class EndedStates:
    def __init__(self, saver: Checkpointer, enabled: bool, limit: int = KEPT) -> None:
        self.saver = saver
        self.enabled = enabled
        self.limit = limit
        self._states: dict[str, tuple[GraphSpec, SavedCheckpoint, StateSnapshot]] = {}

    async def ended(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """`read()` (the thread's state as the run that holds it left it), kept for the next read
        when the head did not change while it was read."""
        if not self.enabled:
            return await read()
        head = await self.saver.load(thread_id, "")
        state = await read()
        self._states.pop(thread_id, None)
        if head is not None and await self.saver.load(thread_id, "") == head:
            self._states[thread_id] = (graph.spec, head, state)
            while len(self._states) > self.limit:
                del self._states[next(iter(self._states))]
        return state

    async def current(self, thread_id: str, graph: CompiledGraph, read: Read) -> StateSnapshot:
        """The thread's state now: the kept one while the head is the one it was read from (and the
        same graph reads it), else `read()`."""
        kept = self._states.pop(thread_id, None) if self.enabled else None
        if kept is not None and kept[0] is graph.spec and await self.saver.load(thread_id, "") == kept[1]:
            return kept[2]
        return await read()
