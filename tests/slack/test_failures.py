"""The failure records behind Retry, in memory and on Redis: one Retry per failure, whoever asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.slack.failures import Failure, FailureStore, MemoryFailureStore, RedisFailureStore

FAILURE = Failure(
    thread_id="t-1", run_id="r-1", assistant_id="agent", checkpoint_id="c-1", pause_checkpoint="p-1",
    node="send", error_type="ConnectionError", message="down", traceback="Traceback ...", channel="C1",
    thread_ts="1.000001",
)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[FailureStore]:
    if request.param == "memory":
        yield MemoryFailureStore()
        return
    client: Any = aioredis.from_url(request.getfixturevalue("redis_url"))
    yield RedisFailureStore(client)
    await client.aclose()


async def test_a_failure_is_stored_and_read_back(store: FailureStore) -> None:
    await store.save(FAILURE)
    await store.save(FAILURE.posted("2.000002"))
    assert await store.get("t-1", "r-1") == FAILURE.posted("2.000002")
    assert await store.get("t-1", "other") is None


async def test_of_many_retries_at_once_exactly_one_is_claimed(store: FailureStore) -> None:
    await store.save(FAILURE)
    claims = await asyncio.gather(*(store.claim_retry("t-1", "r-1", f"U{i}") for i in range(20)))
    winners = [c for c in claims if c[0] == "claimed"]
    assert len(winners) == 1
    assert {c for c in claims if c[0] == "taken"} == {("taken", winners[0][1])}


async def test_a_released_retry_can_be_claimed_again_and_unknown_failures_never(store: FailureStore) -> None:
    await store.save(FAILURE)
    assert await store.retried_by("t-1", "r-1") is None
    assert await store.claim_retry("t-1", "r-1", "U1") == ("claimed", "U1")
    assert await store.retried_by("t-1", "r-1") == "U1"
    await store.release_retry("t-1", "r-1")
    assert await store.retried_by("t-1", "r-1") is None
    assert await store.claim_retry("t-1", "r-1", "U2") == ("claimed", "U2")
    assert await store.claim_retry("t-1", "nope", "U2") == ("unknown", "")
