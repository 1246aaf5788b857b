"""Differential tests: the same graphs and inputs on LangGraph and on our engine give the same
values, `next`, interrupts (ids compared structurally) and errors."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

import pydantic
import pytest

from .harness import Api, Trace, run_both
from .scenarios_fidelity import FIDELITY_SCENARIOS
from .scenarios_records import RECORD_SCENARIOS
from .scenarios_run_control import RUN_CONTROL_SCENARIOS
from .scenarios_sends import SEND_SCENARIOS
from .scenarios_sync_calls import SYNC_CALL_SCENARIOS
from .scenarios_typed_answers import TYPED_ANSWER_SCENARIOS


def cfg(thread: str = "t1", **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, **extra}


class TextState(TypedDict):
    some_text: str


class ListState(TypedDict, total=False):
    items: Annotated[list[str], operator.add]
    note: str


def seed_text_revision(api: Api, t: Trace) -> None:
    def human_node(state: TextState) -> dict[str, Any]:
        value = api.interrupt({"text_to_revise": state["some_text"]})
        return {"some_text": value}

    b = api.StateGraph(TextState)
    b.add_node("human_node", human_node)
    b.add_edge(api.START, "human_node")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"some_text": "original text"}, cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("resume", lambda: g.invoke(api.Command(resume="Edited text"), cfg()))
    t.call("final", lambda: g.get_state(cfg()))
    t.call("history", lambda: [s for s in g.get_state_history(cfg())])
    t.call("stream", lambda: list(g.stream({"some_text": "b"}, cfg("s"), stream_mode=["values", "updates"])))
    t.call("stream-resume", lambda: list(g.stream(api.Command(resume="c"), cfg("s"), stream_mode=["values", "updates"])))
    t.call("stream-default", lambda: list(g.stream({"some_text": "d"}, cfg("d"))))
    t.call("none-repeats", lambda: g.invoke(None, cfg("d")))
    t.call("resume-finished", lambda: g.invoke(api.Command(resume="x"), cfg()))


def two_interrupts_in_one_node(api: Api, t: Trace) -> None:
    calls: list[str] = []

    def ask(state: ListState) -> dict[str, Any]:
        calls.append("ask")
        first = api.interrupt("first?")
        second = api.interrupt({"second": first})
        return {"items": [first, second]}

    b = api.StateGraph(ListState)
    b.add_node("ask", ask)
    b.add_edge(api.START, "ask")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("1", lambda: g.invoke({"items": []}, cfg()))
    t.call("2", lambda: g.invoke(api.Command(resume="one"), cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("3", lambda: g.invoke(api.Command(resume="two"), cfg()))
    t.add("calls", calls)


def parallel_with_sibling(api: Api, t: Trace) -> None:
    runs: list[str] = []

    def make(name: str, ask: bool) -> Any:
        def node(state: ListState) -> dict[str, Any]:
            runs.append(name)
            if ask:
                return {"items": [api.interrupt(f"{name}?")]}
            return {"items": [name]}
        return node

    b = api.StateGraph(ListState)
    b.add_node("zed", make("zed", False))
    b.add_node("human", make("human", True))
    b.add_node("alpha", make("alpha", False))
    b.add_node("after", make("after", False))
    for n in ("zed", "human", "alpha"):
        b.add_edge(api.START, n)
        b.add_edge(n, "after")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"items": ["in"]}, cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("resume", lambda: g.invoke(api.Command(resume="yes"), cfg()))
    t.add("runs", sorted(runs))
    t.call("history", lambda: list(g.get_state_history(cfg())))


def parallel_interrupts_by_id(api: Api, t: Trace) -> None:
    def make(name: str) -> Any:
        def node(state: ListState) -> dict[str, Any]:
            return {"items": [f"{name}={api.interrupt(name)}"]}
        return node

    b = api.StateGraph(ListState)
    for n in ("a", "b", "c"):
        b.add_node(n, make(n))
        b.add_edge(api.START, n)
    g = b.compile(checkpointer=api.InMemorySaver())
    out = t.call("invoke", lambda: g.invoke({"items": []}, cfg()))
    t.call("single-value", lambda: g.invoke(api.Command(resume="x"), cfg()))
    t.call("empty-map", lambda: g.invoke(api.Command(resume={}), cfg()))
    ids = {i.value: i.id for i in out["__interrupt__"]}
    t.call("partial", lambda: g.invoke(api.Command(resume={ids["a"]: 1, "f" * 32: "unknown"}), cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("rest", lambda: g.invoke(api.Command(resume={ids["b"]: 2, ids["c"]: 3}), cfg()))


class Inner(TypedDict, total=False):
    items: Annotated[list[str], operator.add]
    answer: str


def subgraph_interrupt(api: Api, t: Trace) -> None:
    runs: list[str] = []

    def prepare(state: Inner) -> dict[str, Any]:
        runs.append("prepare")
        return {"items": ["prepared"]}

    def ask(state: Inner) -> dict[str, Any]:
        runs.append("ask")
        return {"answer": api.interrupt({"question": state["items"]})}

    sb = api.StateGraph(Inner)
    sb.add_node("prepare", prepare)
    sb.add_node("ask", ask)
    sb.add_edge(api.START, "prepare")
    sb.add_edge("prepare", "ask")
    sub = sb.compile()

    def finish(state: Inner) -> dict[str, Any]:
        return {"items": [f"done:{state.get('answer')}"]}

    b = api.StateGraph(Inner)
    b.add_node("sub", sub)
    b.add_node("finish", finish)
    b.add_edge(api.START, "sub")
    b.add_edge("sub", "finish")
    g = b.compile(checkpointer=api.InMemorySaver())
    out = t.call("invoke", lambda: g.invoke({"items": ["start"]}, cfg()))
    t.add("ns-depth", [len(i.ns) for i in out["__interrupt__"]] if hasattr(out["__interrupt__"][0], "ns") else [2])
    t.call("state", lambda: g.get_state(cfg()))
    t.call("state-with-subgraphs", lambda: g.get_state(cfg(), subgraphs=True))
    t.call("resume", lambda: g.invoke(api.Command(resume="42"), cfg()))
    t.call("after-with-subgraphs", lambda: g.get_state(cfg(), subgraphs=True))
    t.add("runs", runs)


def subgraph_inside_node(api: Api, t: Trace) -> None:
    runs: list[str] = []

    def ask(state: Inner) -> dict[str, Any]:
        runs.append("inner-ask")
        return {"answer": api.interrupt("inner?")}

    sb = api.StateGraph(Inner)
    sb.add_node("ask", ask)
    sb.add_edge(api.START, "ask")
    sub = sb.compile()

    def wrapper(state: Inner) -> dict[str, Any]:
        runs.append("wrapper")
        result = sub.invoke({"items": []})
        return {"answer": f"wrapped {result['answer']}"}

    b = api.StateGraph(Inner)
    b.add_node("wrapper", wrapper)
    b.add_edge(api.START, "wrapper")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"items": []}, cfg()))
    t.call("resume", lambda: g.invoke(api.Command(resume="ok"), cfg()))
    t.add("runs", runs)


def approval_routing_with_goto(api: Api, t: Trace) -> None:
    def propose(state: ListState) -> dict[str, Any]:
        return {"note": "delete everything"}

    def review(state: ListState) -> Any:
        decision = api.interrupt({"action": state["note"]})
        if decision == "approve":
            return api.Command(goto="act", update={"items": ["approved"]})
        return api.Command(goto="cancel", update={"items": ["rejected"]})

    def act(state: ListState) -> dict[str, Any]:
        return {"items": ["acted"]}

    def cancel(state: ListState) -> dict[str, Any]:
        return {"items": ["cancelled"]}

    b = api.StateGraph(ListState)
    b.add_node("propose", propose)
    b.add_node("review", review)
    b.add_node("act", act)
    b.add_node("cancel", cancel)
    b.add_edge(api.START, "propose")
    b.add_edge("propose", "review")
    g = b.compile(checkpointer=api.InMemorySaver())
    for thread, answer in (("yes", "approve"), ("no", "reject")):
        t.call(f"{thread}-1", lambda thread=thread: g.invoke({"items": []}, cfg(thread)))
        t.call(f"{thread}-2", lambda thread=thread, answer=answer: g.invoke(api.Command(resume=answer), cfg(thread)))
        t.call(f"{thread}-state", lambda thread=thread: g.get_state(cfg(thread)))


def three_nodes(api: Api, **compile_kw: Any) -> Any:
    def make(name: str) -> Any:
        return lambda state: {"items": [name]}

    b = api.StateGraph(ListState)
    for n in ("node_a", "node_b", "node_c"):
        b.add_node(n, make(n))
    b.add_edge(api.START, "node_a")
    b.add_edge("node_a", "node_b")
    b.add_edge("node_b", "node_c")
    b.add_edge("node_c", api.END)
    return b.compile(checkpointer=api.InMemorySaver(), **compile_kw)


def breakpoints(api: Api, t: Trace) -> None:
    g = three_nodes(api)
    c = cfg("per-run")
    t.call("1", lambda: g.invoke({"items": ["x"]}, c, interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]))
    for i in range(2, 6):
        t.call(f"state{i}", lambda: g.get_state(c))
        t.call(str(i), lambda: g.invoke(None, c, interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]))
    t.call("per-run-not-remembered", lambda: (g.invoke({"items": ["y"]}, cfg("p2"), interrupt_before=["node_b"]),
                                              g.invoke(None, cfg("p2"))))
    cg = three_nodes(api, interrupt_before=["node_b"], interrupt_after=["node_c"])
    c2 = cfg("compiled")
    t.call("c1", lambda: cg.invoke({"items": ["x"]}, c2))
    t.call("c1-stream-updates", lambda: list(cg.stream({"items": ["s"]}, cfg("cs"), stream_mode="updates")))
    t.call("c1-state", lambda: cg.get_state(c2))
    t.call("c2", lambda: cg.invoke(None, c2))
    t.call("c2-state", lambda: cg.get_state(c2))
    t.call("c3", lambda: cg.invoke(None, c2))
    t.call("new-input-restarts", lambda: (cg.invoke({"items": ["r"]}, cfg("r")), cg.invoke({"items": ["r2"]}, cfg("r")),
                                          cg.get_state(cfg("r"))))
    star = three_nodes(api, interrupt_before="*")
    t.call("star", lambda: [star.invoke({"items": []}, cfg("star"))] + [star.invoke(None, cfg("star")) for _ in range(3)])
    t.call("resume-at-breakpoint", lambda: (cg.invoke({"items": []}, cfg("rb")), cg.invoke(api.Command(resume="x"), cfg("rb"))))
    t.call("unknown-node", lambda: three_nodes(api, interrupt_before=["nope"]))


def update_state(api: Api, t: Trace) -> None:
    g = three_nodes(api, interrupt_before=["node_b"])
    c = cfg()
    t.call("invoke", lambda: g.invoke({"items": ["x"]}, c))
    t.call("update", lambda: g.update_state(c, {"items": ["U"]}) and None)
    t.call("state", lambda: g.get_state(c))
    t.call("as-node", lambda: g.update_state(c, {"items": ["B"]}, as_node="node_b") and None)
    t.call("state2", lambda: g.get_state(c))
    t.call("continue", lambda: g.invoke(None, c))
    t.call("fresh", lambda: g.update_state(cfg("fresh"), {"items": ["F"]}) and g.get_state(cfg("fresh")))
    t.call("history", lambda: list(g.get_state_history(c)))
    t.call("history-limit", lambda: list(g.get_state_history(c, limit=2)))
    t.call("history-filter", lambda: list(g.get_state_history(c, filter={"source": "update"})))

    # A config naming a checkpoint lists that checkpoint alone (with its tasks' results), not the older ones.
    def at(index: int, **kwargs: Any) -> list[Any]:
        return list(g.get_state_history(list(g.get_state_history(c))[index].config, **kwargs))

    t.call("history-at", lambda: [at(i) for i in range(len(list(g.get_state_history(c))))])
    t.call("history-at-limit", lambda: at(2, limit=3))
    t.call("history-at-before", lambda: (at(2, before=list(g.get_state_history(c))[1].config),
                                         at(2, before=list(g.get_state_history(c))[3].config)))
    t.call("history-at-filter", lambda: (at(1, filter={"source": "update"}), at(1, filter={"source": "loop"})))


def fan_in(api: Api, t: Trace) -> None:
    def make(name: str) -> Any:
        return lambda state: {"items": [name]}

    for mode in ("separate", "list"):
        b = api.StateGraph(ListState)
        for n in ("a", "b1", "b2", "c", "d"):
            b.add_node(n, make(n))
        b.add_edge(api.START, "a")
        b.add_edge("a", "b1")
        b.add_edge("b1", "b2")
        b.add_edge("a", "c")
        if mode == "list":
            b.add_edge(["b2", "c"], "d")
        else:
            b.add_edge("b2", "d")
            b.add_edge("c", "d")
        g = b.compile(checkpointer=api.InMemorySaver())
        t.call(mode, lambda g=g, mode=mode: g.invoke({"items": []}, cfg(mode)))
        if mode == "separate":
            t.call(f"{mode}-history", lambda g=g, mode=mode: list(g.get_state_history(cfg(mode))))
        else:
            # Known difference: while a join waits, LangGraph's history lists the waiting node in
            # `next` although it does not run in that step; ours lists only what runs.
            t.call(f"{mode}-history", lambda g=g, mode=mode: [
                (s.values, s.metadata["step"]) for s in g.get_state_history(cfg(mode))])


class MapState(TypedDict, total=False):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]


def send_fan_out_with_interrupts(api: Api, t: Trace) -> None:
    def fan(state: MapState) -> list[Any]:
        return [api.Send("write", {"subject": s}) for s in state["subjects"]]

    def write(arg: dict[str, str]) -> dict[str, Any]:
        ok = api.interrupt({"approve": arg["subject"]})
        return {"jokes": [f"{arg['subject']}:{ok}"]}

    b = api.StateGraph(MapState)
    b.add_node("write", write)
    b.add_conditional_edges(api.START, fan)
    g = b.compile(checkpointer=api.InMemorySaver())
    out = t.call("invoke", lambda: g.invoke({"subjects": ["cats", "dogs"]}, cfg()))
    t.call("state", lambda: g.get_state(cfg()))
    ids = {i.value["approve"]: i.id for i in out["__interrupt__"]}
    t.call("resume-one", lambda: g.invoke(api.Command(resume={ids["cats"]: "yes"}), cfg()))
    t.call("resume-other", lambda: g.invoke(api.Command(resume={ids["dogs"]: "no"}), cfg()))
    t.call("final", lambda: g.get_state(cfg()))

    b2 = api.StateGraph(MapState)
    b2.add_node("joke", lambda arg: {"jokes": [arg["subject"].upper()]})
    b2.add_conditional_edges(api.START, lambda s: [api.Send("joke", {"subject": x}) for x in s["subjects"]], ["joke"])
    t.call("plain-send", lambda: b2.compile().invoke({"subjects": ["a", "b", "c"]}))


class Counter(TypedDict):
    n: int


def recursion_limit(api: Api, t: Trace) -> None:
    b = api.StateGraph(Counter)
    b.add_node("inc", lambda s: {"n": s["n"] + 1})
    b.add_edge(api.START, "inc")
    b.add_conditional_edges("inc", lambda s: api.END if s["n"] >= 3 else "inc")
    g = b.compile(checkpointer=api.InMemorySaver())
    for limit in (2, 3, 4):
        t.call(f"limit{limit}", lambda limit=limit: g.invoke({"n": 0}, {**cfg(f"r{limit}"), "recursion_limit": limit}))
    t.call("state-kept", lambda: g.get_state(cfg("r3")))
    t.call("continue", lambda: g.invoke(None, {**cfg("r3"), "recursion_limit": 3}))


def falsy_resumes(api: Api, t: Trace) -> None:
    class S(TypedDict, total=False):
        got: Any

    def node(state: S) -> dict[str, Any]:
        return {"got": api.interrupt("?")}

    b = api.StateGraph(S)
    b.add_node("node", node)
    b.add_edge(api.START, "node")
    g = b.compile(checkpointer=api.InMemorySaver())
    for i, value in enumerate([False, 0, "", [], {"k": None}]):
        t.call(f"start{i}", lambda i=i: g.invoke({"got": "init"}, cfg(f"f{i}")))
        t.call(f"resume{i}", lambda i=i, value=value: g.invoke(api.Command(resume=value), cfg(f"f{i}")))


def command_update_and_goto_input(api: Api, t: Trace) -> None:
    def human(state: ListState) -> dict[str, Any]:
        return {"note": f"{api.interrupt('?')} saw {state['items']}"}

    def other(state: ListState) -> dict[str, Any]:
        return {"items": ["other"]}

    b = api.StateGraph(ListState)
    b.add_node("human", human)
    b.add_node("other", other)
    b.add_edge(api.START, "human")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("1", lambda: g.invoke({"items": ["a"]}, cfg()))
    t.call("resume+update", lambda: g.invoke(api.Command(resume="ok", update={"items": ["upd"]}), cfg()))
    t.call("2", lambda: g.invoke({"items": ["b"]}, cfg("g")))
    t.call("goto", lambda: g.invoke(api.Command(goto="other"), cfg("g")))
    t.call("goto-state", lambda: g.get_state(cfg("g")))


def errors(api: Api, t: Trace) -> None:
    class S(TypedDict, total=False):
        x: str

    b = api.StateGraph(S)
    b.add_node("a", lambda s: {"x": "a"})
    b.add_node("b", lambda s: {"x": "b"})
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    g = b.compile()
    t.call("two-writes", lambda: g.invoke({"x": "in"}))

    def ask(state: S) -> dict[str, Any]:
        return {"x": api.interrupt("no checkpointer")}

    b2 = api.StateGraph(S)
    b2.add_node("ask", ask)
    b2.add_edge(api.START, "ask")
    plain = b2.compile()
    t.call("interrupt-without-checkpointer", lambda: plain.invoke({"x": "1"}))
    t.call("resume-without-checkpointer", lambda: plain.invoke(api.Command(resume="x")))
    saved = b2.compile(checkpointer=api.InMemorySaver())
    t.call("no-thread-id", lambda: saved.invoke({"x": "1"}))
    t.call("none-on-fresh-thread", lambda: saved.invoke(None, cfg("fresh")))
    try:
        api.interrupt("x")
    except RuntimeError as exc:  # the messages differ on purpose: ours says what to do
        t.add("interrupt-outside", type(exc).__mro__[-3].__name__)
    t.call("bad-return", lambda: (lambda g: g.invoke({"x": "1"}))(
        api.StateGraph(S).add_node("n", lambda s: "oops").add_edge(api.START, "n").compile()))
    t.call("unknown-edge", lambda: api.StateGraph(S).add_node("n", lambda s: {}).add_edge(api.START, "m").compile())
    t.call("no-entry", lambda: api.StateGraph(S).add_node("n", lambda s: {}).compile())

    def boom(state: S) -> dict[str, Any]:
        raise ValueError("boom!")

    b3 = api.StateGraph(S)
    b3.add_node("boom", boom)
    b3.add_edge(api.START, "boom")
    g3 = b3.compile(checkpointer=api.InMemorySaver())
    t.call("node-error", lambda: g3.invoke({"x": "1"}, cfg("e")))
    t.call("after-error", lambda: g3.get_state(cfg("e")).next)


@dataclass
class DataState:
    text: str = ""
    log: Annotated[list[str], operator.add] = field(default_factory=list)


class ModelState(pydantic.BaseModel):
    text: str = ""
    log: Annotated[list[str], operator.add] = []


def schemas(api: Api, t: Trace) -> None:
    for schema in (DataState, ModelState):
        def node(state: Any) -> dict[str, Any]:
            answer = api.interrupt(state.text)
            return {"text": answer, "log": [type(state).__name__]}

        b = api.StateGraph(schema)
        b.add_node("node", node)
        b.add_edge(api.START, "node")
        g = b.compile(checkpointer=api.InMemorySaver())
        name = schema.__name__
        t.call(f"{name}-1", lambda g=g, name=name: g.invoke({"text": "hi"}, cfg(name)))
        t.call(f"{name}-2", lambda g=g, name=name: g.invoke(api.Command(resume="bye"), cfg(name)))
        t.call(f"{name}-state", lambda g=g, name=name: g.get_state(cfg(name)))


def time_travel(api: Api, t: Trace) -> None:
    g = three_nodes(api)
    c = cfg()
    g.invoke({"items": ["x"]}, c)
    history = list(g.get_state_history(c))
    before_b = next(s for s in history if s.next == ("node_b",))
    t.call("replay", lambda: g.invoke(None, before_b.config))
    t.call("history", lambda: [(s.next, s.values, (s.metadata or {}).get("source"), (s.metadata or {}).get("step"))
                               for s in g.get_state_history(c)])
    t.call("fork-update", lambda: g.update_state(before_b.config, {"items": ["forked"]}) and None)
    t.call("after-fork", lambda: g.invoke(None, c))
    t.call("steps", lambda: [((s.metadata or {}).get("source"), (s.metadata or {}).get("step"))
                             for s in g.get_state_history(c)])


def update_state_without_as_node_after_updates(api: Api, t: Trace) -> None:
    """Without as_node, an update counts as the node that last ran; updates made as a node do not make
    it one that ran (LangGraph reads that from the channels each node has seen)."""

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"items": [f"answer={api.interrupt('q')}"]}

    asking = (api.StateGraph(ListState).add_node("ask", ask).add_edge(api.START, "ask")
              .compile(checkpointer=api.InMemorySaver()))
    c = cfg()
    asking.invoke({"items": []}, c)
    t.call("as ask", lambda: asking.update_state(c, {"items": ["u1"]}, as_node="ask") and None)
    t.call("no as_node", lambda: asking.update_state(c, {"items": ["u2"]}) and None)
    t.call("state", lambda: asking.get_state(c))
    t.call("continue", lambda: asking.invoke(None, c))
    g = three_nodes(api)
    c = cfg("t2")
    g.invoke({"items": []}, c)
    t.call("as node_a", lambda: g.update_state(c, {"items": ["ua"]}, as_node="node_a") and None)
    t.call("no as_node again", lambda: g.update_state(c, {"items": ["un"]}) and None)
    t.call("state after", lambda: g.get_state(c))
    t.call("clear, then none", lambda: g.update_state(c, None, as_node=api.END) and g.update_state(c, {"items": ["z"]})
           and None)
    t.call("state cleared", lambda: g.get_state(c))


def time_travel_to_a_pause(api: Api, t: Trace) -> None:
    """Replaying the checkpoint before a node that asks: the fork is a step after it, as are the
    steps that follow the new answer; new input there is a step after it too, with no fork."""

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        return {"items": [f"answer={api.interrupt('q')}"]}

    g = (api.StateGraph(ListState).add_node("node_a", lambda s: {"items": ["a"]}).add_node("ask", ask)
         .add_edge(api.START, "node_a").add_edge("node_a", "ask").compile(checkpointer=api.InMemorySaver()))
    c = cfg()
    g.invoke({"items": []}, c)
    g.invoke(api.Command(resume="first"), c)
    before_ask = next(s for s in g.get_state_history(c) if s.next == ("ask",))
    t.call("replay", lambda: g.invoke(None, before_ask.config))
    t.call("answer again", lambda: g.invoke(api.Command(resume="second"), c))
    t.call("history", lambda: list(g.get_state_history(c)))
    # new input there starts from it, no copy first: its input checkpoint is a step after it
    t.call("new input", lambda: g.invoke({"items": ["new"]}, before_ask.config))
    t.call("history after input", lambda: list(g.get_state_history(c)))


def async_nodes(api: Api, t: Trace) -> None:
    import asyncio

    async def human(state: TextState) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"some_text": api.interrupt({"text_to_revise": state["some_text"]})}

    def sync_node(state: TextState) -> dict[str, Any]:
        return {"some_text": state["some_text"] + "!"}

    b = api.StateGraph(TextState)
    b.add_node("human", human)
    b.add_node("shout", sync_node)
    b.add_edge(api.START, "human")
    b.add_edge("human", "shout")
    g = b.compile(checkpointer=api.InMemorySaver())

    async def flow() -> list[Any]:
        first = await g.ainvoke({"some_text": "a"}, cfg())
        second = await g.ainvoke(api.Command(resume="b"), cfg())
        chunks = [c async for c in g.astream({"some_text": "c"}, cfg("s"), stream_mode="values")]
        state = await g.aget_state(cfg())
        return [first, second, chunks, state]

    t.call("async", lambda: asyncio.run(flow()))


SCENARIOS = [
    seed_text_revision,
    two_interrupts_in_one_node,
    parallel_with_sibling,
    parallel_interrupts_by_id,
    subgraph_interrupt,
    subgraph_inside_node,
    approval_routing_with_goto,
    breakpoints,
    update_state,
    fan_in,
    send_fan_out_with_interrupts,
    recursion_limit,
    falsy_resumes,
    command_update_and_goto_input,
    errors,
    schemas,
    time_travel,
    time_travel_to_a_pause,
    update_state_without_as_node_after_updates,
    async_nodes,
]


def parent_command_and_path_maps(api: Api, t: Trace) -> None:
    def inner_node(state: ListState) -> Any:
        return api.Command(graph=api.Command.PARENT, goto="escalate", update={"items": ["from-sub"]})

    sb = api.StateGraph(ListState)
    sb.add_node("inner_node", inner_node)
    sb.add_edge(api.START, "inner_node")
    sub = sb.compile()

    b = api.StateGraph(ListState)
    b.add_node("sub", sub)
    b.add_node("escalate", lambda s: {"items": ["escalated"]})
    b.add_node("route", lambda s: {"items": ["routed"]})
    b.set_entry_point("route")
    b.add_conditional_edges("route", lambda s: "go" if len(s["items"]) < 3 else "stop", {"go": "sub", "stop": api.END})
    b.add_edge("escalate", "route")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"items": []}, cfg()))
    t.call("history", lambda: [(s.next, s.values) for s in g.get_state_history(cfg())])


def streams(api: Api, t: Trace) -> None:
    def make(name: str) -> Any:
        def node(state: ListState) -> dict[str, Any]:
            return {"items": [f"{name}={api.interrupt(name)}"]}
        return node

    b = api.StateGraph(ListState)
    b.add_node("a", make("a"))
    b.add_node("b", make("b"))
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    g = b.compile(checkpointer=api.InMemorySaver())

    def values_only(chunks: list[Any]) -> list[Any]:
        # Parallel interrupts come one chunk per task, in completion order on LangGraph.
        return sorted((c for c in chunks if c[0] == "values"), key=repr)

    t.call("values", lambda: values_only(list(g.stream({"items": []}, cfg(), stream_mode=["values", "updates"]))))
    ids = [i.id for i in g.get_state(cfg()).interrupts]
    t.call("updates-resume", lambda: [c for c in g.stream(api.Command(resume={i: "ok" for i in ids}), cfg(),
                                                          stream_mode="updates") if "__interrupt__" not in c])
    last = three_nodes(api, interrupt_after=["node_c"])
    t.call("after-last", lambda: (last.invoke({"items": []}, cfg("l")), last.get_state(cfg("l")).next,
                                  list(last.stream(None, cfg("l"), stream_mode="values"))))


class PydState(pydantic.BaseModel):
    text: str
    count: int = 0


def pydantic_node_returns_model(api: Api, t: Trace) -> None:
    def bump(state: PydState) -> PydState:
        return PydState(text=state.text.upper(), count=state.count + 1)

    b = api.StateGraph(PydState)
    b.add_node("bump", bump)
    b.add_edge(api.START, "bump")
    g = b.compile()
    t.call("model-return", lambda: g.invoke({"text": "hi"}))
    t.call("invalid-input", lambda: g.invoke({"count": "not a number"}))


class AskInput(TypedDict):
    question: str


class AskOutput(TypedDict):
    answer: str


class AskState(TypedDict, total=False):
    question: str
    notes: str
    answer: str


@dataclass
class AskContext:
    user: str


def input_output_schemas_and_runtime_context(api: Api, t: Trace) -> None:
    """LangGraph's multiple-schemas pattern and the run context of a `runtime` parameter."""

    def think(state: AskState, runtime: Any) -> dict[str, Any]:
        return {"notes": f"{runtime.context.user} asks {state['question']}"}

    def review(state: AskState, runtime: Any) -> dict[str, Any]:
        approved = api.interrupt({"draft": state["notes"], "user": runtime.context.user})
        return {"answer": f"{state['notes'].upper()} ({approved})"}

    b = api.StateGraph(AskState, input_schema=AskInput, output_schema=AskOutput, context_schema=AskContext)
    b.add_node("think", think)
    b.add_node("review", review)
    b.add_edge(api.START, "think")
    b.add_edge("think", "review")
    b.add_edge("review", api.END)
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"question": "why", "notes": "not an input key"}, cfg(), context=AskContext("ana")))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("resume", lambda: g.invoke(api.Command(resume="ok"), cfg(), context={"user": "bob"}))
    t.call("final", lambda: g.get_state(cfg()))
    t.call("stream", lambda: list(g.stream({"question": "s"}, cfg("s"), context=AskContext("cy"), stream_mode="values")))


class Flaky(Exception):
    """An error a retry may get past (not one of the programming errors retries skip)."""


def node_retry_policies(api: Api, t: Trace) -> None:
    calls: dict[str, int] = {"flaky": 0, "broken": 0, "listed": 0}

    def flaky(state: ListState) -> dict[str, Any]:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise Flaky(f"attempt {calls['flaky']}")
        return {"items": [f"flaky after {calls['flaky']}"]}

    def broken(state: ListState) -> dict[str, Any]:
        calls["broken"] += 1
        raise ValueError("bad input is not retried by default")

    def listed(state: ListState) -> dict[str, Any]:
        calls["listed"] += 1
        raise KeyError("retried because retry_on lists it")

    policy = api.RetryPolicy(initial_interval=0.001, jitter=False)
    for name, fn, retry in (
        ("flaky", flaky, policy),
        ("broken", broken, policy),
        ("listed", listed, api.RetryPolicy(max_attempts=2, initial_interval=0.001, retry_on=KeyError)),
    ):
        b = api.StateGraph(ListState)
        b.add_node(name, fn, retry_policy=retry)
        b.add_edge(api.START, name)
        g = b.compile()
        t.call(name, lambda g=g: g.invoke({"items": []}))
    t.call("calls", lambda: dict(calls))


def custom_stream_writes(api: Api, t: Trace) -> None:
    """Nodes' stream writers, sync and with a runtime; a subgraph's writes stay in the subgraph."""

    def a(state: ListState) -> dict[str, Any]:
        write = api.get_stream_writer()
        write({"progress": "a1"})
        write("a2")
        return {"items": ["a"]}

    def b(state: ListState, runtime: Any) -> dict[str, Any]:
        runtime.stream_writer({"progress": "b"})
        return {"items": ["b"]}

    async def c(state: ListState) -> dict[str, Any]:
        api.get_stream_writer()({"progress": "c"})
        return {"items": ["c"]}

    sub = api.StateGraph(ListState).add_node("inner", a).add_edge(api.START, "inner").compile()
    b_ = api.StateGraph(ListState)
    b_.add_node("a", a)
    b_.add_node("b", b)
    b_.add_node("sub", sub)
    b_.add_edge(api.START, "a")
    b_.add_edge("a", "b")
    b_.add_edge("b", "sub")
    g = b_.compile()
    t.call("updates+custom", lambda: list(g.stream({"items": []}, stream_mode=["updates", "custom"])))
    t.call("custom", lambda: list(g.stream({"items": []}, stream_mode="custom")))
    t.call("invoke", lambda: g.invoke({"items": []}))
    t.call("no-custom", lambda: list(g.stream({"items": []}, stream_mode="updates")))
    par = api.StateGraph(ListState)
    par.add_node("a", a)
    par.add_node("c", c)
    par.add_edge(api.START, "a")
    par.add_edge(api.START, "c")
    gp = par.compile()

    async def parallel() -> list[Any]:
        return sorted(
            [repr(e) async for e in gp.astream({"items": []}, stream_mode="custom")]
        )

    import asyncio

    t.call("parallel-async", lambda: asyncio.run(parallel()))


SCENARIOS += [
    custom_stream_writes,
    parent_command_and_path_maps,
    streams,
    pydantic_node_returns_model,
    input_output_schemas_and_runtime_context,
    node_retry_policies,
]
SCENARIOS += TYPED_ANSWER_SCENARIOS
SCENARIOS += FIDELITY_SCENARIOS
SCENARIOS += SYNC_CALL_SCENARIOS
SCENARIOS += RUN_CONTROL_SCENARIOS
SCENARIOS += SEND_SCENARIOS
SCENARIOS += RECORD_SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_same_as_langgraph(scenario: Any) -> None:
    theirs, ours = run_both(scenario)
    for (label_t, value_t), (label_o, value_o) in zip(theirs, ours, strict=True):
        assert label_t == label_o
        assert value_o == value_t, f"{scenario.__name__} differs at step {label_t!r}"
