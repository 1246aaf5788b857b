"""Differential scenarios for `interrupt(..., response_schema=)` (typed answers, LangGraph 1.2).

Registered in test_differential.py's SCENARIOS; kept apart so that module stays readable.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any, Literal

import pydantic
from typing_extensions import TypedDict  # pydantic needs it for TypedDicts on Python < 3.12

from .harness import Api, Trace


def cfg(thread: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


class Log(TypedDict, total=False):
    out: Annotated[list[Any], operator.add]


class Release(pydantic.BaseModel):
    """A release decision."""

    choice: Literal["ship", "hold"] = pydantic.Field(description="What to do with the release")
    risk: int = pydantic.Field(ge=1, le=5, title="Risk (1-5)")
    reason: str | None = None


class Approve(TypedDict):
    type: Literal["approve"]


class Reject(TypedDict):
    type: Literal["reject"]
    message: str


Decision = Annotated[Approve | Reject, pydantic.Field(discriminator="type")]


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


def _refusal(api: Api, fn: Any) -> Any:
    """The call's error as the trace compares it, plus whether it is marked as a refused answer."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the error is what we compare
        return {"type": type(exc).__name__, "invalid_resume": api.is_invalid_resume(exc),
                "first_line": str(exc).splitlines()[0]}
    return "no error"


def _tasks(snapshot: Any) -> list[Any]:
    """Tasks with their error's first line: LangGraph's state gives the repr of what the task raised."""
    return [(t.name, t.error.splitlines()[0] if t.error else None, len(t.interrupts), t.result) for t in snapshot.tasks]


class Boom(Exception):
    pass


def failed_task_errors_in_state(api: Api, t: Trace) -> None:
    """A failed task's error in get_state and history: the repr of the exception, builtin or not."""

    def make(exc: Exception) -> Any:
        def node(state: Log) -> dict[str, Any]:
            raise exc
        return node

    for name, exc in (("builtin", ValueError("bad input")), ("own", Boom("it broke"))):
        b = api.StateGraph(Log)
        b.add_node("n", make(exc))
        b.add_edge(api.START, "n")
        g = b.compile(checkpointer=api.InMemorySaver())
        t.call(name, lambda g=g, name=name: g.invoke({"out": []}, cfg(name)))
        t.call(f"{name}-state", lambda g=g, name=name: [t.error for t in g.get_state(cfg(name)).tasks])
        t.call(f"{name}-history", lambda g=g, name=name: [
            [t.error for t in s.tasks] for s in g.get_state_history(cfg(name))
        ])


def pydantic_model_answer(api: Api, t: Trace) -> None:
    """A model schema: published as JSON Schema; a bad answer is refused and the pause stays open."""
    calls: list[str] = []

    def ask(state: Log) -> dict[str, Any]:
        calls.append("ask")
        answer = api.interrupt({"question": "Ship 1.4?"}, response_schema=Release)
        return {"out": [type(answer).__name__, answer.model_dump()]}

    b = api.StateGraph(Log)
    b.add_node("ask", ask)
    b.add_edge(api.START, "ask")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    t.add("bad", _refusal(api, lambda: g.invoke(api.Command(resume={"choice": "maybe", "risk": 9}), cfg())))
    t.call("state-after-bad", lambda: g.get_state(cfg()))
    t.call("tasks-after-bad", lambda: _tasks(g.get_state(cfg())))
    t.add("not-a-dict", _refusal(api, lambda: g.invoke(api.Command(resume="ship"), cfg())))
    # Lax validation as pydantic does it: "2" is an int, and the model comes back.
    t.call("good", lambda: g.invoke(api.Command(resume={"choice": "ship", "risk": "2"}), cfg()))
    t.call("final", lambda: g.get_state(cfg()))
    t.call("history", lambda: list(g.get_state_history(cfg())))
    t.call("stream-pause", lambda: list(g.stream({"out": []}, cfg("s"), stream_mode="updates")))
    t.add("stream-bad", _refusal(api, lambda: list(g.stream(api.Command(resume={"risk": 1}), cfg("s")))))
    t.call("stream-good", lambda: list(g.stream(api.Command(resume={"choice": "hold", "risk": 5}), cfg("s"))))
    t.add("calls", calls)


def dict_schema_not_enforced(api: Api, t: Trace) -> None:
    """A JSON Schema dict is published as-is and never checked; a dataclass schema is checked."""

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    def free(state: Log) -> dict[str, Any]:
        return {"out": [api.interrupt("any number?", response_schema=schema)]}

    def point(state: Log) -> dict[str, Any]:
        p = api.interrupt("where?", response_schema=Point)
        return {"out": [type(p).__name__, p.x, p.y]}

    b = api.StateGraph(Log)
    b.add_node("free", free)
    b.add_node("point", point)
    b.add_edge(api.START, "free")
    b.add_edge("free", "point")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    t.call("not-enforced", lambda: g.invoke(api.Command(resume="not even an object"), cfg()))
    t.add("bad-point", _refusal(api, lambda: g.invoke(api.Command(resume={"y": 1}), cfg())))
    t.call("good-point", lambda: g.invoke(api.Command(resume={"x": 3}), cfg()))


def union_in_parallel_branches(api: Api, t: Trace) -> None:
    """Two parallel pauses with a discriminated TypedDict union, resumed by id map, one answer bad."""
    runs: list[str] = []

    def make(name: str) -> Any:
        def node(state: Log) -> dict[str, Any]:
            runs.append(name)
            return {"out": [[name, api.interrupt(f"{name}?", response_schema=Decision)]]}
        return node

    def after(state: Log) -> dict[str, Any]:
        return {"out": ["after"]}

    b = api.StateGraph(Log)
    b.add_node("a", make("a"))
    b.add_node("b", make("b"))
    b.add_node("after", after)
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    b.add_edge(["a", "b"], "after")
    g = b.compile(checkpointer=api.InMemorySaver())
    first = t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    ids = {i.value: i.id for i in first["__interrupt__"]}
    bad = {ids["a?"]: {"type": "approve"}, ids["b?"]: {"type": "reject"}}
    t.add("bad-map", _refusal(api, lambda: g.invoke(api.Command(resume=bad), cfg())))
    t.call("state-after-bad", lambda: g.get_state(cfg()))
    t.call("tasks-after-bad", lambda: sorted(_tasks(g.get_state(cfg())), key=repr))
    t.add("bad-again-by-id", _refusal(api, lambda: g.invoke(api.Command(resume={ids["b?"]: {"type": "x"}}), cfg())))
    t.call("good-alone", lambda: g.invoke(api.Command(resume={"type": "reject", "message": "too risky"}), cfg()))
    t.add("runs", sorted(runs))


def refused_answer_does_not_cancel_async_siblings(api: Api, t: Trace) -> None:
    """A refused answer is not a failure that cancels the step: the async sibling answered in the same
    map runs to its end and keeps its result (a crashing node would cancel it)."""
    import asyncio

    finished: list[str] = []

    async def quick(state: Log) -> dict[str, Any]:
        return {"out": [api.interrupt("quick?", response_schema=Decision)]}

    async def slow(state: Log) -> dict[str, Any]:
        answer = api.interrupt("slow?", response_schema=Decision)
        await asyncio.sleep(0.2)
        finished.append(answer["type"])
        return {"out": [answer]}

    b = api.StateGraph(Log)
    b.add_node("quick", quick)
    b.add_node("slow", slow)
    b.add_edge(api.START, "quick")
    b.add_edge(api.START, "slow")
    g = b.compile(checkpointer=api.InMemorySaver())
    first = t.call("invoke", lambda: asyncio.run(g.ainvoke({"out": []}, cfg())))
    ids = {i.value: i.id for i in first["__interrupt__"]}
    bad = {ids["quick?"]: {"type": "maybe"}, ids["slow?"]: {"type": "approve"}}
    t.add("bad-map", _refusal(api, lambda: asyncio.run(g.ainvoke(api.Command(resume=bad), cfg()))))
    t.add("slow-finished", list(finished))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("good", lambda: asyncio.run(g.ainvoke(api.Command(resume={"type": "approve"}), cfg())))
    t.add("slow-ran", list(finished))


def subgraph_pause_with_schema(api: Api, t: Trace) -> None:
    """A pause inside a subgraph publishes its schema through the parent and refuses bad answers."""
    runs: list[str] = []

    def ask(state: Log) -> dict[str, Any]:
        runs.append("ask")
        return {"out": [api.interrupt("release?", response_schema=Release).choice]}

    sb = api.StateGraph(Log)
    sb.add_node("ask", ask)
    sb.add_edge(api.START, "ask")
    sub = sb.compile()

    b = api.StateGraph(Log)
    b.add_node("sub", sub)
    b.add_edge(api.START, "sub")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    t.call("state", lambda: g.get_state(cfg(), subgraphs=True))
    t.add("bad", _refusal(api, lambda: g.invoke(api.Command(resume={"choice": "ship", "risk": 0}), cfg())))
    t.call("state-after-bad", lambda: g.get_state(cfg(), subgraphs=True))
    t.call("good", lambda: g.invoke(api.Command(resume={"choice": "hold", "risk": 3}), cfg()))
    t.add("runs", runs)


def typed_pause_in_a_graph_a_node_invokes(api: Api, t: Trace) -> None:
    """A typed pause inside a graph that a node calls with invoke(): refused, then answered."""

    def ask(state: Log) -> dict[str, Any]:
        return {"out": [api.interrupt("inner?", response_schema=Release).choice]}

    sb = api.StateGraph(Log)
    sb.add_node("ask", ask)
    sb.add_edge(api.START, "ask")
    sub = sb.compile()

    def wrapper(state: Log) -> dict[str, Any]:
        return {"out": ["wrapped", *sub.invoke({"out": []})["out"]]}

    b = api.StateGraph(Log)
    b.add_node("wrapper", wrapper)
    b.add_edge(api.START, "wrapper")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    t.add("bad", _refusal(api, lambda: g.invoke(api.Command(resume={"choice": "x"}), cfg())))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("good", lambda: g.invoke(api.Command(resume={"choice": "ship", "risk": 1}), cfg()))


def answers_revalidated_on_rerun(api: Api, t: Trace) -> None:
    """Two typed pauses in one node: the first answer comes back as a model again when the node re-runs."""

    def ask(state: Log) -> dict[str, Any]:
        first = api.interrupt("first", response_schema=Release)
        second = api.interrupt({"after": first.choice}, response_schema=Decision)
        return {"out": [type(first).__name__, first.risk, second]}

    b = api.StateGraph(Log)
    b.add_node("ask", ask)
    b.add_edge(api.START, "ask")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"out": []}, cfg()))
    t.call("first", lambda: g.invoke(api.Command(resume={"choice": "ship", "risk": 1}), cfg()))
    t.add("bad-second", _refusal(api, lambda: g.invoke(api.Command(resume={"type": "edit"}), cfg())))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("second", lambda: g.invoke(api.Command(resume={"type": "approve"}), cfg()))


TYPED_ANSWER_SCENARIOS = [
    pydantic_model_answer,
    dict_schema_not_enforced,
    union_in_parallel_branches,
    refused_answer_does_not_cancel_async_siblings,
    subgraph_pause_with_schema,
    typed_pause_in_a_graph_a_node_invokes,
    answers_revalidated_on_rerun,
    failed_task_errors_in_state,
]
