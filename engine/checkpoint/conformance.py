"""The Checkpointer contract as a library: `validate(make_saver)` runs every check against any
Checkpointer and reports what it breaks, so a third-party checkpointer is validated with one call:

    report = await validate(lambda: MySaver(...))
    report.raise_for_failures()

`make_saver` returns a saver on one shared store each time it is called (for a client-server
store, a new client, as another process would have). The checks use thread ids of their own
(`t-<uuid>`) and touch no other thread. They are written as assertions: run them without `-O`.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import CheckpointConflict
from ..ids import new_checkpoint_id
from .base import Checkpointer, Head, RecallingCheckpointer, SavedCheckpoint

SaverFactory = Callable[[], Checkpointer]
Check = Callable[[SaverFactory], Awaitable[None]]


@contextmanager
def _conflicts(current: list[object] | None = None) -> Iterator[None]:
    """The block must raise CheckpointConflict (whose `current` head is appended to `current`)."""
    try:
        yield
    except CheckpointConflict as exc:
        if current is not None:
            current.append(exc.current)
        return
    raise AssertionError("expected CheckpointConflict, nothing was raised")


def _thread() -> str:
    return f"t-{uuid.uuid4().hex}"


def _cp(parent: str | None = None, blob: bytes | None = None) -> SavedCheckpoint:
    cid = new_checkpoint_id(after=parent)
    return SavedCheckpoint(cid, parent, blob if blob is not None else f"body of {cid}".encode())


async def _chain(saver: Checkpointer, tid: str, n: int, ns: str = "") -> list[SavedCheckpoint]:
    out: list[SavedCheckpoint] = []
    for _ in range(n):
        new = _cp(out[-1].id if out else None)
        await saver.save(tid, ns, new, expected_head=out[-1].id if out else None)
        out.append(new)
    return out


async def empty_thread(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    assert await saver.load(tid, "") is None
    assert await saver.load(tid, "", "no-such-id") is None
    assert await saver.history(tid, "") == []
    await saver.delete_thread(tid)


async def save_then_load_head_and_by_id(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    first, second = await _chain(saver, tid, 2)
    head = await saver.load(tid, "")
    assert head == SavedCheckpoint(second.id, first.id, second.blob, {})
    assert await saver.load(tid, "", first.id) == SavedCheckpoint(first.id, None, first.blob, {})
    assert await saver.load(tid, "", "0000-unknown") is None


async def blobs_and_writes_are_bytes_exact(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    odd = bytes(range(256)) + b"\0\0:12:" + "é".encode()
    first = _cp(blob=odd)
    await saver.save(tid, "", first, expected_head=None)
    writes = {"done:x": b"", "res:a:b:c": b"12:34:\0", "k\u00e9y": odd}
    await saver.save_writes(tid, "", first.id, writes)
    loaded = await saver.load(tid, "")
    assert loaded is not None and loaded.blob == odd and dict(loaded.writes) == writes


async def stale_expected_head_conflicts_and_changes_nothing(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    first, second = await _chain(saver, tid, 2)
    await saver.save_writes(tid, "", second.id, {"int:t": b"pause"})
    rejected = _cp(first.id)
    with _conflicts():
        await saver.save(tid, "", rejected, expected_head=first.id)
    with _conflicts():
        await saver.save(tid, "", _cp(), expected_head=None)  # None means "no checkpoint yet"
    assert await saver.load(tid, "", rejected.id) is None
    head = await saver.load(tid, "")
    assert head is not None and head.id == second.id and dict(head.writes) == {"int:t": b"pause"}
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id]


async def save_with_then_stores_two_checkpoints_in_one_write(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    [base] = await _chain(saver, tid, 1)
    first = _cp(base.id)
    second = _cp(first.id)
    await saver.save(tid, "", first, expected_head=base.id, then=second)
    head = await saver.load(tid, "")
    assert head == SavedCheckpoint(second.id, first.id, second.blob, {})
    assert await saver.load(tid, "", first.id) == SavedCheckpoint(first.id, base.id, first.blob, {})
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id, base.id]
    stale, after_stale = _cp(base.id), _cp()
    with _conflicts():
        await saver.save(tid, "", stale, expected_head=base.id, then=after_stale)
    assert await saver.load(tid, "", stale.id) is None and await saver.load(tid, "", after_stale.id) is None
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id, base.id]


async def head_of_missing_thread_is_none_for_expected_head(make: SaverFactory) -> None:
    saver = make()
    with _conflicts():
        await saver.save(_thread(), "", _cp(), expected_head="00000000-0000-0000-0000-000000000000")


async def save_writes_attach_to_head_and_merge(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    (first,) = await _chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"done:a": b"A1", "int:b": b"B"})
    await saver.save_writes(tid, "", first.id, {"done:a": b"A2", "done:c": b"C"})  # not exclusive: overwrite
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"done:a": b"A2", "int:b": b"B", "done:c": b"C"}


async def save_writes_needs_the_head(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    with _conflicts():
        await saver.save_writes(tid, "", "00000000-0000-0000-0000-000000000000", {"k": b"v"})
    first, second = await _chain(saver, tid, 2)
    with _conflicts():
        await saver.save_writes(tid, "", first.id, {"k": b"v"})
    assert (await saver.load(tid, "", first.id)).writes == {}  # type: ignore[union-attr]
    assert (await saver.load(tid, "", second.id)).writes == {}  # type: ignore[union-attr]


async def exclusive_writes_store_all_or_nothing(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    (first,) = await _chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"res:t:1": b"first answer"}, exclusive=True)
    with _conflicts():
        await saver.save_writes(tid, "", first.id, {"res:t:2": b"new", "res:t:1": b"second answer"}, exclusive=True)
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"res:t:1": b"first answer"}
    await saver.save_writes(tid, "", first.id, {"res:t:2": b"other"}, exclusive=True)  # fresh keys are fine
    head = await saver.load(tid, "")
    assert head is not None and set(head.writes) == {"res:t:1", "res:t:2"}


async def concurrent_claims_have_one_winner(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    (first,) = await _chain(saver, tid, 1)

    async def claim(i: int) -> bool:
        try:
            await saver.save_writes(tid, "", first.id, {"res:t:i": str(i).encode()}, exclusive=True)
        except CheckpointConflict:
            return False
        return True

    async def advance() -> bool:
        try:
            await saver.save(tid, "", _cp(first.id), expected_head=first.id)
        except CheckpointConflict:
            return False
        return True

    assert sum(await asyncio.gather(*(claim(i) for i in range(20)))) == 1
    assert sum(await asyncio.gather(*(advance() for _ in range(20)))) == 1
    assert len(await saver.history(tid, "")) == 2


async def writes_stay_with_their_checkpoint(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    (first,) = await _chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"int:a": b"pause"})
    second = _cp(first.id)
    await saver.save(tid, "", second, expected_head=first.id)
    assert (await saver.load(tid, "")).writes == {}  # type: ignore[union-attr]
    older = await saver.load(tid, "", first.id)
    assert older is not None and dict(older.writes) == {"int:a": b"pause"}
    newest_first = await saver.history(tid, "")
    assert [dict(c.writes) for c in newest_first] == [{}, {"int:a": b"pause"}]


async def history_order_limit_before(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    saved = await _chain(saver, tid, 6)
    ids = [c.id for c in reversed(saved)]
    assert [c.id for c in await saver.history(tid, "")] == ids
    assert [c.id for c in await saver.history(tid, "", limit=2)] == ids[:2]
    assert [c.id for c in await saver.history(tid, "", before=ids[2])] == ids[3:]
    assert [c.id for c in await saver.history(tid, "", before=ids[1], limit=2)] == ids[2:4]
    assert await saver.history(tid, "", before=ids[-1]) == []
    assert await saver.history(tid, "", limit=0) == []
    (entry,) = await saver.history(tid, "", before=ids[0], limit=1)
    assert entry == SavedCheckpoint(saved[-2].id, saved[-3].id, saved[-2].blob, {})


async def long_history(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    saved = await _chain(saver, tid, 1200)
    everything = await saver.history(tid, "")
    assert [c.id for c in everything] == [c.id for c in reversed(saved)]
    assert everything[-1].blob == saved[0].blob


async def namespaces_are_separate(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    namespaces = ["", "node:a", "node:a|inner:b", "node:ab"]
    chains = {ns: await _chain(saver, tid, 2, ns) for ns in namespaces}
    for ns, saved in chains.items():
        head = await saver.load(tid, ns)
        assert head is not None and head.id == saved[-1].id
        assert [c.id for c in await saver.history(tid, ns)] == [c.id for c in reversed(saved)]
    await saver.save_writes(tid, "node:a", chains["node:a"][-1].id, {"int:x": b"1"})
    assert (await saver.load(tid, "node:ab")).writes == {}  # type: ignore[union-attr]
    with _conflicts():  # the root's head is not the subgraph's
        await saver.save(tid, "", _cp(), expected_head=chains["node:a"][-1].id)


async def delete_thread_removes_every_namespace_only_of_that_thread(make: SaverFactory) -> None:
    saver = make()
    tid, other = _thread(), _thread()
    await _chain(saver, tid, 2)
    sub = await _chain(saver, tid, 1, "node:x")
    await saver.save_writes(tid, "node:x", sub[0].id, {"int:y": b"p"})
    kept = await _chain(saver, other, 1)
    await saver.delete_thread(tid)
    for ns in ("", "node:x"):
        assert await saver.load(tid, ns) is None
        assert await saver.history(tid, ns) == []
    assert (await saver.load(other, "")).id == kept[0].id  # type: ignore[union-attr]
    await _chain(saver, tid, 1)  # a deleted thread starts afresh


async def fresh_saver_sees_everything(make: SaverFactory) -> None:
    tid = _thread()
    saved = await _chain(make(), tid, 3)
    await make().save_writes(tid, "", saved[-1].id, {"int:z": b"pause"})
    other = make()
    head = await other.load(tid, "")
    assert head is not None and head.id == saved[-1].id and dict(head.writes) == {"int:z": b"pause"}
    assert len(await other.history(tid, "")) == 3


async def discarded_writes_go_in_the_same_write_and_can_be_claimed_again(make: SaverFactory) -> None:
    saver = make()
    tid = _thread()
    (first,) = await _chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"int:t": b"pause", "res:t:1": b"refused", "res:u:2": b"kept"},
                            exclusive=True)
    await saver.save_writes(tid, "", first.id, {"err:t": b"why"}, discard=["res:t:1", "res:absent:9"])
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"int:t": b"pause", "res:u:2": b"kept", "err:t": b"why"}
    await saver.save_writes(tid, "", first.id, {"res:t:1": b"second answer"}, exclusive=True)  # the claim is free
    with _conflicts():
        await saver.save_writes(tid, "", first.id, {"res:u:2": b"again"}, exclusive=True)
    head = await saver.load(tid, "")
    assert head is not None and head.writes["res:t:1"] == b"second answer" and head.writes["res:u:2"] == b"kept"
    second = _cp(first.id)
    await saver.save(tid, "", second, expected_head=first.id)
    with _conflicts():  # like any write, only on the head
        await saver.save_writes(tid, "", first.id, {}, discard=["res:t:1"])
    assert dict((await saver.load(tid, "", first.id)).writes)["res:t:1"] == b"second answer"  # type: ignore[union-attr]


async def remembered_heads_are_checked_by_their_writes(make: SaverFactory) -> None:
    """A RecallingCheckpointer: recall follows its own reads and writes only; a write conditional on
    the head's writes (`expected_writes`) fails when they changed, and a refusal carries the head."""
    saver, other = make(), make()
    if not isinstance(saver, RecallingCheckpointer) or not isinstance(other, RecallingCheckpointer):
        return  # an optional capability
    tid = _thread()
    found: list[object] = []
    with _conflicts(found):
        await saver.save(tid, "", _cp(), expected_head="00000000-0000-0000-0000-000000000000")
    assert found == [Head(None)] and saver.recall(tid, "") == Head(None)
    (first,) = await _chain(saver, tid, 1)
    assert saver.recall(tid, "") == Head(first) and other.recall(tid, "") is None
    await saver.save_writes(tid, "", first.id, {"int:t": b"pause"})
    remembered = saver.recall(tid, "")
    assert remembered is not None and remembered.checkpoint is not None
    assert dict(remembered.checkpoint.writes) == {"int:t": b"pause"}
    await other.save_writes(tid, "", first.id, {"cmd:0001": b"update"})  # unseen by `saver`
    with _conflicts(found):
        await saver.save_writes(tid, "", first.id, {"res:t:1": b"a"}, exclusive=True,
                                expected_writes=remembered.checkpoint.writes)
    current = SavedCheckpoint(first.id, None, first.blob, {"int:t": b"pause", "cmd:0001": b"update"})
    assert found[-1] == Head(current) and saver.recall(tid, "") == Head(current)
    with _conflicts(found):
        await saver.save(tid, "", _cp(first.id), expected_head=first.id, expected_writes={"int:t": b"pause"})
    assert found[-1] == Head(current)
    await saver.save_writes(tid, "", first.id, {"res:t:1": b"a"}, exclusive=True, expected_writes=current.writes)
    with _conflicts(found):  # the answer is taken: the refusal shows it
        await other.save_writes(tid, "", first.id, {"res:t:1": b"b"}, exclusive=True)
    assert isinstance(found[-1], Head) and found[-1].checkpoint is not None
    assert found[-1].checkpoint.writes["res:t:1"] == b"a"
    second = _cp(first.id)
    await other.save(tid, "", second, expected_head=first.id)
    with _conflicts(found):  # `saver` remembers `first`: stale, and the refusal says what the head is
        await saver.save_writes(tid, "", first.id, {"done:x": b""})
    assert found[-1] == Head(SavedCheckpoint(second.id, first.id, second.blob, {}))
    assert saver.recall(tid, "") == found[-1]
    await saver.delete_thread(tid)
    assert saver.recall(tid, "") is None


CHECKS: dict[str, Check] = {
    "empty_thread": empty_thread,
    "save_then_load_head_and_by_id": save_then_load_head_and_by_id,
    "blobs_and_writes_are_bytes_exact": blobs_and_writes_are_bytes_exact,
    "stale_expected_head_conflicts_and_changes_nothing": stale_expected_head_conflicts_and_changes_nothing,
    "save_with_then_stores_two_checkpoints_in_one_write": save_with_then_stores_two_checkpoints_in_one_write,
    "head_of_missing_thread_is_none_for_expected_head": head_of_missing_thread_is_none_for_expected_head,
    "save_writes_attach_to_head_and_merge": save_writes_attach_to_head_and_merge,
    "save_writes_needs_the_head": save_writes_needs_the_head,
    "exclusive_writes_store_all_or_nothing": exclusive_writes_store_all_or_nothing,
    "concurrent_claims_have_one_winner": concurrent_claims_have_one_winner,
    "writes_stay_with_their_checkpoint": writes_stay_with_their_checkpoint,
    "history_order_limit_before": history_order_limit_before,
    "long_history": long_history,
    "namespaces_are_separate": namespaces_are_separate,
    "delete_thread_removes_every_namespace_only_of_that_thread": delete_thread_removes_every_namespace_only_of_that_thread,
    "discarded_writes_go_in_the_same_write_and_can_be_claimed_again": discarded_writes_go_in_the_same_write_and_can_be_claimed_again,
    "fresh_saver_sees_everything": fresh_saver_sees_everything,
    "remembered_heads_are_checked_by_their_writes": remembered_heads_are_checked_by_their_writes,
}


@dataclass
class ConformanceReport:
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # check name -> what went wrong

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> None:
        if self.failed:
            listed = "\n\n".join(f"{name}:\n{why}" for name, why in self.failed.items())
            total = len(self.failed) + len(self.passed)
            raise AssertionError(f"{len(self.failed)} of {total} checkpointer checks failed:\n{listed}")


async def validate(make_saver: SaverFactory, *, only: Iterable[str] | None = None) -> ConformanceReport:
    """Runs the checks (all, or those named in `only`) one after another and reports each."""
    if not __debug__:
        raise RuntimeError("the conformance checks are assertions: run Python without -O")
    names = list(CHECKS) if only is None else list(only)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {', '.join(CHECKS)}")
    report = ConformanceReport()
    for name in names:
        try:
            await CHECKS[name](make_saver)
        except Exception:
            report.failed[name] = traceback.format_exc()
        else:
            report.passed.append(name)
    return report
