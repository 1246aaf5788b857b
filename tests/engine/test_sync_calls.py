"""Sync calls that start outside the event loop (engine/sync.py): they leave the thread as they found
it, and code that needs a loop task (asyncio.timeout) still gets one."""

from __future__ import annotations

import asyncio
import gc
import operator
import sys
import uuid
from typing import Annotated, Any, TypedDict

from engine import START, Command, InMemorySaver, RedisSaver, StateGraph, interrupt


class Items(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def fan_out(width: int, checkpointer: Any) -> Any:
    b = StateGraph(Items)
    for i in range(width):
        b.add_node(f"n{i}", lambda s, i=i: {"items": [f"n{i}"]})
        b.add_edge(START, f"n{i}")
    return b.compile(checkpointer=checkpointer)


def seed() -> Any:
    b = StateGraph(Items)
    b.add_node("ask", lambda s: {"items": [interrupt("ok?")]})
    b.add_edge(START, "ask")
    return b.compile(checkpointer=InMemorySaver())


def test_the_thread_is_left_without_a_running_loop_or_asyncgen_hooks() -> None:
    hooks = sys.get_asyncgen_hooks()
    graph, fan, c = seed(), fan_out(3, InMemorySaver()), cfg()
    graph.invoke({"items": []}, c)  # never waits: no loop pass at all
    assert list(graph.stream(Command(resume="yes"), c)) == [{"ask": {"items": ["yes"]}}]
    assert fan.invoke({"items": []}, cfg()) == {"items": ["n0", "n1", "n2"]}  # waits on worker threads
    assert sys.get_asyncgen_hooks() == hooks
    assert asyncio._get_running_loop() is None

    async def inside() -> str:  # a loop can run on this thread after them
        return "ran"

    assert asyncio.run(inside()) == "ran"


def test_an_async_node_of_a_sync_call_runs_in_a_loop_task() -> None:
    async def timed(state: Items) -> dict[str, Any]:
        async with asyncio.timeout(5):  # fails outside a task
            await asyncio.sleep(0)
        return {"items": ["timed"]}

    b = StateGraph(Items)
    b.add_node("timed", timed)
    b.add_edge(START, "timed")
    assert b.compile(checkpointer=InMemorySaver()).invoke({"items": []}, cfg()) == {"items": ["timed"]}


def test_a_checkpointer_that_needs_a_loop_task_gets_one() -> None:
    class TimedSaver(InMemorySaver):
        """As a Redis client bounds its calls: asyncio.timeout, which fails outside a task."""

        async def load(self, *args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(5):
                return await super().load(*args, **kwargs)

    graph, c = fan_out(1, TimedSaver()), cfg()
    assert graph.invoke({"items": []}, c) == {"items": ["n0"]}
    assert graph.invoke(None, c) == {"items": ["n0"]}


def test_a_sync_stream_left_midway_is_finalised_quietly() -> None:
    """Its suspended generators (started eagerly, or in the loop after a fan-out's wait) are closed
    by the thread's loop, as before; nothing is reported unraisable and the next calls run."""
    unraisable: list[Any] = []
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        graph, fan = seed(), fan_out(3, InMemorySaver())
        for g in (graph, fan):
            chunks = g.stream({"items": []}, cfg(), stream_mode="values")
            assert next(chunks) == {"items": []}
            del chunks
            gc.collect()
        assert fan.invoke({"items": []}, cfg()) == {"items": ["n0", "n1", "n2"]}
        assert graph.invoke({"items": []}, cfg())["__interrupt__"][0].value == "ok?"
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert unraisable == []


def test_sync_calls_inside_a_running_loop_share_one_loop(redis_url: str) -> None:
    """Sync calls made from code running in another loop (a notebook's) all run on one shared loop,
    so the Redis client's connections, bound to the loop that opened them, serve every call."""
    graph, c = fan_out(2, RedisSaver.from_url(redis_url)), cfg()

    async def notebook_cell() -> list[Any]:
        first = graph.invoke({"items": []}, c)
        second = graph.invoke({"items": ["again"]}, c)
        streamed = [sorted(chunk) for chunk in graph.stream({"items": []}, cfg())]
        return [first, second, streamed, graph.get_state(c).values, [s.next for s in graph.get_state_history(c)]]

    assert asyncio.run(notebook_cell()) == [
        {"items": ["n0", "n1"]},
        {"items": ["n0", "n1", "again", "n0", "n1"]},
        [["n0"], ["n1"]],
        {"items": ["n0", "n1", "again", "n0", "n1"]},
        [(), ("n0", "n1"), ("__start__",), (), ("n0", "n1"), ("__start__",)],
    ]
