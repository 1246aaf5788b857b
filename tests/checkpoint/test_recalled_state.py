"""`aget_state_recalled`: the state a run left, answered from the head its saver remembers, equals
what `aget_state` reads from the store, on memory, a single Redis and a Redis Cluster, after every
run of the seed, a two-interrupt graph, a subgraph that pauses and a run that fails; on Redis it
reads nothing (no round trip) while a saver that remembers no head reads as aget_state does."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

from engine import Command, RedisSaver, StateGraph, interrupt
from engine.checkpoint.base import Checkpointer
from engine.types import END, START
from examples.text_revision import builder as seed_builder


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _asks(name: str) -> Callable[[Log], Log]:
    def node(state: Log) -> Log:
        return {"log": [f"{name}={interrupt({'question': name})}"]}
    return node


def two_pauses() -> Any:
    builder = StateGraph(Log).add_node("ask_a", _asks("a")).add_node("ask_b", _asks("b"))
    builder.add_node("work", lambda state: {"log": ["work"]}).add_node("done", lambda state: {"log": ["done"]})
    for name in ("ask_a", "ask_b", "work"):
        builder.add_edge(START, name)
    return builder.add_edge(["ask_a", "ask_b", "work"], "done").add_edge("done", END)


def paused_subgraph() -> Any:
    sub = StateGraph(Log).add_node("ask", _asks("sub")).add_edge(START, "ask").compile()
    return StateGraph(Log).add_node("prep", lambda state: {"log": ["prep"]}).add_node("sub", sub) \
        .add_edge(START, "prep").add_edge("prep", "sub")


def fails_after_a_pause() -> Any:
    def boom(state: Log) -> Log:
        raise ValueError(f"no: {state['log']}")
    return StateGraph(Log).add_node("ask", _asks("x")).add_node("boom", boom).add_edge(START, "ask") \
        .add_edge("ask", "boom")


async def _same_state(graph: Any, saver: Checkpointer, cfg: dict[str, Any]) -> None:
    sent = saver.sent[1] if isinstance(saver, RedisSaver) else 0
    recalled = await graph.aget_state_recalled(cfg)
    if isinstance(saver, RedisSaver):
        assert saver.sent[1] == sent  # answered from memory: no round trip
    assert recalled == await graph.aget_state(cfg)


async def _resume_each(graph: Any, saver: Checkpointer, cfg: dict[str, Any], out: Any) -> None:
    """Answers the run's pauses one run at a time, checking the state after each run."""
    while isinstance(out, dict) and out.get("__interrupt__"):
        out = await graph.ainvoke(Command(resume={out["__interrupt__"][0].id: "yes"}), cfg)
        await _same_state(graph, saver, cfg)


@pytest.mark.parametrize("builder", [seed_builder, two_pauses(), paused_subgraph()], ids=["seed", "two", "sub"])
async def test_after_every_run_the_recalled_state_is_the_stored_one(
    make_saver: Callable[..., Checkpointer], builder: Any
) -> None:
    saver = make_saver()
    graph = builder.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": f"s-{uuid.uuid4().hex}"}}
    first = {"some_text": "draft"} if builder is seed_builder else {"log": ["in"]}
    out = await graph.ainvoke(first, cfg)
    assert out["__interrupt__"]
    await _same_state(graph, saver, cfg)
    await _resume_each(graph, saver, cfg, out)
    assert not (await graph.aget_state(cfg)).next  # ran to the end


async def test_after_a_failed_run_the_recalled_state_is_the_stored_one(make_saver: Callable[..., Checkpointer]) -> None:
    saver = make_saver()
    graph = fails_after_a_pause().compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": f"f-{uuid.uuid4().hex}"}}
    out = await graph.ainvoke({"log": ["in"]}, cfg)
    with pytest.raises(ValueError, match="no:"):
        await graph.ainvoke(Command(resume={out["__interrupt__"][0].id: "yes"}), cfg)
    state = await graph.aget_state(cfg)
    assert state.next == ("boom",) and state.tasks[0].error
    await _same_state(graph, saver, cfg)


async def test_a_saver_that_remembers_no_head_reads_it(redis_url: str) -> None:
    writer, other = RedisSaver.from_url(redis_url), RedisSaver.from_url(redis_url)
    try:
        cfg = {"configurable": {"thread_id": f"o-{uuid.uuid4().hex}"}}
        await seed_builder.compile(checkpointer=writer).ainvoke({"some_text": "draft"}, cfg)
        graph = seed_builder.compile(checkpointer=other)
        sent = other.sent[1]
        recalled = await graph.aget_state_recalled(cfg)
        assert other.sent[1] == sent + 1 and recalled == await graph.aget_state(cfg)
        assert recalled.next == ("human_node",)
    finally:
        await writer.aclose()
        await other.aclose()
