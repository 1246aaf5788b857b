"""Fixtures of the Slack end-to-end tests: a real Redis, the bot on a real port, a local Slack."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.slack.harness import Env, make_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def slack_redis_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """The shared `redis_url` fixture when the suite has one, else a redis-server of our own."""
    try:
        yield request.getfixturevalue("redis_url")
        return
    except pytest.FixtureLookupError:
        pass
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def redis_client(slack_redis_url: str) -> AsyncIterator[Any]:
    client = aioredis.from_url(slack_redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def env(redis_client: Any) -> AsyncIterator[Env]:
    environment, close = await make_env(redis_client)
    yield environment
    await close()
