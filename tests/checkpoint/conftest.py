"""The `saver` fixtures: every contract test runs on memory, a single Redis and a Redis Cluster;
`redis_saver`, for what only the Redis saver promises, on a single Redis and a Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from engine import InMemorySaver, RedisSaver
from engine.checkpoint.base import Checkpointer

BACKENDS = ["memory", "redis", "cluster"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_saver(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Checkpointer]]:
    """Fresh savers on one backend; each Redis saver has its own client, as another process would."""
    memory = InMemorySaver()
    url = request.getfixturevalue({"redis": "redis_url", "cluster": "redis_cluster_url"}[backend]) if backend != "memory" else ""
    made: list[RedisSaver] = []

    def make(ttl: int | None = None) -> Checkpointer:
        if backend == "memory":
            return memory
        saver = RedisSaver.from_url(url, ttl=ttl, cluster=backend == "cluster")
        made.append(saver)
        return saver

    yield make
    for saver in made:
        await saver.aclose()


@pytest.fixture
def saver(make_saver: Callable[..., Checkpointer]) -> Checkpointer:
    return make_saver()


@pytest.fixture(params=["redis", "cluster"])
async def redis_saver(request: pytest.FixtureRequest) -> AsyncIterator[RedisSaver]:
    """A Redis saver (TTL 3600) with its own client."""
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
    saver = RedisSaver.from_url(url, cluster=request.param == "cluster", ttl=3600)
    yield saver
    await saver.aclose()
