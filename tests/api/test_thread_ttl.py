"""SLUICE_THREAD_TTL on Redis: every key of a thread (record, runs, checkpoints, audit)
carries the TTL, each write refreshes it, a running run keeps its thread, and a thread left alone
for the TTL is gone, from Redis and from the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from langgraph_sdk import get_client
from langgraph_sdk.schema import Command

from bot import keys
from tests.api.conftest import running_server
from tests.conftest import thread_keys as keys_of_thread
from tests.waiting import eventually, run_status_is

pytestmark = pytest.mark.e2e  # starts Sluice processes

TTL_S = 600
LOWERED_MS = 100_000  # set by the test: a refresh shows as a TTL above it again


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


async def thread_keys(redis: aioredis.Redis, thread_id: str) -> list[str]:
    return sorted(k.decode() for k in await keys_of_thread(redis, thread_id))


async def ttls(redis: aioredis.Redis, thread_id: str) -> dict[str, int]:
    """Each key of the thread -> its TTL in ms (-1: none), but for a running run's queue entry and lease,
    which keep lifetimes of their own (the queue empties as the run ends, the lease expires unless renewed)."""
    own = {keys.queue(thread_id), keys.lease(thread_id)}
    return {k: await redis.pttl(k) for k in await thread_keys(redis, thread_id) if k not in own}


async def lower(redis: aioredis.Redis, thread_id: str) -> None:
    for key in await ttls(redis, thread_id):
        assert await redis.pexpire(key, LOWERED_MS)


async def all_refreshed(redis: aioredis.Redis, thread_id: str) -> bool:
    return all(ttl > LOWERED_MS for ttl in (await ttls(redis, thread_id)).values())


async def test_every_key_of_a_thread_carries_the_ttl_and_each_write_refreshes_it(
    redis_url: str, redis: aioredis.Redis
) -> None:
    with running_server(REDIS_URL=redis_url, SLUICE_THREAD_TTL=str(TTL_S), SLUICE_RUN_LEASE="1") as url:
        client = get_client(url=url)
        thread_id = (await client.threads.create(metadata={"team": "a"}))["thread_id"]
        assert set(await ttls(redis, thread_id)) == {keys.thread(thread_id)}
        paused = await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
        assert paused["__interrupt__"]
        [run] = await client.runs.list(thread_id)
        found = await ttls(redis, thread_id)
        assert {keys.thread(thread_id), keys.run_records(thread_id),
                f"sluice:{{{thread_id}}}:cp", f"sluice:{{{thread_id}}}:hist"} <= set(found)
        assert all(0 < ttl <= TTL_S * 1000 for ttl in found.values()), found

        await lower(redis, thread_id)  # a metadata change is a write: it refreshes the thread's keys
        await client.threads.update(thread_id, metadata={"team": "b"})
        assert await all_refreshed(redis, thread_id), await ttls(redis, thread_id)

        await lower(redis, thread_id)  # so is a run: the resume stores a run, checkpoints and the audit entry
        done = await client.runs.wait(thread_id, "agent", command=Command(resume="final"))
        assert done == {"some_text": "final"}
        assert keys.audit(thread_id) in await thread_keys(redis, thread_id)
        assert await all_refreshed(redis, thread_id), await ttls(redis, thread_id)

        # A run keeps its thread while it runs: its lease renewals (every 0.5 s with a 1 s lease) refresh it.
        running = await client.runs.create(thread_id, "very_slow", input={})
        await eventually(lambda: run_status_is(client, thread_id, running["run_id"], "running"), what="the run running")
        await lower(redis, thread_id)
        await eventually(lambda: all_refreshed(redis, thread_id), what="a lease renewal refreshing the thread")
        assert (await client.runs.get(thread_id, running["run_id"]))["status"] == "running"  # not its end
        await client.runs.cancel(thread_id, running["run_id"], wait=True)


async def test_a_thread_left_alone_for_the_ttl_is_gone(redis_url: str, redis: aioredis.Redis) -> None:
    with running_server(REDIS_URL=redis_url, SLUICE_THREAD_TTL="1") as url:
        client = get_client(url=url)
        thread_id = str(uuid.uuid4())  # made by the run's own request: no second between two requests to lose
        paused = await client.runs.wait(thread_id, "agent", input={"some_text": "draft"}, if_not_exists="create")
        assert paused["__interrupt__"]  # its keys were written (the test above shows them all, with the TTL)

        async def gone() -> bool:
            return not await thread_keys(redis, thread_id)

        await eventually(gone, timeout_s=10, what="every key of the thread expired")
        with pytest.raises(httpx.HTTPStatusError) as info:
            await client.threads.get(thread_id)
        assert info.value.response.status_code == 404
        assert thread_id not in [t["thread_id"] for t in await client.threads.search(limit=100)]
        assert await redis.zscore(keys.THREAD_INDEX, thread_id) is None  # the search dropped its index entry
