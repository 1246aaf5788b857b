"""A resume starts from the head its process remembers, unread: the engine's claim checks the thread,
refuses a stale pause (a Slack button's checkpoint) and carries the resume's audit entry, which lands
with the decision or not at all. Two processes are two RunManagers on one Redis, each with its own
saver (its own remembered heads), records and audit clients; the thread moves on, or a claim lands,
at a chosen moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis
from typing_extensions import TypedDict

from bot import keys
from bot.audit import RedisAuditLog
from bot.registry import Registry
from bot.runs import PauseGone, RunManager, RunRequest
from bot.runs.kept_states import KeptStates
from bot.runs.store_redis import RedisRecords
from engine import START, Command, RedisSaver, StateGraph, StateSnapshot, interrupt, serde


class State(TypedDict, total=False):
    first: str
    second: str


def ask_first(state: State) -> State:
    return {"first": interrupt("first?")}


def ask_second(state: State) -> State:
    return {"second": interrupt("second?")}


def two_questions() -> StateGraph:
    graph = StateGraph(State).add_node("a", ask_first).add_node("b", ask_second)
    return graph.add_edge(START, "a").add_edge("a", "b")


class HeldSaver(RedisSaver):
    """A Redis saver whose next checkpoint save, once armed, waits to be let through."""

    armed = False

    def hold_next_save(self) -> None:
        self.armed, self.saving, self.go = True, asyncio.Event(), asyncio.Event()

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self.armed:
            self.armed = False
            self.saving.set()
            await self.go.wait()
        await super().save(*args, **kwargs)


@dataclass
class Process:
    manager: RunManager
    saver: HeldSaver
    client: Any

    async def api_resume(self, thread_id: str, value: Any) -> Any:
        run = await self.manager.submit(thread_id, RunRequest("two", command={"resume": value}, audit_as="api"))
        return await self.manager.join(thread_id, run.run_id)


@pytest.fixture
async def processes(redis_url: str) -> AsyncIterator[tuple[Process, Process]]:
    made: list[Process] = []
    for _ in range(2):
        client = aioredis.from_url(redis_url)
        saver = HeldSaver.from_url(redis_url, cluster=False)
        manager = RunManager(Registry.from_graphs({"two": two_questions()}), saver, RedisRecords(client),
                             RedisAuditLog(client))
        made.append(Process(manager, saver, client))
    yield made[0], made[1]
    for process in made:
        await process.manager.drain(grace_s=5)
        await process.saver.aclose()
        await process.client.aclose()


async def _paused(process: Process) -> tuple[str, str, str]:
    """A thread run by `process` to its first pause: (thread id, checkpoint id, interrupt id)."""
    thread = await process.manager.create_thread()
    run = await process.manager.submit(thread.thread_id, RunRequest("two", input={}))
    await process.manager.join(thread.thread_id, run.run_id)
    state = await process.manager.state(thread.thread_id)
    return thread.thread_id, state.config["configurable"]["checkpoint_id"], state.interrupts[0].id


async def _audit(process: Process, thread_id: str) -> list[tuple[str, str, Any]]:
    return [(e.decision, e.interrupt_id, e.after) for e in await process.manager.audit.entries(thread_id)]


async def test_a_remembered_pause_is_resumed_without_reading_the_thread(processes: tuple[Process, Process]) -> None:
    a, _ = processes
    thread_id, _, first = await _paused(a)
    commands, round_trips = a.saver.sent
    ended = await a.api_resume(thread_id, "one")
    assert ended.status == "success" and ended.result["__interrupt__"][0]["value"] == "second?"
    # The claim (carrying the audit entry), then the next step's checkpoint and its pause: no read.
    assert (a.saver.sent[0] - commands, a.saver.sent[1] - round_trips) == (3, 3)
    assert await _audit(a, thread_id) == [("resume", first, "one")]


async def test_a_stale_button_is_refused_by_the_claim_and_nothing_is_written(processes: tuple[Process, Process]) -> None:
    a, b = processes
    thread_id, checkpoint_id, first = await _paused(a)
    await b.api_resume(thread_id, "from b")  # the thread moves on to its second pause; `a` still remembers the first
    moved = await b.manager.state(thread_id)
    with pytest.raises(PauseGone):
        await a.manager.resume(thread_id, "two", "from a stale button", is_breakpoint=False, config={}, metadata={},
                               checkpoint_id=checkpoint_id)
    now = await b.manager.state(thread_id)
    assert now.config == moved.config and now.values == moved.values == {"first": "from b"}
    assert [i.value for i in now.interrupts] == ["second?"]  # still open, unanswered
    assert await _audit(b, thread_id) == [("resume", first, "from b")]


async def test_an_api_resume_on_a_stale_memory_answers_the_pause_there_is_and_audits_that_one(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    thread_id, _, first = await _paused(a)
    await b.api_resume(thread_id, "from b")
    second = (await b.manager.state(thread_id)).interrupts[0].id
    ended = await a.api_resume(thread_id, "from a")  # `a` prepared from the first pause: refused, then the second
    assert ended.status == "success" and ended.result == {"first": "from b", "second": "from a"}
    assert await _audit(a, thread_id) == [("resume", first, "from b"), ("resume", second, "from a")]


async def test_a_claim_refused_as_already_answered_leaves_no_audit_entry(processes: tuple[Process, Process]) -> None:
    a, b = processes
    thread_id, _, first = await _paused(a)
    # Another writer (a process whose lease lapsed while it stalled) claims the pause first, and
    # stops before its next checkpoint.
    b.saver.hold_next_save()
    config = {"configurable": {"thread_id": thread_id}}
    writer = asyncio.ensure_future(two_questions().compile(checkpointer=b.saver).ainvoke(Command(resume="from b"), config))
    await b.saver.saving.wait()
    loser = await a.api_resume(thread_id, "from a")
    assert loser.status == "error" and loser.error is not None and loser.error.cause == "pause_gone"
    b.saver.go.set()
    await writer
    assert await _audit(a, thread_id) == []  # the refused claim carried its entry away with it
    assert (await b.manager.state(thread_id)).values == {"first": "from b"}


async def test_an_audit_entry_that_cannot_be_written_stops_the_decision(processes: tuple[Process, Process]) -> None:
    a, _ = processes
    thread_id, checkpoint_id, first = await _paused(a)
    await a.client.set(keys.audit(thread_id), "not a stream")  # the XADD riding the claim fails
    failed = await a.api_resume(thread_id, "lost?")
    assert failed.status == "error"
    state = await a.manager.state(thread_id)
    assert state.config["configurable"]["checkpoint_id"] == checkpoint_id and state.values == {}
    assert [i.id for i in state.interrupts] == [first]  # no answer written: the pause is still open
    await a.client.delete(keys.audit(thread_id))
    assert (await a.api_resume(thread_id, "kept")).status == "success"
    assert await _audit(a, thread_id) == [("resume", first, "kept")]


async def test_the_end_state_kept_for_the_next_resume_is_dropped_once_the_remembered_head_changes(
    processes: tuple[Process, Process],
) -> None:
    a, _ = processes
    thread_id, checkpoint_id, _ = await _paused(a)
    graph = a.manager.executor.graph(a.manager.assistant("two"))
    head = {"configurable": {"thread_id": thread_id}}
    states = KeptStates.recalled(a.saver)
    reads: list[StateSnapshot] = []

    async def read() -> StateSnapshot:
        reads.append(await graph.aget_state_recalled(head))
        return reads[-1]

    ended = await states.ended(thread_id, graph, read)
    assert await states.current(thread_id, graph, read) is ended and len(reads) == 1  # no decoding again
    await states.ended(thread_id, graph, read)
    await a.saver.save_writes(thread_id, "", checkpoint_id, {"task:x": serde.dumps(1, "a write")})  # the head changes
    assert await states.current(thread_id, graph, read) is reads[-1] and len(reads) == 3
