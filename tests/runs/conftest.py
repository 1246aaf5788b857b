"""The record stores every runs-layer contract test runs on: memory, one Redis, a Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.runs.store import Records
from bot.runs.store_memory import MemoryRecords
from bot.runs.store_redis import RedisRecords
from tests.conftest import async_client
from tests.processes import RedisProxy

LEASE_MS = 300
# For a process that must still hold its lease when the test looks: no load stalls a test this long.
LONG_LEASE_MS = 60_000
RecordsFactory = Callable[..., Records]


@pytest.fixture(params=["memory", "redis", "cluster"])
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_records(store_backend: str, request: pytest.FixtureRequest) -> AsyncIterator[RecordsFactory]:
    """Record stores on one backend; each Redis one has its own client, as another process would,
    and leases for `lease_ms` (memory: one shared store, leasing for LEASE_MS)."""
    memory = MemoryRecords(LEASE_MS)
    clients: list[Any] = []

    def make(lease_ms: int = LEASE_MS) -> Records:
        if store_backend == "memory":
            return memory
        client = async_client(request, store_backend)
        clients.append(client)
        return RedisRecords(client, lease_ms)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def records(make_records: RecordsFactory) -> Records:
    return make_records()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[RedisProxy]:
    """A TCP proxy in front of the test's Redis that holds, cuts or refuses on cue (tests.processes)."""
    running = await RedisProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])).start()
    yield running
    await running.close()
