"""Runs that start from the head their process remembers (RedisSaver.recall), with two savers on one
Redis as two processes: the seed cycle's round trips, and a memory gone stale behind another process's
back, which must cost a refused write and nothing else: right results, each pause answered once, no
node run twice for one pause."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypedDict

import pytest

from engine import CheckpointConflict, Command, RedisSaver, SavedCheckpoint, StateGraph, interrupt
from engine.checkpoint.heads import HeadMemory
from engine.types import END, START
from examples.text_revision import builder as seed_builder


@pytest.fixture(params=["redis", "cluster"])
async def savers(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], RedisSaver]]:
    """New savers on one server, each with its own client and memory, as separate processes have."""
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
    made: list[RedisSaver] = []

    def make() -> RedisSaver:
        made.append(RedisSaver.from_url(url, cluster=request.param == "cluster", ttl=600))
        return made[-1]

    yield make
    for saver in made:
        await saver.aclose()


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"r-{uuid.uuid4().hex}"}}


async def round_trips(saver: RedisSaver, run: Any) -> tuple[Any, int]:
    before = saver.sent[1]
    result = await run
    return result, saver.sent[1] - before


async def test_the_seed_cycle_takes_one_round_trip_per_checkpoint_write(savers: Callable[[], RedisSaver]) -> None:
    saver = savers()
    graph = seed_builder.compile(checkpointer=saver)
    warm = config()  # the first call of each script loads it (NOSCRIPT)
    await graph.ainvoke({"some_text": "x"}, warm)
    await graph.ainvoke(Command(resume="y"), warm)
    cfg = config()
    paused, first = await round_trips(saver, graph.ainvoke({"some_text": "original text"}, cfg))
    done, second = await round_trips(saver, graph.ainvoke(Command(resume="Edited text"), cfg))
    assert "__interrupt__" in paused and done == {"some_text": "Edited text"}
    # Run 1: input + step 0 in one write, then the pause's record. Run 2: the claim, then step 1.
    assert (first, second) == (2, 2)
    history = [s.metadata["step"] async for s in graph.aget_state_history(cfg)]  # type: ignore[index]
    assert history == [1, 0, -1]


def test_the_memory_drops_the_least_recently_used_heads_by_count_and_by_bytes() -> None:
    memory = HeadMemory(entries=3, max_bytes=10_000)
    for name in "abc":
        memory.put((name, ""), SavedCheckpoint(name, None, b"x"))
    assert memory.get(("a", "")) == (True, SavedCheckpoint("a", None, b"x"))  # now the most recent
    memory.put(("d", ""), None)  # remembered as empty
    assert [k for k in "abcd" if (k, "") in memory] == ["a", "c", "d"] and memory.get(("d", "")) == (True, None)
    memory.put(("big", ""), SavedCheckpoint("big", None, b"x" * 9_900))  # the others go to make room
    assert len(memory) == 1 and ("big", "") in memory
    memory.put(("huge", ""), SavedCheckpoint("huge", None, b"x" * 20_000))  # larger than all: not kept
    assert ("huge", "") not in memory and memory.get(("nothing", "")) == (False, None)
    memory.drop_thread("big")
    assert len(memory) == 0


async def test_a_saver_remembering_nothing_reads_before_every_run(redis_url: str) -> None:
    saver = RedisSaver.from_url(redis_url, remember=0)
    graph = seed_builder.compile(checkpointer=saver)
    warm = config()
    await graph.ainvoke({"some_text": "x"}, warm)
    await graph.ainvoke(Command(resume="y"), warm)
    cfg = config()
    _, first = await round_trips(saver, graph.ainvoke({"some_text": "original text"}, cfg))
    done, second = await round_trips(saver, graph.ainvoke(Command(resume="Edited text"), cfg))
    assert done == {"some_text": "Edited text"} and (first, second) == (3, 3)  # read, write, write: the old way
    assert saver.recall(cfg["configurable"]["thread_id"], "") is None
    await saver.aclose()


class Two(TypedDict, total=False):
    first: str
    second: str
    note: str


def two_pauses(runs: list[str]) -> Any:
    def ask_first(state: Two) -> Two:
        runs.append("first")
        return {"first": interrupt("first?")}

    def ask_second(state: Two) -> Two:
        runs.append("second")
        return {"second": interrupt("second?")}

    builder = StateGraph(Two)
    builder.add_node("ask_first", ask_first)
    builder.add_node("ask_second", ask_second)
    builder.add_edge(START, "ask_first")
    builder.add_edge("ask_first", "ask_second")
    builder.add_edge("ask_second", END)
    return builder


async def test_a_memory_left_behind_by_another_process_costs_one_refused_write(
    savers: Callable[[], RedisSaver],
) -> None:
    runs: list[str] = []
    builder = two_pauses(runs)
    one, two = builder.compile(checkpointer=savers()), builder.compile(checkpointer=savers())
    cfg = config()
    await one.ainvoke({}, cfg)  # `one` remembers the first pause
    await two.ainvoke(Command(resume="A"), cfg)  # `two` answers it: the thread is at the second pause
    assert runs == ["first", "first", "second"]

    # `one` answers from its stale memory: its claim is refused, the refusal brings the head back,
    # and it answers the pause that is actually pending, in one more round trip and no read.
    saver = one.checkpointer
    assert isinstance(saver, RedisSaver)
    done, trips = await round_trips(saver, one.ainvoke(Command(resume="B"), cfg))
    assert done == {"first": "A", "second": "B"} and trips == 3
    assert runs == ["first", "first", "second", "second"]  # each pause's node ran once more, when answered
    state = await builder.compile(checkpointer=savers()).aget_state(cfg)
    assert state.values == {"first": "A", "second": "B"} and state.next == ()


async def test_writes_added_to_a_remembered_head_are_not_missed(savers: Callable[[], RedisSaver]) -> None:
    """Same head id, other pending writes (an update given while paused): the digest catches it."""
    runs: list[str] = []
    builder = two_pauses(runs)
    one, two = builder.compile(checkpointer=savers()), builder.compile(checkpointer=savers())
    cfg = config()
    await one.ainvoke({}, cfg)
    head = (await two.aget_state(cfg)).config["configurable"]["checkpoint_id"]
    await two.ainvoke(Command(update={"note": "from two"}), cfg)  # re-asks the same pause on the same head
    assert (await two.aget_state(cfg)).config["configurable"]["checkpoint_id"] == head
    out = await one.ainvoke(Command(resume="A"), cfg)
    assert out["first"] == "A" and out["note"] == "from two"  # prepared again from the head as it is


async def test_two_resumes_of_one_pause_from_remembering_processes_have_one_winner(
    savers: Callable[[], RedisSaver],
) -> None:
    answered: list[str] = []
    inside, gate = asyncio.Event(), asyncio.Event()

    async def ask(state: Two) -> Two:
        answer = interrupt("first?")
        answered.append(answer)
        inside.set()
        await gate.wait()
        return {"first": answer}

    builder = StateGraph(Two)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    winner, late_plain, late_by_id = (builder.compile(checkpointer=savers()) for _ in range(3))
    cfg = config()
    paused = await winner.ainvoke({}, cfg)
    (pause,) = paused["__interrupt__"]
    for late in (late_plain, late_by_id):  # each remembers the open pause
        assert (await late.aget_state(cfg)).interrupts
    first = asyncio.create_task(winner.ainvoke(Command(resume="winner"), cfg))
    await inside.wait()  # the winner has claimed the pause and is inside the node
    # (A late resume that ran the node again would wait at the gate: the timeout turns that into a failure.)
    with pytest.raises(CheckpointConflict, match="already answered"):
        await asyncio.wait_for(late_plain.ainvoke(Command(resume="plain"), cfg), 30)
    with pytest.raises(CheckpointConflict, match="already answered"):
        await asyncio.wait_for(late_by_id.ainvoke(Command(resume={pause.id: "by id"}), cfg), 30)
    gate.set()
    assert await first == {"first": "winner"}
    assert answered == ["winner"]  # the node ran once for the pause, with the one answer that won


async def test_an_input_on_a_thread_this_process_has_not_seen(savers: Callable[[], RedisSaver]) -> None:
    """Taken for new, it is not: the refused first write brings the head, and the input goes on it."""
    one, two = seed_builder.compile(checkpointer=savers()), seed_builder.compile(checkpointer=savers())
    cfg = config()
    await two.ainvoke({"some_text": "from two"}, cfg)
    saver = one.checkpointer
    assert isinstance(saver, RedisSaver)
    paused, trips = await round_trips(saver, one.ainvoke({"some_text": "from one"}, cfg))
    assert paused["__interrupt__"][0].value == {"text_to_revise": "from one"}
    assert trips == 3  # the refused write, the input + step, the pause: a read would have cost the same
    history = [s async for s in two.aget_state_history(cfg)]
    assert [s.metadata["step"] for s in history] == [2, 1, 0, -1]  # type: ignore[index]
    assert history[1].parent_config == history[2].config  # the new input continues the head two left


async def test_a_run_that_writes_nothing_first_reads_the_thread(savers: Callable[[], RedisSaver]) -> None:
    """Continuing with input None runs tasks before any write: it never trusts a remembered head."""
    runs: list[str] = []
    builder = two_pauses(runs)
    one, two = builder.compile(checkpointer=savers()), builder.compile(checkpointer=savers())
    cfg = config()
    await one.ainvoke({}, cfg)
    await two.ainvoke(Command(resume="A"), cfg)  # now at the second pause; `one` still remembers the first
    out = await one.ainvoke(None, cfg)
    assert out["first"] == "A" and runs == ["first", "first", "second", "second"]


async def test_a_conflict_only_the_stale_memory_saw_is_not_reported(savers: Callable[[], RedisSaver]) -> None:
    """`one` remembers its answered pause as unfinished (its node failed); `two` has since finished the
    run. A resume from `one` is judged on the thread as it is, as a run that read it would be."""
    failures = [RuntimeError("flaky")]

    def ask(state: Two) -> Two:
        answer = interrupt("first?")
        if failures:
            raise failures.pop()
        return {"first": answer}

    builder = StateGraph(Two)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    one, two = builder.compile(checkpointer=savers()), builder.compile(checkpointer=savers())
    cfg = config()
    await one.ainvoke({}, cfg)
    with pytest.raises(RuntimeError, match="flaky"):
        await one.ainvoke(Command(resume="A"), cfg)  # answered, then failed: `one` remembers that
    assert await two.ainvoke(None, cfg) == {"first": "A"}  # `two` continues it to the end
    assert await one.ainvoke(Command(resume="B"), cfg) == {"first": "A"}  # nothing pending: the values
