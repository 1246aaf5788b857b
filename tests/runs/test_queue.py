"""The run queue and leases on Redis: the rules that keep one run per thread across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot import keys
from bot.registry import Registry
from bot.runs import RunManager
from bot.runs.errors import StorageUnavailable
from bot.runs.records import RunRecord, ThreadRecord
from bot.runs.store_memory import MemoryRecords
from bot.runs.store_redis import RedisRecords
from engine import InMemorySaver
from tests.conftest import free_port

LEASE_MS = 300


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Any]:
    redis = aioredis.from_url(redis_url)
    yield redis
    await redis.aclose()


@pytest.fixture(params=["memory", "redis"])
def records(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryRecords(LEASE_MS)
    return RedisRecords(request.getfixturevalue("client"), LEASE_MS)


def run(thread_id: str, run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, thread_id=thread_id, assistant_id="a")


BUSY = {"status": "busy"}


async def test_queue_order_reject_and_hand_over(records: Any) -> None:
    assert await records.submit(run("t1", "r0"), reject_if_busy=False, thread_changes=BUSY) == "no_thread"
    assert await records.get_run("t1", "r0") is None
    await records.create_thread(ThreadRecord(thread_id="t1", status="interrupted"))
    assert await records.submit(run("t1", "r1"), reject_if_busy=True, thread_changes=BUSY) == "queued"
    assert await records.submit(run("t1", "r2"), reject_if_busy=True, thread_changes=BUSY) == "busy"
    assert await records.get_run("t1", "r2") is None  # refused: nothing stored
    assert await records.submit(run("t1", "r3"), reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await records.queued("t1") == ["r1", "r3"]
    assert {r.run_id for r in await records.list_runs("t1")} == {"r1", "r3"}
    started = replace(run("t1", "r1"), status="running")
    assert await records.turn("t1", "r1", start=started) and not await records.turn("t1", "r3")
    assert (await records.get_run("t1", "r1")).status == "running"
    # r1 ends interrupted while r3 waits: the thread stays busy
    done = replace(started, status="success")
    assert await records.release("t1", "r1", final=done, thread_changes={"status": "interrupted"}) == 1
    assert (await records.get_thread("t1")).status == "busy"
    assert (await records.get_run("t1", "r1")).status == "success"
    assert await records.turn("t1", "r3")
    # r3 ends without running (cancelled): the thread gets the status its checkpoints say
    assert await records.release("t1", "r3", delete_run=True, idle_status="interrupted") == 0
    assert (await records.get_thread("t1")).status == "interrupted"
    assert await records.get_run("t1", "r3") is None
    assert await records.queued("t1") == []


async def test_thread_patch_changes_only_named_fields_and_never_recreates(records: Any) -> None:
    await records.create_thread(ThreadRecord(thread_id="t2", metadata={"team": "a"}))
    assert not await records.create_thread(ThreadRecord(thread_id="t2"))
    await records.patch_thread("t2", {"status": "busy"})
    found = await records.get_thread("t2")
    assert found is not None and found.status == "busy" and found.metadata == {"team": "a"}
    await records.delete_thread("t2")
    await records.patch_thread("t2", {"status": "idle"})
    assert await records.get_thread("t2") is None


async def test_lapsed_lease_is_adopted_once_and_the_sweep_drops_finished_threads(client: Any) -> None:
    first, second = RedisRecords(client, LEASE_MS), RedisRecords(client, LEASE_MS)
    await first.create_thread(ThreadRecord(thread_id="t3"))
    assert await first.submit(run("t3", "orphan"), reject_if_busy=False, thread_changes=BUSY) == "queued"
    assert await first.turn("t3", "orphan")  # runs, then its process "dies": no more renewals
    assert await second.adopt("t3") is None  # still leased
    await asyncio.sleep(LEASE_MS / 1000 + 0.1)
    assert "t3" in await second.lapsed(10)
    adopted = await asyncio.gather(first.adopt("t3"), second.adopt("t3"))
    assert adopted.count("orphan") == 1 and adopted.count(None) == 1  # exactly one process takes it
    assert await second.turn("t3", "orphan")
    assert await second.release("t3", "orphan") == 0

    manager = RunManager(Registry({}), InMemorySaver(), second)
    await asyncio.sleep(LEASE_MS / 1000 + 0.1)
    assert await manager.adopt_lapsed() == []
    assert await client.zscore(keys.LEASE_INDEX, "t3") is None


async def test_a_redis_failure_is_storage_unavailable() -> None:
    nowhere = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        with pytest.raises(StorageUnavailable, match="Retry once Redis answers"):
            await RedisRecords(nowhere).get_thread("t")
    finally:
        await nowhere.aclose()
