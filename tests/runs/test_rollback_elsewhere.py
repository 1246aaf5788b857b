"""A rollback of a run another process executes, when that process does not stop it in time (it is
stalled: its Redis traffic is held): the run's record, which is what stops it, is not deleted behind
its back; the owner stops the run as soon as it reads it, and deletes it then. Deleted early, the run
went on to its end and its record came back."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from bot.redis_client import single_server_client
from bot.registry import Registry
from bot.runs import NotFound, RunManager, RunRequest
from bot.runs.store_redis import RedisRecords
from engine import END, START, InMemorySaver, StateGraph
from tests.processes import RedisProxy
from tests.runs.test_races import Gate, State


async def test_a_rollback_waits_for_a_stalled_owner_to_stop_the_run(
    proxy: RedisProxy, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "sluice.runs")
    gate = Gate()
    graph = StateGraph(State).add_node("wait", gate.node).add_edge(START, "wait").add_edge("wait", END)
    registry = Registry.from_graphs({"gated": graph})
    owner_client = single_server_client(proxy.url)
    other_client = aioredis.from_url(redis_url)
    owner = RunManager(registry, InMemorySaver(), RedisRecords(owner_client))
    other = RunManager(registry, InMemorySaver(), RedisRecords(other_client))
    other.cancel_wait_s = 0.3
    thread = await owner.create_thread()
    run = await owner.submit(thread.thread_id, RunRequest("gated", input={}))
    local = owner.executor.local[run.run_id]
    await gate.entered.wait()

    proxy.hold()  # the owner is stalled: nothing it asks of Redis is answered
    answered = await other.cancel(thread.thread_id, run.run_id, action="rollback")
    assert answered.status == "interrupted"  # its record, marked, stays until the owner stopped the run

    proxy.release()  # the owner comes back: it reads the cancel and stops the run
    await asyncio.wait_for(local.done.wait(), 10)  # (its record deleted, it went on: a timeout here)
    assert local.final is not None and local.final.status == "interrupted"
    with pytest.raises(NotFound):
        await other.get_run(thread.thread_id, run.run_id)  # rolled back: its record went as it stopped
    assert (await other.thread(thread.thread_id)).status != "busy"  # the thread is free again
    gate.open.set()
    await owner.drain()
    assert await other.records.get_run(thread.thread_id, run.run_id) is None  # and it never came back
    await owner_client.aclose()
    await other_client.aclose()
