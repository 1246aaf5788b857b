"""Fault tests: real `python -m bot serve` processes behind a Redis proxy that cuts on cue, a
local Slack, and the real langgraph_sdk client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.playground.slack_user import LocalSlack
from tests.processes import RedisProxy, Serve
from tests.slack.conftest import slack
from tests.slack.harness import CHANNEL, action_ids
from tests.slack.serve_flows import serve_env
from tests.waiting import eventually

__all__ = ["serve_env", "slack"]  # the fault tests take them from here (slack: the Slack tests' fixture)

WaitFor = Callable[[Callable[[], Awaitable[bool]], float], Awaitable[None]]


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[RedisProxy]:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    running = await RedisProxy(port).start()
    yield running
    await running.close()


@pytest.fixture
async def serves(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Serve]]]:
    """Starts serve processes; waits in a thread, so a proxy on this event loop keeps forwarding."""
    started: list[Serve] = []

    async def start(env: dict[str, str], name: str = "serve") -> Serve:
        server = Serve(env, tmp_path / f"{name}-{len(started)}.log")
        started.append(server)
        return await asyncio.to_thread(server.start)

    yield start
    for server in started:
        await asyncio.to_thread(server.stop)


async def until(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    await eventually(predicate, timeout_s)


async def pause_message(slack: LocalSlack, thread_id: str) -> Any:
    async def shown() -> bool:
        found = [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)]
        return bool(found and action_ids(found[-1]))

    await until(shown)
    return [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)][-1]
