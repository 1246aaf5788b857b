"""What the fault tests of decisions share: the cue of queuing a resume, reading a thread's resumes
over the API, and the "queuing is dropped, the clicker is told to click again" sequence."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import until
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER

SUBMIT = b"slack_decided_by"  # in the command that queues a decision's resume


async def resumes(server: Serve, thread_id: str) -> list[Any]:
    """The resume values of the thread's runs (one a resumed run)."""
    runs = await get_client(url=server.url).runs.list(thread_id, limit=100)
    return [r["kwargs"]["command"]["resume"] for r in runs if "resume" in (r["kwargs"].get("command") or {})]


async def idle(server: Serve, thread_id: str) -> bool:
    return bool((await get_client(url=server.url).threads.get(thread_id))["status"] == "idle")


async def queuing_dropped_then_told(
    slack: LocalSlack, proxy: RedisProxy, server: Serve, thread_id: str, decide: Callable[[], Awaitable[Any]]
) -> None:
    """`decide` (a click, a form) is recorded but queuing its resume never reaches Redis, which then
    refuses everyone until the process gave up; Redis comes back and the clicker is told to click
    again. Nothing was resumed."""
    proxy.on(SUBMIT, "drop")
    assert (await decide()).status == 200
    await asyncio.wait_for(proxy.cued.wait(), 10)

    async def failed() -> bool:
        return f"resuming thread {thread_id} failed" in server.log()

    await until(failed)  # the client gave up (retries with backoff spent)
    proxy.accept()

    async def told() -> bool:
        return any("Click again" in m.text for m in slack.ephemerals(APPROVER))

    await until(told)
    assert await resumes(server, thread_id) == []
