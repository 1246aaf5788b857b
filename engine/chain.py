"""ThreadChain: one (thread, namespace) checkpoint chain as a writer sees it.

It remembers the head it read, so every save is conditional on that head: two processes can never
both continue from the same checkpoint. Without a checkpointer (or a thread id) nothing is stored
and the head only advances in memory.

A run may start from the head its checkpointer remembers (`load(recall=True)`, a
RecallingCheckpointer) instead of reading it. That head is `unconfirmed` until the chain's first
write, which is then also conditional on the head's pending writes being those the run prepared
from; a refused write leaves it unconfirmed, and the run prepares again from the head the refusal
brought back (`retry_from`). Only the first write needs this: once one succeeds, the head is the
chain's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import serde
from .checkpoint.base import Head
from .errors import CheckpointConflict, ConfigError
from .ids import new_checkpoint_id
from .record import Checkpoint, now_iso

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer


# Configurable keys that say where a checkpoint or task is: a checkpoint's metadata never repeats them.
LOCATING_KEYS = frozenset({
    "thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map", "langgraph_step", "langgraph_node",
    "langgraph_triggers", "langgraph_path", "langgraph_checkpoint_ns",
})


def checkpoint_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """What a run's or an update's config adds to the metadata of each checkpoint it writes, as LangGraph's
    savers add it: all of `config["metadata"]`, then the scalar values (str, int, float, bool) of
    `configurable`, except keys starting with "__" and LOCATING_KEYS, NUL characters dropped from strings.
    A key in both keeps the metadata's value."""
    added: dict[str, Any] = {}
    for key, value in (config.get("configurable") or {}).items():
        if key.startswith("__") or key in LOCATING_KEYS:
            continue
        if isinstance(value, str):
            added[key] = value.replace("\x00", "")
        elif isinstance(value, (int, float)):  # bool is an int
            added[key] = value
    return {**added, **(config.get("metadata") or {})}


class ThreadChain:
    def __init__(self, saver: Checkpointer | None, thread_id: str | None, ns: str,
                 metadata: dict[str, Any] | None = None, parents: dict[str, str] | None = None) -> None:
        self.saver = saver
        self.thread_id = thread_id
        self.ns = ns
        self.metadata = dict(metadata or {})  # given to every checkpoint this writer makes
        self.parents = dict(parents or {})  # a subgraph's callers' checkpoints, recorded on each of its own
        self.head_id: str | None = None
        self.unconfirmed: Head | None = None  # the remembered head this run prepared from, until a write confirms it
        self._given: Head | None = None  # a head a refused write brought back: the next load uses it
        self.writes = 0  # writes stored so far
        self.refused = 0  # writes the store refused (CheckpointConflict)

    @property
    def stores(self) -> bool:
        return self.saver is not None and self.thread_id is not None

    async def load(self, checkpoint_id: str | None = None, *, recall: bool = False,
                   new_thread: bool = False) -> Checkpoint | None:
        """The head (remembered as the base of the next save), or `checkpoint_id` when given.

        With `recall`, the head the checkpointer remembers, if it does (`new_thread`: if it does not,
        take the thread for new), left `unconfirmed` for the first write to check.
        """
        if self.saver is None or self.thread_id is None:
            return None
        self.unconfirmed = None
        recalled = self._recall(new_thread) if recall and checkpoint_id is None else None
        if self._given is not None:
            head, self._given = self._given.checkpoint, None
        elif recalled is not None:
            self.unconfirmed = recalled
            head = recalled.checkpoint
        else:
            head = await self.saver.load(self.thread_id, self.ns)
        self.head_id = head.id if head else None
        if checkpoint_id and (head is None or head.id != checkpoint_id):
            saved = await self.saver.load(self.thread_id, self.ns, checkpoint_id)
            if saved is None:
                raise ConfigError(f"Checkpoint {checkpoint_id!r} not found on thread {self.thread_id!r}")
            return Checkpoint.decode(saved)
        return Checkpoint.decode(head) if head else None

    def _recall(self, new_thread: bool) -> Head | None:
        recall = getattr(self.saver, "recall", None)
        if recall is None or self.thread_id is None:
            return None
        head: Head | None = recall(self.thread_id, self.ns, unknown_is_new=new_thread)
        return head

    def retry_from(self, error: BaseException | None) -> None:
        """Forget the unconfirmed head; the next load reads the thread, or takes the head `error` brought back."""
        self.unconfirmed = None
        current = error.current if isinstance(error, CheckpointConflict) else None
        self._given = current if isinstance(current, Head) else None

    def _confirming(self) -> dict[str, Any]:
        """The first write's extra condition: the remembered head's writes are still the same."""
        head = self.unconfirmed
        if head is None or head.checkpoint is None:
            return {}
        return {"expected_writes": head.checkpoint.writes}

    async def load_before(self, bound: str) -> Checkpoint | None:
        """The latest checkpoint older than `bound` (the head is still remembered as the base)."""
        if self.saver is None or self.thread_id is None:
            return None
        head = await self.saver.load(self.thread_id, self.ns)
        self.head_id = head.id if head else None
        older = await self.saver.history(self.thread_id, self.ns, limit=1, before=bound)
        return Checkpoint.decode(older[0]) if older else None

    def new(self, parent: Checkpoint | None, values: dict[str, Any], tasks: list[dict[str, Any]],
            barriers: dict[str, list[str]], step: int, source: str, last: list[str]) -> Checkpoint:
        return Checkpoint(
            id=new_checkpoint_id(after=self.head_id),
            parent_id=parent.id if parent else None,
            values=values,
            tasks=tasks,
            barriers=barriers,
            step=step,
            source=source,
            created_at=now_iso(),
            last=last,
            metadata=dict(self.metadata),
            parents=dict(self.parents),
        )

    async def save(self, checkpoint: Checkpoint, *, after: Checkpoint | None = None) -> None:
        """Stores `checkpoint` as the new head; with `after`, stores that one first, in the same write."""
        if self.saver is None or self.thread_id is None:
            self.head_id = checkpoint.id
            return
        extra = self._confirming()
        try:
            if after is None:
                await self.saver.save(self.thread_id, self.ns, checkpoint.encode(), expected_head=self.head_id, **extra)
            else:
                await self.saver.save(
                    self.thread_id, self.ns, after.encode(), expected_head=self.head_id, then=checkpoint.encode(),
                    **extra,
                )
        except CheckpointConflict:
            self.refused += 1
            raise
        self.head_id = checkpoint.id
        self.unconfirmed = None
        self.writes += 1

    async def save_writes(self, checkpoint: Checkpoint, writes: dict[str, Any], *, exclusive: bool = False,
                          discard: Sequence[str] = ()) -> None:
        """Attaches `writes` to `checkpoint` (the head); `discard` names writes removed in the same write."""
        for key in discard:
            checkpoint.writes.pop(key, None)
        checkpoint.writes.update(writes)
        if self.saver is None or self.thread_id is None or not (writes or discard):
            return
        blobs = {key: serde.dumps(value, f"pending write {key}") for key, value in writes.items()}
        try:
            await self.saver.save_writes(self.thread_id, self.ns, checkpoint.id, blobs, exclusive=exclusive,
                                         discard=discard, **self._confirming())
        except CheckpointConflict:
            self.refused += 1
            raise
        self.unconfirmed = None
        self.writes += 1
