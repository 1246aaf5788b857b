"""Fixtures of the Slack end-to-end tests: a real Redis (tests/conftest.py), the bot on a real
port, a local Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.playground.slack_user import LocalSlack
from tests.slack.harness import CHANNEL, SECRET, TOKEN, USERS, Env, make_env


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def env(redis_client: Any) -> AsyncIterator[Env]:
    environment, close = await make_env(redis_client)
    yield environment
    await close()


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    """A local Slack with one channel, for tests that start `serve` processes (a module may define its own)."""
    local = LocalSlack(signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "general"}, users=USERS)
    await local.start()
    yield local
    await local.close()
