"""The Checkpointer contract, run against InMemorySaver, RedisSaver on one server, and on a cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from engine import CheckpointConflict, SavedCheckpoint
from engine.checkpoint.base import Checkpointer
from engine.ids import new_checkpoint_id


def thread() -> str:
    return f"t-{uuid.uuid4().hex}"


def cp(parent: str | None = None, blob: bytes | None = None) -> SavedCheckpoint:
    cid = new_checkpoint_id(after=parent)
    return SavedCheckpoint(cid, parent, blob if blob is not None else f"body of {cid}".encode())


async def chain(saver: Checkpointer, tid: str, n: int, ns: str = "") -> list[SavedCheckpoint]:
    out: list[SavedCheckpoint] = []
    for _ in range(n):
        new = cp(out[-1].id if out else None)
        await saver.save(tid, ns, new, expected_head=out[-1].id if out else None)
        out.append(new)
    return out


async def test_empty_thread(saver: Checkpointer) -> None:
    tid = thread()
    assert await saver.load(tid, "") is None
    assert await saver.load(tid, "", "no-such-id") is None
    assert await saver.history(tid, "") == []
    await saver.delete_thread(tid)


async def test_save_then_load_head_and_by_id(saver: Checkpointer) -> None:
    tid = thread()
    first, second = await chain(saver, tid, 2)
    head = await saver.load(tid, "")
    assert head == SavedCheckpoint(second.id, first.id, second.blob, {})
    assert await saver.load(tid, "", first.id) == SavedCheckpoint(first.id, None, first.blob, {})
    assert await saver.load(tid, "", "0000-unknown") is None


async def test_blobs_and_writes_are_bytes_exact(saver: Checkpointer) -> None:
    tid = thread()
    odd = bytes(range(256)) + b"\0\0:12:" + "é".encode()
    first = cp(blob=odd)
    await saver.save(tid, "", first, expected_head=None)
    writes = {"done:x": b"", "res:a:b:c": b"12:34:\0", "k\u00e9y": odd}
    await saver.save_writes(tid, "", first.id, writes)
    loaded = await saver.load(tid, "")
    assert loaded is not None and loaded.blob == odd and dict(loaded.writes) == writes


async def test_stale_expected_head_conflicts_and_changes_nothing(saver: Checkpointer) -> None:
    tid = thread()
    first, second = await chain(saver, tid, 2)
    await saver.save_writes(tid, "", second.id, {"int:t": b"pause"})
    rejected = cp(first.id)
    with pytest.raises(CheckpointConflict):
        await saver.save(tid, "", rejected, expected_head=first.id)
    with pytest.raises(CheckpointConflict):
        await saver.save(tid, "", cp(), expected_head=None)  # None means "no checkpoint yet"
    assert await saver.load(tid, "", rejected.id) is None
    head = await saver.load(tid, "")
    assert head is not None and head.id == second.id and dict(head.writes) == {"int:t": b"pause"}
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id]


async def test_save_with_then_stores_two_checkpoints_in_one_write(saver: Checkpointer) -> None:
    tid = thread()
    [base] = await chain(saver, tid, 1)
    first = cp(base.id)
    second = cp(first.id)
    await saver.save(tid, "", first, expected_head=base.id, then=second)
    head = await saver.load(tid, "")
    assert head == SavedCheckpoint(second.id, first.id, second.blob, {})
    assert await saver.load(tid, "", first.id) == SavedCheckpoint(first.id, base.id, first.blob, {})
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id, base.id]
    stale, after_stale = cp(base.id), cp()
    with pytest.raises(CheckpointConflict):
        await saver.save(tid, "", stale, expected_head=base.id, then=after_stale)
    assert await saver.load(tid, "", stale.id) is None and await saver.load(tid, "", after_stale.id) is None
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id, base.id]


async def test_head_of_missing_thread_is_none_for_expected_head(saver: Checkpointer) -> None:
    with pytest.raises(CheckpointConflict):
        await saver.save(thread(), "", cp(), expected_head="00000000-0000-0000-0000-000000000000")


async def test_save_writes_attach_to_head_and_merge(saver: Checkpointer) -> None:
    tid = thread()
    (first,) = await chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"done:a": b"A1", "int:b": b"B"})
    await saver.save_writes(tid, "", first.id, {"done:a": b"A2", "done:c": b"C"})  # not exclusive: overwrite
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"done:a": b"A2", "int:b": b"B", "done:c": b"C"}


async def test_save_writes_needs_the_head(saver: Checkpointer) -> None:
    tid = thread()
    with pytest.raises(CheckpointConflict):
        await saver.save_writes(tid, "", "00000000-0000-0000-0000-000000000000", {"k": b"v"})
    first, second = await chain(saver, tid, 2)
    with pytest.raises(CheckpointConflict):
        await saver.save_writes(tid, "", first.id, {"k": b"v"})
    assert (await saver.load(tid, "", first.id)).writes == {}  # type: ignore[union-attr]
    assert (await saver.load(tid, "", second.id)).writes == {}  # type: ignore[union-attr]


async def test_exclusive_writes_store_all_or_nothing(saver: Checkpointer) -> None:
    tid = thread()
    (first,) = await chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"res:t:1": b"first answer"}, exclusive=True)
    with pytest.raises(CheckpointConflict):
        await saver.save_writes(tid, "", first.id, {"res:t:2": b"new", "res:t:1": b"second answer"}, exclusive=True)
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"res:t:1": b"first answer"}
    await saver.save_writes(tid, "", first.id, {"res:t:2": b"other"}, exclusive=True)  # fresh keys are fine
    head = await saver.load(tid, "")
    assert head is not None and set(head.writes) == {"res:t:1", "res:t:2"}


async def test_concurrent_claims_have_one_winner(saver: Checkpointer) -> None:
    tid = thread()
    (first,) = await chain(saver, tid, 1)

    async def claim(i: int) -> bool:
        try:
            await saver.save_writes(tid, "", first.id, {"res:t:i": str(i).encode()}, exclusive=True)
        except CheckpointConflict:
            return False
        return True

    async def advance() -> bool:
        try:
            await saver.save(tid, "", cp(first.id), expected_head=first.id)
        except CheckpointConflict:
            return False
        return True

    assert sum(await asyncio.gather(*(claim(i) for i in range(20)))) == 1
    assert sum(await asyncio.gather(*(advance() for _ in range(20)))) == 1
    assert len(await saver.history(tid, "")) == 2


async def test_writes_stay_with_their_checkpoint(saver: Checkpointer) -> None:
    tid = thread()
    (first,) = await chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"int:a": b"pause"})
    second = cp(first.id)
    await saver.save(tid, "", second, expected_head=first.id)
    assert (await saver.load(tid, "")).writes == {}  # type: ignore[union-attr]
    older = await saver.load(tid, "", first.id)
    assert older is not None and dict(older.writes) == {"int:a": b"pause"}
    newest_first = await saver.history(tid, "")
    assert [dict(c.writes) for c in newest_first] == [{}, {"int:a": b"pause"}]


async def test_history_order_limit_before(saver: Checkpointer) -> None:
    tid = thread()
    saved = await chain(saver, tid, 6)
    ids = [c.id for c in reversed(saved)]
    assert [c.id for c in await saver.history(tid, "")] == ids
    assert [c.id for c in await saver.history(tid, "", limit=2)] == ids[:2]
    assert [c.id for c in await saver.history(tid, "", before=ids[2])] == ids[3:]
    assert [c.id for c in await saver.history(tid, "", before=ids[1], limit=2)] == ids[2:4]
    assert await saver.history(tid, "", before=ids[-1]) == []
    assert await saver.history(tid, "", limit=0) == []
    (entry,) = await saver.history(tid, "", before=ids[0], limit=1)
    assert entry == SavedCheckpoint(saved[-2].id, saved[-3].id, saved[-2].blob, {})


async def test_long_history(saver: Checkpointer) -> None:
    tid = thread()
    saved = await chain(saver, tid, 1200)
    everything = await saver.history(tid, "")
    assert [c.id for c in everything] == [c.id for c in reversed(saved)]
    assert everything[-1].blob == saved[0].blob


async def test_namespaces_are_separate(saver: Checkpointer) -> None:
    tid = thread()
    namespaces = ["", "node:a", "node:a|inner:b", "node:ab"]
    chains = {ns: await chain(saver, tid, 2, ns) for ns in namespaces}
    for ns, saved in chains.items():
        head = await saver.load(tid, ns)
        assert head is not None and head.id == saved[-1].id
        assert [c.id for c in await saver.history(tid, ns)] == [c.id for c in reversed(saved)]
    await saver.save_writes(tid, "node:a", chains["node:a"][-1].id, {"int:x": b"1"})
    assert (await saver.load(tid, "node:ab")).writes == {}  # type: ignore[union-attr]
    with pytest.raises(CheckpointConflict):  # the root's head is not the subgraph's
        await saver.save(tid, "", cp(), expected_head=chains["node:a"][-1].id)


async def test_delete_thread_removes_every_namespace_only_of_that_thread(saver: Checkpointer) -> None:
    tid, other = thread(), thread()
    await chain(saver, tid, 2)
    sub = await chain(saver, tid, 1, "node:x")
    await saver.save_writes(tid, "node:x", sub[0].id, {"int:y": b"p"})
    kept = await chain(saver, other, 1)
    await saver.delete_thread(tid)
    for ns in ("", "node:x"):
        assert await saver.load(tid, ns) is None
        assert await saver.history(tid, ns) == []
    assert (await saver.load(other, "")).id == kept[0].id  # type: ignore[union-attr]
    await chain(saver, tid, 1)  # a deleted thread starts afresh


async def test_fresh_saver_sees_everything(make_saver: Callable[..., Checkpointer]) -> None:
    tid = thread()
    saved = await chain(make_saver(), tid, 3)
    await make_saver().save_writes(tid, "", saved[-1].id, {"int:z": b"pause"})
    other = make_saver()
    head = await other.load(tid, "")
    assert head is not None and head.id == saved[-1].id and dict(head.writes) == {"int:z": b"pause"}
    assert len(await other.history(tid, "")) == 3


async def test_discarded_writes_go_in_the_same_write_and_can_be_claimed_again(saver: Checkpointer) -> None:
    tid = thread()
    (first,) = await chain(saver, tid, 1)
    await saver.save_writes(tid, "", first.id, {"int:t": b"pause", "res:t:1": b"refused", "res:u:2": b"kept"},
                            exclusive=True)
    await saver.save_writes(tid, "", first.id, {"err:t": b"why"}, discard=["res:t:1", "res:absent:9"])
    head = await saver.load(tid, "")
    assert head is not None and dict(head.writes) == {"int:t": b"pause", "res:u:2": b"kept", "err:t": b"why"}
    await saver.save_writes(tid, "", first.id, {"res:t:1": b"second answer"}, exclusive=True)  # the claim is free
    with pytest.raises(CheckpointConflict):
        await saver.save_writes(tid, "", first.id, {"res:u:2": b"again"}, exclusive=True)
    head = await saver.load(tid, "")
    assert head is not None and head.writes["res:t:1"] == b"second answer" and head.writes["res:u:2"] == b"kept"
    second = cp(first.id)
    await saver.save(tid, "", second, expected_head=first.id)
    with pytest.raises(CheckpointConflict):  # like any write, only on the head
        await saver.save_writes(tid, "", first.id, {}, discard=["res:t:1"])
    assert dict((await saver.load(tid, "", first.id)).writes)["res:t:1"] == b"second answer"  # type: ignore[union-attr]
