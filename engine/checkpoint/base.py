"""The checkpointer protocol: what the engine needs from storage, and nothing more.

A thread is a chain of checkpoints per namespace (`""` for the root graph, `"node:<task>"` for a
subgraph). The engine serialises everything itself; a checkpointer stores opaque blobs, keeps a
head pointer per (thread, namespace), and makes every write conditional on that head so that two
processes can never both continue from the same checkpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SavedCheckpoint:
    """One stored checkpoint.

    `blob` is the engine's serialised body (values, next tasks, metadata). `writes` maps a task key
    to that task's serialised pending writes: finished tasks of an interrupted step, interrupt
    records and resume values. It is empty on save and filled on load.
    """

    id: str
    parent_id: str | None
    blob: bytes
    writes: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Head:
    """The head of a (thread, namespace) as a checkpointer saw it; `checkpoint` None: it had none."""

    checkpoint: SavedCheckpoint | None


@runtime_checkable
class Checkpointer(Protocol):
    """Async storage for checkpoints. Implementations: InMemorySaver, RedisSaver.

    An implementation may set `durable = False` when its data dies with the process; the engine
    then skips saving each finished task of a parallel step (a crash loses everything anyway).
    """

    async def load(self, thread_id: str, ns: str, checkpoint_id: str | None = None) -> SavedCheckpoint | None:
        """The head checkpoint of (thread, ns) when `checkpoint_id` is None, else that one; None if absent."""
        ...

    async def save(
        self,
        thread_id: str,
        ns: str,
        checkpoint: SavedCheckpoint,
        *,
        expected_head: str | None,
        then: SavedCheckpoint | None = None,
    ) -> None:
        """Store `checkpoint` and make it the head, only if the head is still `expected_head`.

        `expected_head=None` means the (thread, ns) must have no checkpoint yet. `then`, a checkpoint
        whose parent is `checkpoint`, is stored in the same atomic write and becomes the head (the
        engine saves a run's input and its first step together). On mismatch raise
        CheckpointConflict and store nothing.
        """
        ...

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
        """Attach pending writes (task key -> blob) to `checkpoint_id`, which must be the head.

        With `exclusive`, fail if any of the task keys already has writes. `discard` names task keys
        whose writes are removed in the same atomic write (an answer its interrupt refused, so the
        pause can be claimed again). On any failure raise CheckpointConflict and store nothing.
        """
        ...

    async def history(
        self, thread_id: str, ns: str, *, limit: int | None = None, before: str | None = None
    ) -> list[SavedCheckpoint]:
        """Checkpoints of (thread, ns), newest first, older than `before` when given, at most `limit`."""
        ...

    async def delete_thread(self, thread_id: str) -> None:
        """Remove every checkpoint of the thread, in all namespaces."""
        ...


@runtime_checkable
class RecallingCheckpointer(Checkpointer, Protocol):
    """A checkpointer that remembers the heads it last read or wrote, to spare a read per run.

    `recall` answers from this process's memory, without asking the store: a hint, never the truth.
    A writer that prepared from a recalled head passes that head's writes as `expected_writes` to its
    first write, which then also fails (CheckpointConflict) unless the head's pending writes are still
    exactly those; a head id alone does not say whether writes were added to it since. A refused
    write should carry the current head as `CheckpointConflict.current`.
    """

    def recall(self, thread_id: str, ns: str, *, unknown_is_new: bool = False) -> Head | None:
        """The head as last seen by this process, or None when it does not remember one; with
        `unknown_is_new`, an empty head then (the caller's first write finds out), unless the saver
        remembers nothing at all (it then always answers None: every run reads first)."""
        ...

    async def save(
        self,
        thread_id: str,
        ns: str,
        checkpoint: SavedCheckpoint,
        *,
        expected_head: str | None,
        then: SavedCheckpoint | None = None,
        expected_writes: Mapping[str, bytes] | None = None,
    ) -> None: ...

    async def save_writes(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        writes: Mapping[str, bytes],
        *,
        exclusive: bool = False,
        discard: Collection[str] = (),
        expected_writes: Mapping[str, bytes] | None = None,
    ) -> None: ...
