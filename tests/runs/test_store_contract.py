"""The record store contract (`bot.runs.store.Records`) on memory, one Redis and a Redis Cluster:
records, the per-thread run queue, leases and claims, the rules that keep one run per thread."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot import keys
from bot.registry import Registry
from bot.runs import RunManager
from bot.runs.errors import StorageUnavailable
from bot.runs.records import RunFailure, RunRecord, ThreadRecord, evolve
from bot.runs.store import Records
from bot.runs.store_redis import RedisRecords, started_json
from engine import InMemorySaver
from tests.conftest import free_port
from tests.runs.conftest import LEASE_MS, LONG_LEASE_MS, RecordsFactory
from tests.waiting import eventually

BUSY = {"status": "busy"}


def new_id() -> str:
    return str(uuid.uuid4())


def run(thread_id: str, run_id: str | None = None, **fields: object) -> RunRecord:
    return RunRecord(run_id=run_id or new_id(), thread_id=thread_id, assistant_id="a", **fields)  # type: ignore[arg-type]


async def thread(records: Records, **fields: object) -> str:
    thread_id = new_id()
    assert await records.create_thread(ThreadRecord(thread_id=thread_id, **fields))  # type: ignore[arg-type]
    return thread_id


async def test_threads_are_created_once_read_and_deleted(records: Records) -> None:
    thread_id = await thread(records, metadata={"team": "a"})
    assert not await records.create_thread(ThreadRecord(thread_id=thread_id, metadata={"team": "b"}))
    found = await records.get_thread(thread_id)
    assert found is not None and found.metadata == {"team": "a"} and found.status == "idle"
    assert await records.delete_thread(thread_id)
    assert await records.get_thread(thread_id) is None
    assert not await records.delete_thread(thread_id)


async def test_search_lists_threads_newest_first(records: Records) -> None:
    ids = [await thread(records) for _ in range(3)]
    newest = [t.thread_id for t in await records.search_threads(limit=3, offset=0)]
    assert newest == ids[::-1]
    assert [t.thread_id for t in await records.search_threads(limit=2, offset=1)] == ids[1::-1]


async def test_thread_patch_changes_only_named_fields_and_never_recreates(records: Records) -> None:
    thread_id = await thread(records, metadata={"team": "a"})
    await records.patch_thread(thread_id, {"status": "busy"})
    found = await records.get_thread(thread_id)
    assert found is not None and found.status == "busy" and found.metadata == {"team": "a"}
    await records.delete_thread(thread_id)
    await records.patch_thread(thread_id, {"status": "idle"})
    assert await records.get_thread(thread_id) is None


async def test_metadata_merges_keep_every_key_and_other_fields(records: Records) -> None:
    thread_id = await thread(records, metadata={"team": "a", "n": 12345678901234567, "tags": []})
    await records.patch_thread(thread_id, BUSY)
    merged = await asyncio.gather(*(records.merge_metadata(thread_id, {f"k{i}": i}) for i in range(20)))
    assert all(m is not None and m.status == "busy" for m in merged)
    found = await records.get_thread(thread_id)
    assert found is not None and found.status == "busy"
    assert found.metadata == {"team": "a", "n": 12345678901234567, "tags": [], **{f"k{i}": i for i in range(20)}}
    await records.delete_thread(thread_id)
    assert await records.merge_metadata(thread_id, {"late": True}) is None
    assert await records.get_thread(thread_id) is None


async def test_runs_are_stored_listed_newest_first_and_deleted(records: Records) -> None:
    thread_id = await thread(records)
    first, second = run(thread_id), run(thread_id)
    failed = replace(second, status="error", error=RunFailure("ValueError", "boom", cause="graph"))
    await records.put_run(first)
    await records.put_run(failed)
    assert await records.get_run(thread_id, failed.run_id) == failed
    assert [r.run_id for r in await records.list_runs(thread_id)] == [second.run_id, first.run_id]
    await records.delete_run(thread_id, first.run_id)
    assert await records.get_run(thread_id, first.run_id) is None
    assert [r.run_id for r in await records.list_runs(thread_id)] == [second.run_id]


async def test_records_are_values_no_caller_can_change_once_stored_or_read(records: Records) -> None:
    """A record given to the store, or read from it, is the caller's own: changing it (a field or a
    nested value) changes nothing stored. Stored values come back as JSON gives them (tuples as lists)."""
    metadata = {"team": "a", "tags": ["x"], "pair": ("p", 1)}
    thread_id = await thread(records, metadata=metadata)
    metadata["tags"].append("y")
    found = await records.get_thread(thread_id)
    assert found is not None and found.metadata == {"team": "a", "tags": ["x"], "pair": ["p", 1]}
    found.metadata["tags"].append("z")
    found.status = "busy"
    merged = await records.merge_metadata(thread_id, {"more": {"n": 1}})
    assert merged is not None
    merged.metadata["more"]["n"] = 2
    again = await records.get_thread(thread_id)
    assert again is not None and again.status == "idle"
    assert again.metadata == {"team": "a", "tags": ["x"], "pair": ["p", 1], "more": {"n": 1}}
    changes = {"values": {"items": [1]}}
    await records.patch_thread(thread_id, changes)
    changes["values"]["items"].append(2)
    patched = await records.get_thread(thread_id)
    assert patched is not None and patched.values == {"items": [1]}

    stored = run(thread_id, kwargs={"input": {"n": [1]}})
    await records.put_run(stored)
    stored.kwargs["input"]["n"].append(2)
    stored.status = "running"
    read = await records.get_run(thread_id, stored.run_id)
    assert read is not None and read.kwargs == {"input": {"n": [1]}} and read.status == "pending"
    read.kwargs["input"]["n"].append(3)
    listed = await records.list_runs(thread_id)
    assert [r.kwargs for r in listed] == [{"input": {"n": [1]}}]


async def test_queue_order_reject_and_hand_over(records: Records) -> None:
    missing = new_id()
    assert await records.submit(run(missing, "r0"), reject_if_busy=False, thread_changes=BUSY) == "no_thread"
    assert await records.get_run(missing, "r0") is None
    t1 = await thread(records, status="interrupted")
    assert await records.submit(run(t1, "r1"), reject_if_busy=True, thread_changes=BUSY) == "queued"
    assert await records.submit(run(t1, "r2"), reject_if_busy=True, thread_changes=BUSY) == "busy"
    assert await records.get_run(t1, "r2") is None  # refused: nothing stored
    assert await records.submit(run(t1, "r3"), reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await records.queued(t1) == ["r1", "r3"]
    assert {r.run_id for r in await records.list_runs(t1)} == {"r1", "r3"}
    started = replace(run(t1, "r1"), status="running")
    assert await records.turn(t1, "r1", start=started) and not await records.turn(t1, "r3")
    assert (await records.get_run(t1, "r1")).status == "running"  # type: ignore[union-attr]
    # r1 ends interrupted while r3 waits: the thread stays busy
    done = replace(started, status="success")
    assert await records.release(t1, "r1", final=done, thread_changes={"status": "interrupted"}) == 1
    assert (await records.get_thread(t1)).status == "busy"  # type: ignore[union-attr]
    assert (await records.get_run(t1, "r1")).status == "success"  # type: ignore[union-attr]
    assert await records.turn(t1, "r3")
    # r3 ends without running (cancelled): the thread gets the status its checkpoints say
    assert await records.release(t1, "r3", delete_run=True, idle_status="interrupted") == 0
    assert (await records.get_thread(t1)).status == "interrupted"  # type: ignore[union-attr]
    assert await records.get_run(t1, "r3") is None
    assert await records.queued(t1) == []


async def test_a_run_submitted_to_an_idle_thread_holds_it_and_is_running_at_once(
    records: Records, store_backend: str
) -> None:
    thread_id = await thread(records)
    first, second = run(thread_id), run(thread_id)
    first_started, second_started = replace(first, status="running"), replace(second, status="running")
    assert await records.submit(first, reject_if_busy=False, thread_changes=BUSY, start=first_started) == "started"
    assert await records.get_run(thread_id, first.run_id) == first_started
    assert await records.turn(thread_id, first.run_id)  # it holds the lease
    # behind it, the next run only queues: pending, no lease
    assert await records.submit(second, reject_if_busy=False, thread_changes=BUSY, start=second_started) == "queued"
    assert (await records.get_run(thread_id, second.run_id)).status == "pending"  # type: ignore[union-attr]
    assert not await records.turn(thread_id, second.run_id)
    if store_backend != "memory":  # redis-py sends a submission again after a lost answer: same answer
        assert await records.submit(first, reject_if_busy=False, thread_changes=BUSY, start=first_started) == "started"
        assert await records.submit(second, reject_if_busy=False, thread_changes=BUSY, start=second_started) == "queued"
        assert await records.queued(thread_id) == [first.run_id, second.run_id]
    assert await records.release(thread_id, first.run_id, final=replace(first_started, status="success")) == 1
    assert await records.turn(thread_id, second.run_id, start=second_started)  # handed on as before
    assert await records.submit(first, reject_if_busy=False, thread_changes=BUSY, start=first_started) == "exists"


async def test_a_claim_holds_an_idle_thread_and_runs_wait_for_it(records: Records) -> None:
    assert await records.claim(new_id(), "holder") == "no_thread"
    thread_id = await thread(records)
    assert await records.claim(thread_id, "holder") == "claimed"
    assert await records.claim(thread_id, "other") == "busy"
    waiting = run(thread_id)
    assert await records.submit(waiting, reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert not await records.turn(thread_id, waiting.run_id)
    changes = {"status": "idle", "values": {"log": ["edited"]}}
    assert await records.release(thread_id, "holder", thread_changes=changes) == 1
    found = await records.get_thread(thread_id)
    assert found is not None and found.values == {"log": ["edited"]} and found.status == "busy"
    assert await records.turn(thread_id, waiting.run_id)


async def test_ends_after_a_delete_recreate_nothing(records: Records) -> None:
    thread_id = await thread(records)
    running = run(thread_id)
    assert await records.submit(running, reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await records.turn(thread_id, running.run_id)
    other = await thread(records)
    kept = run(other)
    await records.put_run(kept)
    assert await records.delete_thread(thread_id)
    assert await records.queued(thread_id) == [] and await records.list_runs(thread_id) == []
    final = replace(running, status="success")
    assert await records.release(thread_id, running.run_id, final=final, thread_changes={"status": "idle"}) == 0
    assert await records.get_thread(thread_id) is None and await records.get_run(thread_id, running.run_id) is None
    assert await records.get_run(other, kept.run_id) == kept  # only that thread's records went


async def test_an_ended_stateless_run_outlives_its_thread_for_every_process(make_records: RecordsFactory) -> None:
    first, second = make_records(), make_records()
    thread_id = await thread(first)
    ended = run(thread_id, status="success", result={"done": True}, temporary=True)
    await first.keep_ended(ended)
    assert await first.delete_thread(thread_id)
    assert await second.get_run(thread_id, ended.run_id) is None
    kept = await second.get_ended(ended.run_id)
    assert kept is not None and kept.to_json() == ended.to_json()
    assert await second.get_ended(new_id()) is None


async def test_another_process_sees_the_same_records(make_records: RecordsFactory) -> None:
    first, second = make_records(), make_records()
    thread_id = await thread(first, metadata={"team": "a"})
    queued = run(thread_id)
    assert await first.submit(queued, reject_if_busy=False, thread_changes=BUSY) == "queued"
    found = await second.get_thread(thread_id)
    assert found is not None and found.status == "busy" and found.metadata == {"team": "a"}
    assert await second.queued(thread_id) == [queued.run_id]
    assert await second.submit(run(thread_id), reject_if_busy=True, thread_changes=BUSY) == "busy"


async def test_a_lapsed_lease_is_adopted_once_and_the_sweep_drops_finished_threads(
    make_records: RecordsFactory, store_backend: str
) -> None:
    if store_backend == "memory":
        pytest.skip("one process: a run can only stop with it, so nothing lapses")
    # Each lease that must hold while the test looks is long: a 300 ms one lapses whenever the
    # loaded machine stalls the test that long, and the check it guards then fails.
    first, second = make_records(lease_ms=LONG_LEASE_MS), make_records()
    thread_id = await thread(first)
    orphan = run(thread_id)
    assert await first.submit(orphan, reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await first.turn(thread_id, orphan.run_id)
    assert await second.adopt(thread_id) is None  # still leased
    dying = make_records()
    assert await dying.turn(thread_id, orphan.run_id)  # its last renewal; then its process "dies"
    await eventually(lambda: _lapsed(second, thread_id))
    adopters = make_records(lease_ms=LONG_LEASE_MS), make_records(lease_ms=LONG_LEASE_MS)
    adopted = await asyncio.gather(*(adopter.adopt(thread_id) for adopter in adopters))
    assert adopted.count(orphan.run_id) == 1 and adopted.count(None) == 1  # exactly one process takes it
    assert await second.turn(thread_id, orphan.run_id)  # renews for LEASE_MS: the sweep below finds it
    assert await second.release(thread_id, orphan.run_id) == 0

    manager = RunManager(Registry({}), InMemorySaver(), second)
    await eventually(lambda: _lapsed(second, thread_id))
    assert await manager.adopt_lapsed() == []
    assert not await _lapsed(second, thread_id)  # the sweep dropped the finished thread's entry


async def test_the_sweep_drops_finished_threads_in_one_step_but_not_one_submitted_to_since(
    make_records: RecordsFactory, store_backend: str, request: pytest.FixtureRequest
) -> None:
    if store_backend == "memory":
        pytest.skip("one process: nothing lapses")
    short, long = make_records(), make_records(lease_ms=LONG_LEASE_MS)
    finished = [await thread(short) for _ in range(3)]
    for thread_id in finished:
        ran = run(thread_id)
        assert await short.submit(ran, reject_if_busy=False, thread_changes=BUSY, start=ran) == "started"
        assert await short.release(thread_id, ran.run_id) == 0
    for thread_id in finished:
        await eventually(lambda t=thread_id: _lapsed(short, t))  # type: ignore[misc]
    # a run on the first one (ended at once) after the sweep read the index: its deadline moved on
    again = run(finished[0])
    assert await long.submit(again, reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await long.release(finished[0], again.run_id) == 0
    assert await long.adopt_many(finished) == {}
    url = request.getfixturevalue("redis_url" if store_backend == "redis" else "redis_cluster_url")
    client: Any = aioredis.from_url(url) if store_backend == "redis" else RedisCluster.from_url(url)
    try:
        assert [await client.zscore(keys.LEASE_INDEX, t) is not None for t in finished] == [True, False, False]
    finally:
        await client.aclose()


async def _lapsed(records: Records, thread_id: str) -> bool:
    return thread_id in await records.lapsed(1000)


async def test_the_lease_index_is_one_key_named_in_bot_keys(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        records = RedisRecords(client, LEASE_MS)
        thread_id = await thread(records)
        queued = run(thread_id)
        await records.submit(queued, reject_if_busy=False, thread_changes=BUSY)
        assert await records.turn(thread_id, queued.run_id)
        assert await client.zscore(keys.LEASE_INDEX, thread_id) is not None
        assert await client.exists(keys.thread(thread_id), keys.queue(thread_id), keys.lease(thread_id)) == 3
    finally:
        await client.aclose()


@pytest.mark.parametrize("backend", ["redis", "cluster"])
async def test_with_a_ttl_every_write_leaves_the_threads_runs_expiring_even_when_redis_lost_its_scripts(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """A write's TTL refresh follows it in its batch; when the write's script was missing (a Redis
    restart empties the script cache) the write runs again after the refresh, so the refresh does too."""
    url = request.getfixturevalue("redis_url" if backend == "redis" else "redis_cluster_url")
    client: Any = aioredis.from_url(url) if backend == "redis" else RedisCluster.from_url(url)
    try:
        records = RedisRecords(client, LEASE_MS, ttl=600)
        thread_id = await thread(records)
        first = run(thread_id)
        for step in range(2):
            await client.script_flush()
            await records.patch_thread(thread_id, {"metadata": {"step": step}})  # loads the refresh script alone
            ran = first if step == 0 else run(thread_id)
            assert await records.submit(ran, reject_if_busy=False, thread_changes=BUSY) == "queued"
            assert await records.turn(thread_id, ran.run_id)
            await records.release(thread_id, ran.run_id, final=replace(ran, status="success"))
            names = [keys.thread(thread_id), keys.run_records(thread_id)]
            assert all([0 < await client.ttl(name) <= 600 for name in names]), names
    finally:
        await client.aclose()


async def test_with_a_ttl_a_write_costs_the_same_commands_however_many_runs_the_thread_had(redis_url: str) -> None:
    """The TTL refresh covers a fixed set of keys (the runs are one hash): a run on a thread with 50
    past runs sends as many Redis commands (INFO commandstats, a script's own commands included) as
    on a thread with one, and every past run still expires with the thread."""
    client = aioredis.from_url(redis_url)

    async def commands() -> int:
        stats = await client.info("commandstats")
        return sum(int(s["calls"]) for name, s in stats.items() if name != "cmdstat_info")

    async def one_run(records: RedisRecords, thread_id: str) -> None:
        ran = run(thread_id)
        assert await records.submit(ran, reject_if_busy=False, thread_changes=BUSY) == "queued"
        assert await records.turn(thread_id, ran.run_id)
        await records.release(thread_id, ran.run_id, final=replace(ran, status="success"))

    try:
        records = RedisRecords(client, LEASE_MS, ttl=600)
        sent = {}
        for past in (1, 50):
            thread_id = await thread(records)
            for _ in range(past):
                await one_run(records, thread_id)
            before = await commands()
            await one_run(records, thread_id)
            sent[past] = await commands() - before
            assert len(await records.list_runs(thread_id)) == past + 1
            assert 0 < await client.ttl(keys.run_records(thread_id)) <= 600
        assert sent[50] == sent[1], sent
    finally:
        await client.aclose()


async def test_runs_stored_before_the_runs_hash_are_read_moved_and_deleted_with_their_thread(redis_url: str) -> None:
    """A thread written before runs were one hash has a key per run and a zset index (bot.keys): its runs
    are listed and found (and moved into the hash as they are read), and deleting the thread deletes them."""
    client = aioredis.from_url(redis_url)
    try:
        records = RedisRecords(client, LEASE_MS)
        for read in ("list", "get", "delete"):
            thread_id = await thread(records)
            old = [run(thread_id, created_at=f"2026-01-0{day}T00:00:00+00:00", status="success") for day in (1, 2)]
            for i, ran in enumerate(old):
                await client.set(keys.legacy_run_prefix(thread_id) + ran.run_id, ran.dumps())
                await client.zadd(keys.legacy_runs(thread_id), {ran.run_id: i})
            new = run(thread_id)
            assert await records.submit(new, reject_if_busy=False, thread_changes=BUSY) == "queued"
            legacy = [keys.legacy_runs(thread_id), *(keys.legacy_run_prefix(thread_id) + r.run_id for r in old)]
            if read == "list":
                assert [r.run_id for r in await records.list_runs(thread_id)] == [new.run_id, old[1].run_id, old[0].run_id]
            elif read == "get":
                found = await records.get_run(thread_id, old[0].run_id)
                assert found is not None and found.status == "success" and found.created_at == old[0].created_at
                assert len(await records.list_runs(thread_id)) == 3
            if read == "delete":
                assert await records.delete_thread(thread_id)
                assert await client.exists(keys.run_records(thread_id)) == 0
            else:
                assert await client.hlen(keys.run_records(thread_id)) == 3
            assert await client.exists(*legacy) == 0
    finally:
        await client.aclose()


def test_a_started_runs_json_is_the_submitted_one_with_its_status_changed() -> None:
    """The submit script gets the run as queued and as started; the second is made from the first's text,
    equal to encoding it, whatever the ids, metadata and input hold (quotes, a "status" of their own)."""
    hostile = ',"status":"pending",'
    submitted = RunRecord(run_id=hostile, thread_id='t"\\', assistant_id=hostile, metadata={"status": "pending"},
                          kwargs={"input": {"status": "pending", "text": hostile}}, result={"status": "pending"})
    started = evolve(submitted, status="running")
    assert started_json(submitted, submitted.dumps(), started) == started.dumps()
    assert json.loads(started_json(submitted, submitted.dumps(), started))["status"] == "running"
    other = evolve(submitted, status="running", updated_at="later")  # not the status alone: encoded itself
    assert started_json(submitted, submitted.dumps(), other) == other.dumps()


async def test_a_redis_failure_is_storage_unavailable() -> None:
    nowhere = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        with pytest.raises(StorageUnavailable, match="Retry once Redis answers"):
            await RedisRecords(nowhere).get_thread("t")
    finally:
        await nowhere.aclose()


async def test_a_claim_whose_holder_died_is_released_by_the_sweep(
    make_records: RecordsFactory, store_backend: str
) -> None:
    if store_backend == "memory":
        pytest.skip("one process: a claim can only stop with it, so nothing lapses")
    dead, survivor = make_records(), make_records()
    thread_id = await thread(dead)
    assert await dead.claim(thread_id, "state-update:dead") == "claimed"  # its process dies here
    waiting = run(thread_id)
    assert await survivor.submit(waiting, reject_if_busy=False, thread_changes=BUSY) == "queued"
    await eventually(lambda: _lapsed(survivor, thread_id), what="the claim lapsing")
    # The sweep's process hands the lease on for LONG_LEASE_MS: the waiting run's turn below is no race.
    manager = RunManager(Registry({}), InMemorySaver(), make_records(lease_ms=LONG_LEASE_MS))
    assert await manager.adopt_lapsed() == []  # no run to continue: the holder is let go
    assert await survivor.queued(thread_id) == [waiting.run_id]
    assert await survivor.turn(thread_id, waiting.run_id)  # the waiting run's turn came
