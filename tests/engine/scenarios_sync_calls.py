"""Differential scenarios for sync calls (invoke/stream of sync nodes on the in-memory saver), which
the engine runs outside its event loop until something waits (engine/sync.py): context variables,
graphs called inside nodes (one node alone, and parallel nodes in worker threads), interrupts and
retries in such nodes, and a fan-out that hands the rest of the call to the loop mid-way."""

from __future__ import annotations

import contextvars
import operator
from typing import Annotated, Any, TypedDict

from .harness import Api, Trace

caller_var: contextvars.ContextVar[str] = contextvars.ContextVar("caller_var", default="unset")


class Items(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def cfg(thread: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def context_vars_of_a_sync_call(api: Api, t: Trace) -> None:
    """A node sees the caller's context variables; what a node sets stays inside the call."""
    seen: list[str] = []

    def node(state: Items) -> dict[str, Any]:
        seen.append(caller_var.get())
        caller_var.set("set by the node")
        return {"items": [caller_var.get()]}

    b = api.StateGraph(Items)
    b.add_node("node", node)
    b.add_edge(api.START, "node")
    g = b.compile(checkpointer=api.InMemorySaver())
    token = caller_var.set("set by the caller")
    try:
        t.call("invoke", lambda: g.invoke({"items": []}, cfg()))
        t.add("after invoke", caller_var.get())
        t.call("stream", lambda: list(g.stream({"items": []}, cfg("s"), stream_mode="updates")))
        t.add("after stream", caller_var.get())
    finally:
        caller_var.reset(token)
    t.add("seen", seen)


def graphs_called_inside_sync_nodes(api: Api, t: Trace) -> None:
    """A sync node calling another graph's invoke: alone in its step, then three in parallel (each
    in a worker thread while the call's own thread runs the last), with a pause in the inner graph."""
    inner_b = api.StateGraph(Items)
    inner_b.add_node("inner", lambda s: {"items": ["inner"]})
    inner_b.add_edge(api.START, "inner")
    inner = inner_b.compile()

    asking_b = api.StateGraph(Items)
    asking_b.add_node("ask", lambda s: {"items": [api.interrupt("inner?")]})
    asking_b.add_edge(api.START, "ask")
    asking = asking_b.compile()

    def caller(name: str, graph: Any) -> Any:
        def node(state: Items) -> dict[str, Any]:
            return {"items": [name, *graph.invoke({"items": []})["items"]]}
        return node

    single_b = api.StateGraph(Items)
    single_b.add_node("one", caller("one", inner))
    single_b.add_edge(api.START, "one")
    single = single_b.compile(checkpointer=api.InMemorySaver())
    t.call("single", lambda: single.invoke({"items": []}, cfg()))

    fan_b = api.StateGraph(Items)
    for name in ("a", "b", "c"):
        fan_b.add_node(name, caller(name, inner))
        fan_b.add_edge(api.START, name)
    fan_b.add_node("join", lambda s: {"items": ["join"]})
    fan_b.add_edge(["a", "b", "c"], "join")
    fan = fan_b.compile(checkpointer=api.InMemorySaver())
    t.call("fan-out", lambda: fan.invoke({"items": []}, cfg()))
    t.call("fan-out stream", lambda: list(fan.stream({"items": []}, cfg("s"), stream_mode="values")))

    pausing_b = api.StateGraph(Items)
    pausing_b.add_node("outer", caller("outer", asking))
    pausing_b.add_edge(api.START, "outer")
    pausing = pausing_b.compile(checkpointer=api.InMemorySaver())
    t.call("pause", lambda: pausing.invoke({"items": []}, cfg()))
    t.call("resume", lambda: pausing.invoke(api.Command(resume="yes"), cfg()))


def retries_and_pauses_of_parallel_sync_nodes(api: Api, t: Trace) -> None:
    """Parallel sync nodes, one retried, one paused; the step's other node finishes on the resume."""
    attempts: list[str] = []

    def flaky(state: Items) -> dict[str, Any]:
        attempts.append("flaky")
        if attempts.count("flaky") < 2:
            raise ConnectionError("once")
        return {"items": ["flaky"]}

    def ask(state: Items) -> dict[str, Any]:
        attempts.append("ask")
        return {"items": [api.interrupt("ask?")]}

    b = api.StateGraph(Items)
    b.add_node("flaky", flaky, retry_policy=api.RetryPolicy(initial_interval=0.001, jitter=False))
    b.add_node("ask", ask)
    b.add_node("plain", lambda s: {"items": ["plain"]})
    for name in ("flaky", "ask", "plain"):
        b.add_edge(api.START, name)
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("first", lambda: g.invoke({"items": []}, cfg()))
    t.call("resume", lambda: g.invoke(api.Command(resume="answer"), cfg()))
    t.add("attempts", sorted(attempts))


def sync_streams_inside_a_running_loop(api: Api, t: Trace) -> None:
    """Sync `stream` (and history) read by code running inside an event loop, as in a notebook: a
    step of parallel sync nodes streams every chunk; a stream left early keeps what it had run."""
    import asyncio

    b = api.StateGraph(Items)
    b.add_node("a", lambda s: {"items": ["a"]})
    b.add_node("b", lambda s: {"items": ["b"]})
    b.add_node("after", lambda s: {"items": ["after"]})
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    b.add_edge(["a", "b"], "after")
    g = b.compile(checkpointer=api.InMemorySaver())

    async def in_loop() -> list[Any]:
        updates = [sorted(c) for c in g.stream({"items": []}, cfg("u"))]  # node order within a step varies
        values = list(g.stream({"items": []}, cfg("v"), stream_mode="values"))
        for _ in g.stream({"items": []}, cfg("left"), stream_mode="values"):
            break  # left after the input's values: the first step has not run
        history = [s.next for s in g.get_state_history(cfg("v"))]
        return [updates, values, g.get_state(cfg("left")), g.invoke(None, cfg("left")), history]

    t.call("in a loop", lambda: asyncio.run(in_loop()))


SYNC_CALL_SCENARIOS = [
    context_vars_of_a_sync_call,
    graphs_called_inside_sync_nodes,
    retries_and_pauses_of_parallel_sync_nodes,
    sync_streams_inside_a_running_loop,
]
