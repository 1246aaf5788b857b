"""Differential tests for subgraphs: `compile(checkpointer=True|False)`, `stream(subgraphs=True)`,
and replaying a parent whose subgraph keeps its own state (LangGraph 1.2.22 is the reference)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from .harness import Api, Trace, run_both


def cfg(thread: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


class Items(TypedDict, total=False):
    items: Annotated[list[str], operator.add]
    answer: str


def namespaced(chunks: list[Any]) -> list[Any]:
    """Stream chunks with each namespace part's task id replaced by a marker (ids differ)."""
    out = []
    for chunk in chunks:
        ns, *rest = chunk
        out.append((tuple(p.split(":")[0] + (":<task>" if ":" in p else "") for p in ns), *rest))
    return out


def _leaf(api: Api, name: str) -> Any:
    def node(state: Items) -> dict[str, Any]:
        api.get_stream_writer()({"from": name})
        return {"items": [name]}
    return node


def stateful_subgraph_keeps_state(api: Api, t: Trace) -> None:
    """checkpointer=True: the subgraph's thread continues across the parent's invocations."""
    seen: list[list[str]] = []

    def inner_1(state: Items) -> dict[str, Any]:
        seen.append(list(state.get("items", [])))
        return {"items": ["i1"]}

    inner = (api.StateGraph(Items).add_node("inner_1", inner_1).add_node("inner_2", _leaf(api, "i2"))
             .add_edge(api.START, "inner_1").add_edge("inner_1", "inner_2").compile(checkpointer=True))
    b = api.StateGraph(Items)
    b.add_node("inner", inner)
    b.add_edge(api.START, "inner")
    b.add_conditional_edges("inner", lambda s: "inner" if s["items"].count("i2") < 3 else api.END)
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("stream", lambda: namespaced(list(g.stream({"items": ["x"]}, cfg(), subgraphs=True))))
    t.call("again", lambda: g.invoke({"items": ["y"]}, cfg()))
    t.add("seen", seen)
    t.call("parent-history", lambda: [(s.next, s.metadata["source"]) for s in g.get_state_history(cfg())])
    sub_cfg = {"configurable": {"thread_id": "t1", "checkpoint_ns": "inner"}}
    t.call("sub-state", lambda: g.get_state(sub_cfg))
    t.call("sub-history", lambda: [(s.values, s.next, s.metadata["source"]) for s in g.get_state_history(sub_cfg)])


def stateful_subgraph_interrupts(api: Api, t: Trace) -> None:
    """An interrupt inside a checkpointer=True subgraph, as a node and called from a node."""
    runs: list[str] = []

    def ask(state: Items) -> dict[str, Any]:
        runs.append("ask")
        return {"items": [f"ans:{api.interrupt({'q': len(state.get('items', []))})}"]}

    sub = (api.StateGraph(Items).add_node("prep", _leaf(api, "prep")).add_node("ask", ask)
           .add_edge(api.START, "prep").add_edge("prep", "ask").compile(checkpointer=True))

    def caller(state: Items) -> dict[str, Any]:
        runs.append("caller")
        out = sub.invoke({"items": ["called"]})
        return {"answer": ",".join(out["items"])}

    b = api.StateGraph(Items)
    b.add_node("sub", sub)
    b.add_node("caller", caller)
    b.add_edge(api.START, "sub")
    b.add_edge("sub", "caller")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("first", lambda: g.invoke({"items": ["a"]}, cfg()))
    t.call("state", lambda: g.get_state(cfg(), subgraphs=True))
    t.call("resume-1", lambda: g.invoke(api.Command(resume="r1"), cfg()))
    t.call("state-2", lambda: g.get_state(cfg(), subgraphs=True))
    t.call("resume-2", lambda: namespaced(list(g.stream(api.Command(resume="r2"), cfg(), subgraphs=True,
                                                         stream_mode=["updates", "values"]))))
    t.call("second-run", lambda: g.invoke({"items": ["b"]}, cfg()))
    t.call("resume-3", lambda: g.invoke(api.Command(resume="r3"), cfg()))
    t.call("resume-4", lambda: g.invoke(api.Command(resume="r4"), cfg()))
    t.add("runs", runs)


def subgraph_checkpointer_false(api: Api, t: Trace) -> None:
    """checkpointer=False: the subgraph never stores state, so each call starts fresh."""
    inner = api.StateGraph(Items).add_node("leaf", _leaf(api, "leaf")).add_edge(api.START, "leaf")
    sub = inner.compile(checkpointer=False)
    b = api.StateGraph(Items).add_node("sub", sub).add_edge(api.START, "sub")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("first", lambda: g.invoke({"items": ["a"]}, cfg()))
    t.call("second", lambda: g.invoke({"items": ["b"]}, cfg()))
    t.call("state", lambda: g.get_state(cfg(), subgraphs=True))
    t.call("as-root", lambda: inner.compile(checkpointer=True).invoke({"items": []}, cfg()))

    def ask(state: Items) -> dict[str, Any]:
        return {"items": [api.interrupt("q")]}

    asking = api.StateGraph(Items).add_node("ask", ask).add_edge(api.START, "ask").compile(checkpointer=False)
    g2 = api.StateGraph(Items).add_node("sub", asking).add_edge(api.START, "sub").compile(checkpointer=api.InMemorySaver())
    t.call("pause", lambda: g2.invoke({"items": []}, cfg("p")))
    t.call("resume", lambda: g2.invoke(api.Command(resume="r"), cfg("p")))
    t.call("as-root", lambda: inner.compile(checkpointer=True).invoke({"items": []}, cfg()))

    def ask(state: Items) -> dict[str, Any]:
        return {"items": [api.interrupt("q")]}

    asking = api.StateGraph(Items).add_node("ask", ask).add_edge(api.START, "ask").compile(checkpointer=False)
    g2 = api.StateGraph(Items).add_node("sub", asking).add_edge(api.START, "sub").compile(checkpointer=api.InMemorySaver())
    t.call("pause", lambda: g2.invoke({"items": []}, cfg("p")))
    t.call("resume", lambda: g2.invoke(api.Command(resume="r"), cfg("p")))


def _caller_of(graph: Any) -> Any:
    def call(state: Items) -> dict[str, Any]:
        return {"items": graph.invoke({"items": []})["items"]}
    return call


def stream_namespaces(api: Api, t: Trace) -> None:
    """stream(subgraphs=True): every mode, one mode or several, two levels deep, and a graph
    called from inside a node; with checkpointer None and True."""
    for stateful in (None, True):
        inner = (api.StateGraph(Items).add_node("leaf", _leaf(api, "leaf")).add_edge(api.START, "leaf")
                 .compile(checkpointer=stateful))
        mid = (api.StateGraph(Items).add_node("inner", inner).add_edge(api.START, "inner")
               .compile(checkpointer=stateful))

        g = (api.StateGraph(Items).add_node("mid", mid).add_node("fn", _caller_of(inner))
             .add_edge(api.START, "mid").add_edge("mid", "fn").compile(checkpointer=api.InMemorySaver()))
        name = f"stateful={stateful}"
        t.call(f"{name}-modes", lambda g=g: namespaced(list(g.stream(
            {"items": ["x"]}, cfg("a"), subgraphs=True, stream_mode=["updates", "values", "custom"]))))
        t.call(f"{name}-values", lambda g=g: namespaced(list(g.stream(
            {"items": ["x"]}, cfg("b"), subgraphs=True, stream_mode="values"))))
        t.call(f"{name}-default", lambda g=g: namespaced(list(g.stream({"items": ["x"]}, cfg("c"), subgraphs=True))))
        t.call(f"{name}-flat", lambda g=g: list(g.stream({"items": ["x"]}, cfg("d"), stream_mode="updates")))


def stateful_subgraph_replay(api: Api, t: Trace) -> None:
    """Replaying the parent: a checkpointer=True subgraph starts from its state as it was before
    the checkpoint replayed from; the run after that continues from what the replay made."""
    seen: list[list[str]] = []

    def step(state: Items) -> dict[str, Any]:
        seen.append(list(state.get("items", [])))
        return {"items": ["s"]}

    sub = (api.StateGraph(Items).add_node("step", step).add_edge(api.START, "step")
           .compile(checkpointer=True))
    g = (api.StateGraph(Items).add_node("prep", lambda s: {"answer": "p"}).add_node("sub", sub)
         .add_edge(api.START, "prep").add_edge("prep", "sub").compile(checkpointer=api.InMemorySaver()))
    t.call("first", lambda: g.invoke({"items": ["a"]}, cfg()))
    t.call("second", lambda: g.invoke({"items": ["b"]}, cfg()))
    history = list(g.get_state_history(cfg()))
    before_sub = [s.config for s in history if s.next == ("sub",)]
    t.call("replay-latest", lambda: g.invoke(None, before_sub[0]))
    t.call("replay-first", lambda: g.invoke(None, before_sub[-1]))
    t.call("third", lambda: g.invoke({"items": ["c"]}, cfg()))
    t.add("seen", seen)


def subgraph_time_travel(api: Api, t: Trace) -> None:
    """A subgraph's own snapshot config: replay it, fork it with update_state, answer it again;
    a breakpoint inside a subgraph while a sibling runs."""
    runs: list[str] = []

    def ask(name: str) -> Any:
        def node(state: Items) -> dict[str, Any]:
            runs.append(name)
            return {"items": [f"{name}:{api.interrupt(name)}"]}
        return node

    sub = (api.StateGraph(Items).add_node("first", _leaf(api, "first")).add_node("q1", ask("q1"))
           .add_node("q2", ask("q2")).add_edge(api.START, "first").add_edge("first", "q1").add_edge("q1", "q2")
           .compile(checkpointer=True))
    g = (api.StateGraph(Items).add_node("sub", sub).add_node("post", _leaf(api, "post"))
         .add_edge(api.START, "sub").add_edge("sub", "post").compile(checkpointer=api.InMemorySaver()))
    t.call("start", lambda: g.invoke({"items": []}, cfg()))
    at_q1 = g.get_state(cfg(), subgraphs=True).tasks[0].state.config
    t.call("answer-1", lambda: g.invoke(api.Command(resume="a1"), cfg()))
    t.call("answer-2", lambda: g.invoke(api.Command(resume="a2"), cfg()))
    runs.clear()
    t.call("replay-q1", lambda: g.invoke(None, at_q1))
    t.call("answer-replayed", lambda: g.invoke(api.Command(resume="b1"), at_q1))
    t.add("runs-replay", list(runs))
    runs.clear()
    fork = g.update_state(at_q1, {"items": ["forked"]})
    t.call("fork-state", lambda: g.get_state(fork))
    t.call("fork-run", lambda: g.invoke(None, fork))
    t.add("runs-fork", runs)

    inner = (api.StateGraph(Items).add_node("i1", _leaf(api, "i1")).add_node("i2", _leaf(api, "i2"))
             .add_edge(api.START, "i1").add_edge("i1", "i2").compile(interrupt_before=["i2"]))

    def sibling(state: Items) -> dict[str, Any]:
        return {"items": ["sibling"]}

    par = (api.StateGraph(Items).add_node("inner", inner).add_node("sibling", sibling)
           .add_edge(api.START, "inner").add_edge(api.START, "sibling")
           .compile(checkpointer=api.InMemorySaver()))
    t.call("breakpoint-invoke", lambda: par.invoke({"items": []}, cfg("b")))
    t.call("breakpoint-stream", lambda: sorted(map(repr, namespaced(list(par.stream(
        {"items": []}, cfg("c"), subgraphs=True, stream_mode=["updates", "values"]))))))
    t.call("breakpoint-continue", lambda: list(par.stream(None, cfg("c"))))


def async_stateful_subgraph(api: Api, t: Trace) -> None:
    """The async face: async nodes, astream(subgraphs=True), aget_state, aupdate_state and a replay
    of a subgraph checkpoint, on a checkpointer=True subgraph called from an async node."""
    import asyncio

    async def ask(state: Items) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"items": [f"a:{api.interrupt('q')}"]}

    sub = api.StateGraph(Items).add_node("ask", ask).add_edge(api.START, "ask").compile(checkpointer=True)

    async def call(state: Items) -> dict[str, Any]:
        out = await sub.ainvoke({"items": ["in"]})
        return {"answer": ",".join(out["items"])}

    g = (api.StateGraph(Items).add_node("sub", sub).add_node("call", call).add_edge(api.START, "sub")
         .add_edge("sub", "call").compile(checkpointer=api.InMemorySaver()))

    async def flow() -> list[Any]:
        seen: list[Any] = []
        seen.append(namespaced([c async for c in g.astream({"items": ["x"]}, cfg(), subgraphs=True,
                                                            stream_mode=["updates", "values"])]))
        state = await g.aget_state(cfg(), subgraphs=True)
        seen.append(state)
        sub_cfg = state.tasks[0].state.config
        seen.append(namespaced([c async for c in g.astream(api.Command(resume="r1"), cfg(), subgraphs=True)]))
        seen.append(await g.ainvoke(api.Command(resume="r2"), cfg()))
        fork = await g.aupdate_state(sub_cfg, {"items": ["forked"]})
        seen.append(await g.aget_state(fork))
        seen.append(await g.ainvoke(None, fork))
        seen.append([s.metadata["source"] async for s in g.aget_state_history(
            {"configurable": {"thread_id": "t1", "checkpoint_ns": "sub"}})])
        return seen

    t.call("flow", lambda: asyncio.run(flow()))


SCENARIOS = [
    stateful_subgraph_keeps_state,
    stateful_subgraph_interrupts,
    subgraph_checkpointer_false,
    stream_namespaces,
    stateful_subgraph_replay,
    subgraph_time_travel,
    async_stateful_subgraph,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_same_as_langgraph(scenario: Any) -> None:
    theirs, ours = run_both(scenario)
    for (label_t, value_t), (label_o, value_o) in zip(theirs, ours, strict=True):
        assert label_t == label_o
        assert value_o == value_t, f"{scenario.__name__} differs at step {label_t!r}"
