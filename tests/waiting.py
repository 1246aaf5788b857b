"""Waiting on what a test needs to have happened, instead of sleeping a fixed time and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0, what: str = "condition") -> None:
    """Returns as soon as `check()` holds; fails after `timeout_s` (for state observed from outside,
    such as another process's run starting or a lease lapsing)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        await asyncio.sleep(0.02)


async def run_status_is(client: Any, thread_id: str, run_id: str, status: str) -> bool:
    """Through a langgraph_sdk client: whether the run has `status` now."""
    return bool((await client.runs.get(thread_id, run_id))["status"] == status)


async def next_nodes_are(client: Any, thread_id: str, nodes: list[str]) -> bool:
    """Through a langgraph_sdk client: whether the thread's latest checkpoint will run `nodes` next."""
    return bool((await client.threads.get_state(thread_id))["next"] == nodes)
