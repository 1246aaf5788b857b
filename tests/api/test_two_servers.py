"""Two server processes on one Redis: any process can read, join and resume any thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from langgraph_sdk import get_client
from langgraph_sdk.schema import Command

from bot import keys
from bot.runs.store import ENDED_KEPT_S
from tests.api.conftest import running_server
from tests.waiting import eventually, run_status_is

pytestmark = pytest.mark.e2e  # starts Sluice processes

@pytest.fixture(scope="module")
def two_servers(redis_server: str) -> Iterator[tuple[str, str]]:
    with running_server(REDIS_URL=redis_server) as first, running_server(REDIS_URL=redis_server) as second:
        yield first, second


async def test_start_on_one_join_read_and_resume_on_the_other(two_servers: tuple[str, str]) -> None:
    a, b = (get_client(url=u) for u in two_servers)
    thread_id = (await a.threads.create())["thread_id"]
    run = await a.runs.create(thread_id, "agent", input={"some_text": "original text"})
    joined = await b.runs.join(thread_id, run["run_id"])
    assert joined["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}
    assert (await b.threads.get(thread_id))["status"] == "interrupted"
    assert (await b.threads.get_state(thread_id))["next"] == ["human_node"]

    done = await b.runs.wait(thread_id, "agent", command=Command(resume="Edited text"))
    assert done == {"some_text": "Edited text"}
    assert (await a.threads.get_state(thread_id))["values"] == {"some_text": "Edited text"}
    assert (await a.runs.get(thread_id, run["run_id"]))["status"] == "success"


async def test_enqueued_runs_from_both_processes_run_one_at_a_time(two_servers: tuple[str, str]) -> None:
    a, b = (get_client(url=u) for u in two_servers)
    thread_id = (await a.threads.create())["thread_id"]
    calls: list[Any] = [
        (a if i % 2 == 0 else b).runs.wait(thread_id, "slow", input={}, multitask_strategy="enqueue") for i in range(4)
    ]
    results = await asyncio.gather(*calls)
    assert sorted(len(r["log"]) for r in results) == [1, 2, 3, 4]
    assert (await b.threads.get_state(thread_id))["values"]["log"] == ["slow"] * 4


async def test_reject_sees_a_run_of_the_other_process(two_servers: tuple[str, str]) -> None:
    a, b = (get_client(url=u) for u in two_servers)
    thread_id = (await a.threads.create())["thread_id"]
    run = await a.runs.create(thread_id, "slow", input={})
    with pytest.raises(httpx.HTTPStatusError) as info:
        await b.runs.create(thread_id, "slow", input={}, multitask_strategy="reject")
    assert info.value.response.status_code == 409
    await b.runs.join(thread_id, run["run_id"])


async def test_sigterm_finishes_the_run_in_flight(two_servers: tuple[str, str], redis_server: str) -> None:
    import signal

    from tests.api.conftest import server_process

    with server_process(REDIS_URL=redis_server) as (url, proc):
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        run = await client.runs.create(thread_id, "slow", input={})
        await eventually(lambda: run_status_is(client, thread_id, run["run_id"], "running"), what="the run running")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    other = get_client(url=two_servers[0])
    assert (await other.runs.get(thread_id, run["run_id"]))["status"] == "success"
    assert (await other.threads.get_state(thread_id))["values"] == {"log": ["slow"]}


async def test_cancel_from_the_other_process_stops_the_run(two_servers: tuple[str, str]) -> None:
    a, b = (get_client(url=u) for u in two_servers)
    thread_id = (await a.threads.create())["thread_id"]
    run = await a.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(b, thread_id, run["run_id"], "running"), what="the run running elsewhere")
    started = asyncio.get_running_loop().time()
    await b.runs.cancel(thread_id, run["run_id"], wait=True)
    assert asyncio.get_running_loop().time() - started < 3
    assert (await a.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
    assert (await a.threads.get(thread_id))["status"] != "busy"
    assert (await b.runs.wait(thread_id, "slow", input={}))["log"] == ["slow"]


async def test_a_rollback_from_the_other_process_deletes_the_run(two_servers: tuple[str, str]) -> None:
    """As in one process (README: rollback deletes the cancelled run's record, keeps its checkpoints)."""
    a, b = (get_client(url=u) for u in two_servers)
    thread_id = (await a.threads.create())["thread_id"]
    run = await a.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(b, thread_id, run["run_id"], "running"), what="the run running elsewhere")
    await b.runs.cancel(thread_id, run["run_id"], wait=True, action="rollback")
    for client in (a, b):
        assert run["run_id"] not in [r["run_id"] for r in await client.runs.list(thread_id)]
    assert (await a.threads.get(thread_id))["status"] != "busy"
    # multitask_strategy "rollback" sent to the other process: the run it replaced is gone too
    first = await a.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(b, thread_id, first["run_id"], "running"), what="the run running elsewhere")
    assert (await b.runs.wait(thread_id, "slow", input={}, multitask_strategy="rollback"))["log"]
    assert first["run_id"] not in [r["run_id"] for r in await a.runs.list(thread_id)]


async def test_a_stateless_run_is_joined_and_read_on_the_other_process_after_it_ended(
    two_servers: tuple[str, str], redis_server: str
) -> None:
    """Its thread goes as it ends; the other process still answers its outcome, as langgraph dev does,
    whether the run had ended before the join came or ended while the other process waited on it."""
    a, b = (get_client(url=u) for u in two_servers)
    quick = await a.runs.create(None, "greet", input={}, context={"user": "ana"})
    assert await a.runs.join(quick["thread_id"], quick["run_id"]) == {"greeting": "hello ana"}  # ended, thread gone
    assert await b.runs.join(quick["thread_id"], quick["run_id"]) == {"greeting": "hello ana"}
    assert (await b.runs.get(quick["thread_id"], quick["run_id"]))["status"] == "success"
    parts = [part async for part in b.runs.join_stream(quick["thread_id"], quick["run_id"])]
    assert parts[-1].event == "values" and parts[-1].data == {"greeting": "hello ana"}
    slow = await a.runs.create(None, "slow", input={})
    assert await b.runs.join(slow["thread_id"], slow["run_id"]) == {"log": ["slow"]}
    with pytest.raises(httpx.HTTPStatusError) as info:  # kept apart from its thread, under its own thread id only
        await b.runs.get(slow["thread_id"], quick["run_id"])
    assert info.value.response.status_code == 404
    client = aioredis.from_url(redis_server)
    try:
        assert 0 < await client.ttl(keys.ended_run(quick["run_id"])) <= ENDED_KEPT_S  # kept for minutes, not forever
        assert await client.exists(f"sluice:{{{quick['thread_id']}}}:thread") == 0
    finally:
        await client.aclose()


async def test_server_on_a_redis_cluster(redis_cluster_url: str) -> None:
    with running_server(REDIS_URL=redis_cluster_url) as url:
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        paused = await client.runs.wait(thread_id, "agent", input={"some_text": "original text"})
        assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}
        done = await client.runs.wait(thread_id, "agent", command=Command(resume="Edited text"))
        assert done == {"some_text": "Edited text"}
        assert [t["thread_id"] for t in await client.threads.search(limit=100)].count(thread_id) == 1
        await client.threads.delete(thread_id)
