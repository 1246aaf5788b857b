"""The in-memory reference checkpointer: the behaviour every other checkpointer must match."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from ..errors import CheckpointConflict
from .base import SavedCheckpoint


@dataclass
class _Chain:
    head: str | None = None
    order: list[str] = field(default_factory=list)  # checkpoint ids, oldest first
    blobs: dict[str, SavedCheckpoint] = field(default_factory=dict)
    writes: dict[str, dict[str, bytes]] = field(default_factory=dict)


class InMemorySaver:
    """Keeps checkpoints in this process. Nothing survives a restart."""

    durable = False  # nothing outlives the process, so per-task crash saves are pointless

    def __init__(self) -> None:
        self._threads: dict[str, dict[str, _Chain]] = {}
        self._lock = threading.Lock()  # no await inside: a plain lock, safe across loops and threads

    def _chain(self, thread_id: str, ns: str) -> _Chain | None:
        return self._threads.get(thread_id, {}).get(ns)

    def _with_writes(self, chain: _Chain, checkpoint_id: str) -> SavedCheckpoint:
        saved = chain.blobs[checkpoint_id]
        return SavedCheckpoint(saved.id, saved.parent_id, saved.blob, dict(chain.writes.get(checkpoint_id, {})))

    async def load(self, thread_id: str, ns: str, checkpoint_id: str | None = None) -> SavedCheckpoint | None:
        chain = self._chain(thread_id, ns)
        if chain is None:
            return None
        wanted = checkpoint_id or chain.head
        if wanted is None or wanted not in chain.blobs:
            return None
        return self._with_writes(chain, wanted)

    async def save(
        self,
        thread_id: str,
        ns: str,
        checkpoint: SavedCheckpoint,
        *,
        expected_head: str | None,
        then: SavedCheckpoint | None = None,
    ) -> None:
        with self._lock:
            chain = self._threads.setdefault(thread_id, {}).setdefault(ns, _Chain())
            if chain.head != expected_head:
                raise CheckpointConflict(
                    f"Thread {thread_id!r} moved on: its head is {chain.head!r}, not {expected_head!r}"
                )
            for saved in (checkpoint, then) if then is not None else (checkpoint,):
                chain.blobs[saved.id] = SavedCheckpoint(saved.id, saved.parent_id, saved.blob)
                chain.order.append(saved.id)
                chain.head = saved.id

    async def save_writes(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        writes: Mapping[str, bytes],
        *,
        exclusive: bool = False,
        discard: Collection[str] = (),
    ) -> None:
        with self._lock:
            chain = self._chain(thread_id, ns)
            if chain is None or chain.head != checkpoint_id:
                raise CheckpointConflict(f"Thread {thread_id!r} moved on from checkpoint {checkpoint_id!r}")
            existing = chain.writes.setdefault(checkpoint_id, {})
            if exclusive and any(key in existing for key in writes):
                raise CheckpointConflict(f"Thread {thread_id!r}: this pause was already answered")
            for key in discard:
                existing.pop(key, None)
            existing.update(writes)

    async def history(
        self, thread_id: str, ns: str, *, limit: int | None = None, before: str | None = None
    ) -> list[SavedCheckpoint]:
        chain = self._chain(thread_id, ns)
        if chain is None:
            return []
        ids = chain.order
        if before is not None:
            ids = [i for i in ids if i < before]
        newest_first = list(reversed(ids))
        if limit is not None:
            newest_first = newest_first[:limit]
        return [self._with_writes(chain, i) for i in newest_first]

    async def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(thread_id, None)


MemorySaver = InMemorySaver
