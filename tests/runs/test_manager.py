"""The runs layer itself (RunManager on the in-memory stores): statuses around refused and queued runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.registry import Registry
from bot.runs import PauseGone, RunManager, RunRecord, RunRequest
from bot.runs.errors import Conflict, Invalid, NotFound
from bot.runs.events import RunEvent
from bot.runs.records import RunFailure
from bot.runs.store_memory import MemoryRecords
from engine import InMemorySaver
from tests.waiting import eventually

GRAPHS = Path(__file__).parents[1] / "api" / "langgraph.json"


@pytest.fixture
def manager() -> RunManager:
    return RunManager(Registry.load(GRAPHS), InMemorySaver(), MemoryRecords())


async def test_a_refused_resume_leaves_the_thread_interrupted(manager: RunManager) -> None:
    thread = await manager.create_thread()
    first = await manager.submit(thread.thread_id, RunRequest("agent", input={"some_text": "draft"}))
    await manager.join(thread.thread_id, first.run_id)
    assert (await manager.thread(thread.thread_id)).status == "interrupted"
    with pytest.raises(PauseGone):
        await manager.resume(
            thread.thread_id, "agent", "late", is_breakpoint=False, config={}, metadata={}, checkpoint_id="not-current"
        )
    assert (await manager.thread(thread.thread_id)).status == "interrupted"
    state = await manager.state(thread.thread_id)
    assert state.values == {"some_text": "draft"} and state.next == ("human_node",)


async def test_the_thread_stays_busy_while_a_run_is_queued(manager: RunManager) -> None:
    thread = await manager.create_thread()
    first = await manager.submit(thread.thread_id, RunRequest("slow", input={}))
    second = await manager.submit(thread.thread_id, RunRequest("slow", input={}))
    await manager.join(thread.thread_id, first.run_id)

    async def second_running() -> bool:
        return (await manager.get_run(thread.thread_id, second.run_id)).status == "running"

    await eventually(second_running, what="the queued run running")
    assert (await manager.thread(thread.thread_id)).status == "busy"
    await manager.join(thread.thread_id, second.run_id)
    assert (await manager.thread(thread.thread_id)).status == "idle"
    assert (await manager.state(thread.thread_id)).values == {"log": ["slow", "slow"]}


async def test_cancelling_a_queued_run_restores_the_threads_status(manager: RunManager) -> None:
    thread = await manager.create_thread()
    paused = await manager.submit(thread.thread_id, RunRequest("agent", input={"some_text": "x"}))
    await manager.join(thread.thread_id, paused.run_id)
    blocker = await manager.submit(thread.thread_id, RunRequest("slow", input={}))
    queued = await manager.submit(thread.thread_id, RunRequest("slow", input={}))
    await manager.cancel(thread.thread_id, queued.run_id)
    await manager.cancel(thread.thread_id, blocker.run_id)
    assert (await manager.get_run(thread.thread_id, queued.run_id)).status == "interrupted"
    assert (await manager.thread(thread.thread_id)).status == "interrupted"


async def test_a_failed_run_carries_its_failure_as_a_typed_field(manager: RunManager) -> None:
    thread = await manager.create_thread()
    run = await manager.submit(thread.thread_id, RunRequest("failing", input={}))
    ended = await manager.join(thread.thread_id, run.run_id)
    assert ended.status == "error" and ended.result is None
    assert ended.error == RunFailure("ValueError", "boom!", cause="graph")
    stored = await manager.get_run(thread.thread_id, run.run_id)
    assert stored.error == ended.error  # survives the record's JSON round trip
    assert "error" not in stored.to_json()  # the API's Run shape has no such field


async def test_a_resume_of_a_gone_pause_fails_with_cause_pause_gone(manager: RunManager) -> None:
    thread = await manager.create_thread()
    first = await manager.submit(thread.thread_id, RunRequest("agent", input={"some_text": "draft"}))
    await manager.join(thread.thread_id, first.run_id)
    late = RunRequest("agent", command={"resume": "late"}, expected_checkpoint="not-current")
    ended = await manager.join(thread.thread_id, (await manager.submit(thread.thread_id, late)).run_id)
    assert ended.status == "error" and ended.error is not None and ended.error.cause == "pause_gone"


async def test_a_refused_answer_fails_with_cause_answer_refused_and_the_pause_stays(manager: RunManager) -> None:
    thread = await manager.create_thread()
    await manager.join(thread.thread_id, (await manager.submit(thread.thread_id, RunRequest("typed", input={}))).run_id)
    refused = RunRequest("typed", command={"resume": {"choice": "later", "risk": 1}})
    ended = await manager.join(thread.thread_id, (await manager.submit(thread.thread_id, refused)).run_id)
    assert ended.error is not None and (ended.error.error, ended.error.cause) == ("ValidationError", "answer_refused")
    assert (await manager.state(thread.thread_id)).next == ("decide",)
    own = await manager.submit(None, RunRequest("own_validation", input={}))
    ended = await manager.join(own.thread_id, own.run_id)
    assert ended.error is not None and (ended.error.error, ended.error.cause) == ("ValidationError", "graph")


async def test_refusals_are_domain_errors(manager: RunManager) -> None:
    with pytest.raises(NotFound):
        await manager.thread("no-such-thread")
    with pytest.raises(NotFound):
        await manager.submit(None, RunRequest("no-such-assistant"))
    with pytest.raises(Invalid):
        await manager.submit(None, RunRequest("agent", multitask_strategy="sometimes"))
    thread = await manager.create_thread()
    with pytest.raises(Conflict):
        await manager.create_thread(thread.thread_id)


async def test_a_run_stopped_after_a_node_names_it_and_subscribers_get_the_modes_they_asked_for(
    manager: RunManager,
) -> None:
    """Task updates are asked of the engine only when read: breakpoint_of names the nodes that ran
    for a run that stops after them, and a subscriber of an "updates" run gets every node's."""
    events: list[RunEvent] = []

    async def listener(event: RunEvent) -> None:
        events.append(event)

    manager.add_listener(listener)
    thread = await manager.create_thread()
    run = await manager.submit(thread.thread_id, RunRequest("breakpoints", input={"input": "go"},
                                                            interrupt_after=["node_b"]))
    await manager.join(thread.thread_id, run.run_id)
    assert events[-1].kind == "paused" and events[-1].breakpoint == ("after", ("node_b",))

    held = asyncio.Event()
    queues: list[asyncio.Queue[Any]] = []

    def subscribe(submitted: RunRecord) -> None:  # before the run takes its first step
        queue = manager.listen(submitted.run_id)
        assert queue is not None
        queues.append(queue)
        held.set()

    unwatch = manager.watch_thread(thread.thread_id, subscribe)
    rest = await manager.submit(thread.thread_id, RunRequest("breakpoints", input=None, stream_mode=("updates",)))
    unwatch()
    await held.wait()
    await manager.join(thread.thread_id, rest.run_id)
    items = []
    while (item := await queues[0].get()) is not None:
        items.append(item)
    assert items == [("updates", {"node_c": {"steps": ["c"]}})]
    assert events[-1].kind == "finished" and events[-1].values == {"input": "go", "steps": ["a", "b", "c"]}
