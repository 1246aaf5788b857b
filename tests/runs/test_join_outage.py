"""Waiting for a run this process executes reads no storage: a Redis outage while the run goes on
does not fail the wait (the Slack decision that started the run then told its decider it was not
applied, and gave the decision back, while the run went on; the flake of
tests/faults/test_outcome_storage.py under load)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.redis_client import single_server_client
from bot.registry import Registry
from bot.runs import RunManager, RunRequest
from bot.runs.store_redis import RedisRecords
from engine import END, START, InMemorySaver, StateGraph
from tests.processes import RedisProxy
from tests.runs.test_races import Gate, State


async def test_a_local_run_is_joined_through_a_storage_outage(proxy: RedisProxy, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, "sluice.runs")  # the outage's own complaints (lease, storing the end)
    gate = Gate()
    graph = StateGraph(State).add_node("wait", gate.node).add_edge(START, "wait").add_edge("wait", END)
    client = single_server_client(proxy.url, socket_timeout=1.0)
    manager = RunManager(Registry.from_graphs({"gated": graph}), InMemorySaver(), RedisRecords(client))
    thread = await manager.create_thread()
    run = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await gate.entered.wait()

    proxy.refuse()
    proxy.cut()  # Redis is gone for as long as the run lasts
    joining = asyncio.ensure_future(manager.join(thread.thread_id, run.run_id))
    # The run lasts past the 1 s after which the wait used to read the run's record from storage
    # (that timer, armed first, fires first whatever the load).
    await asyncio.sleep(1.5)
    gate.open.set()
    ended = await joining
    assert ended.status == "success" and ended.run_id == run.run_id
    proxy.accept()
    await manager.drain()
    await client.aclose()
