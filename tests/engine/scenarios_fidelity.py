"""Differential scenarios for LangGraph behaviour the engine took on with issue 15 (LangGraph's own
suite found each difference): list returns, root state, private schemas, Overwrite, StateUpdate,
managed values, deferred nodes, concurrency of sync nodes, cancellation, validation errors."""

from __future__ import annotations

import asyncio
import operator
import threading
from typing import Annotated, Any, Literal, TypedDict

import langgraph.managed as lg_managed
import langgraph.types as lg_types
import pydantic

import engine

from .harness import Api, Trace

# Names the harness's Api does not carry, by library.
EXTRA: dict[str, dict[str, Any]] = {
    "langgraph": {"Overwrite": lg_types.Overwrite, "StateUpdate": lg_types.StateUpdate},
    "engine": {"Overwrite": engine.Overwrite, "StateUpdate": engine.StateUpdate},
}


class Overall(TypedDict):
    foo: Annotated[int, operator.add]
    bar: str


class RouterState(TypedDict):
    baz: str


class Node2State(TypedDict):
    foo: Annotated[int, operator.add]
    baz: str


class Output(TypedDict):
    foo: int
    bar: str
    summary: str


class LgManaged(TypedDict):
    seen: Annotated[list, operator.add]
    remaining_steps: lg_managed.RemainingSteps
    is_last_step: lg_managed.IsLastStep


class OurManaged(TypedDict):
    seen: Annotated[list, operator.add]
    remaining_steps: engine.RemainingSteps
    is_last_step: engine.IsLastStep


def cfg(thread: str = "t1", **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, **extra}


class Text(TypedDict):
    foo: Annotated[str, operator.add]


class Items(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def bad_reducer(a: Any) -> Any:
    return a


class BadReducer(TypedDict):
    hello: Annotated[str, bad_reducer]


def several_updates_in_one_return(api: Api, t: Trace) -> None:
    """A node returning a list of Commands (or Commands and dicts) applies each update in turn."""
    def node_a(state: Text) -> Any:
        return [api.Command(update={"foo": "a1"}), api.Command(update={"foo": "a2"})]

    def node_b(state: Text) -> Any:
        return [api.Command(update={"foo": "b1"}), {"foo": "b2"}]

    g = api.StateGraph(Text).add_sequence([node_a, node_b]).add_edge(api.START, "node_a").compile()
    t.call("invoke", lambda: g.invoke({"foo": ""}))
    t.call("updates", lambda: list(g.stream({"foo": ""}, stream_mode="updates")))


def root_reducer_state(api: Api, t: Trace) -> None:
    """A state that is one reducer value: nodes get and return the value itself."""
    def first(state: list[str]) -> list[str]:
        return ["first"]

    def second(state: list[str]) -> Any:
        return [api.Command(update=["c"]), ["d"]]

    b = api.StateGraph(Annotated[list, operator.add])
    b.add_node("first", first)
    b.add_node("second", second)
    b.add_edge(api.START, "first")
    b.add_edge("first", "second")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke(["in"], cfg()))
    t.call("stream", lambda: list(g.stream(["x"], cfg("s"), stream_mode=["values", "updates"])))
    t.call("state", lambda: g.get_state(cfg()))
    t.call("history", lambda: [s.values for s in g.get_state_history(cfg())])


def pydantic_command_update(api: Api, t: Trace) -> None:
    """Command(update=Model(...)) writes the fields set or not defaulting to None, like a return does."""
    class State(pydantic.BaseModel):
        foo: str | None = None
        bar: str | None = None

    def node_a(state: State) -> State:
        return State(foo="foo")

    def node_b(state: State) -> Any:
        return api.Command(update=State(bar="bar"))

    b = api.StateGraph(State)
    b.add_node("node_a", node_a)
    b.add_node("node_b", node_b)
    b.add_edge(api.START, "node_a")
    b.add_edge("node_a", "node_b")
    t.call("invoke", lambda: b.compile().invoke(State()))


def finished_task_after_its_answer(api: Api, t: Trace) -> None:
    """The head shows only the task still paused; the same checkpoint read by id is the step's record."""
    def make(name: str) -> Any:
        def node(state: Items) -> dict[str, Any]:
            return {"items": [f"{name}:{api.interrupt(name.upper())}"]}
        return node

    b = api.StateGraph(Items)
    b.add_node("a", make("a"))
    b.add_node("b", make("b"))
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    g = b.compile(checkpointer=api.InMemorySaver())
    first = g.invoke({"items": []}, cfg())
    ids = {i.value: i.id for i in first["__interrupt__"]}
    t.call("answer-a", lambda: g.invoke(api.Command(resume={ids["A"]: "yes"}), cfg()))
    head = g.get_state(cfg())
    t.add("head", head)
    t.call("by-id", lambda: g.get_state(head.config))
    t.call("answer-b", lambda: g.invoke(api.Command(resume={ids["B"]: "ok"}), cfg()))


def values_stream_of_an_empty_input(api: Api, t: Trace) -> None:
    """An input that writes nothing shows no values chunk; a resume starts with the current values."""
    class State(TypedDict):
        robot: str
        human: str

    def robot(state: State) -> dict[str, Any]:
        return {"robot": "beep"}

    def human(state: State) -> Any:
        return api.Command(update={"human": api.interrupt("who?")})

    b = api.StateGraph(State)
    b.add_node("robot", robot)
    b.add_node("human", human)
    b.add_edge(api.START, "robot")
    b.add_edge("robot", "human")
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("stream", lambda: list(g.stream({}, cfg(), stream_mode=["updates", "values"])))
    t.call("resume", lambda: list(g.stream(api.Command(resume="me"), cfg(), stream_mode=["updates", "values"])))


def private_and_output_only_keys(api: Api, t: Trace) -> None:
    """Keys named only by a node's or router's input schema, or by the output schema, are channels."""
    def node_1(state: Overall) -> dict[str, Any]:
        return {"foo": 1, "baz": "meow", "unknown": 0}

    def node_2(state: Node2State) -> dict[str, Any]:
        return {"foo": 1, "bar": state["baz"], "summary": f"saw {sorted(state)}"}

    def router(state: RouterState) -> str:
        return "node_2" if state == {"baz": "meow"} else api.END

    b = api.StateGraph(Overall, output_schema=Output)
    b.add_node("node_1", node_1)
    b.add_node("node_2", node_2)
    b.add_conditional_edges("node_1", router)
    b.add_edge(api.START, "node_1")
    g = b.compile()
    t.call("invoke", lambda: g.invoke({"foo": 0}))
    t.call("values", lambda: list(g.stream({"foo": 0}, stream_mode="values")))


def tags_reach_nested_nodes(api: Api, t: Trace) -> None:
    """A run's tags are in every node's config, through subgraphs, once."""
    class State(TypedDict):
        copies: int

    def leaf(state: State, config):  # type: ignore[no-untyped-def]  # LangGraph passes config when unannotated
        return {"copies": config["tags"].count("my-tag")}

    g = api.StateGraph(State).add_node("leaf", leaf).add_edge(api.START, "leaf").compile()
    t.call("no-tags", lambda: g.invoke({"copies": 0}))
    for _ in range(3):
        g = api.StateGraph(State).add_node("sub", g).add_edge(api.START, "sub").compile()
    t.call("nested", lambda: g.invoke({"copies": 0}, {"tags": ["my-tag"]}))
    t.call("with_config", lambda: g.with_config(tags=["my-tag"]).invoke({"copies": 0}))


def retry_policy_list(api: Api, t: Trace) -> None:
    """With several policies, the first whose retry_on matches the error decides."""
    class State(TypedDict):
        kind: str
        out: str

    attempts = {"value": 0, "key": 0}

    def flaky(state: State) -> dict[str, Any]:
        attempts[state["kind"]] += 1
        if state["kind"] == "value" and attempts["value"] < 2:
            raise ValueError("value")
        if state["kind"] == "key" and attempts["key"] < 3:
            raise KeyError("key")
        return {"out": f"recovered {state['kind']}"}

    policies = (api.RetryPolicy(max_attempts=2, initial_interval=0.01, jitter=False, retry_on=ValueError),
                api.RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False, retry_on=KeyError))
    g = api.StateGraph(State).add_node("flaky", flaky, retry_policy=policies).add_edge(api.START, "flaky").compile()
    t.call("value", lambda: g.invoke({"kind": "value"}))
    t.call("key", lambda: g.invoke({"kind": "key"}))
    t.add("attempts", dict(attempts))


def parallel_sync_nodes_overlap(api: Api, t: Trace) -> None:
    """Sync nodes of one step run at the same time under invoke: each waits for the other."""
    meet = threading.Barrier(2, timeout=5)

    def make(name: str) -> Any:
        def node(state: Items) -> dict[str, Any]:
            meet.wait()
            return {"items": [name]}
        return node

    b = api.StateGraph(Items)
    b.add_node("left", make("left"))
    b.add_node("right", make("right"))
    b.add_edge(api.START, "left")
    b.add_edge(api.START, "right")
    t.call("invoke", lambda: sorted(b.compile().invoke({"items": []})["items"]))


def failure_cancels_async_siblings(api: Api, t: Trace) -> None:
    """A node that fails stops its async siblings of the same step."""
    seen: list[str] = []

    async def waits(state: Items) -> dict[str, Any]:
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 5)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        except TimeoutError:
            seen.append("ran to its end")
        return {"items": ["waits"]}

    async def fails(state: Items) -> dict[str, Any]:
        await asyncio.sleep(0)
        raise ValueError("boom")

    b = api.StateGraph(Items)
    b.add_node("waits", waits)
    b.add_node("fails", fails)
    b.add_edge(api.START, "waits")
    b.add_edge(api.START, "fails")
    g = b.compile()
    t.call("ainvoke", lambda: asyncio.run(g.ainvoke({"items": []})))
    t.add("seen", seen)


def build_errors(api: Api, t: Trace) -> None:
    """What LangGraph refuses while a graph is built."""
    def step1(state: Text) -> dict[str, Any]:
        return {"foo": "1"}

    t.call("empty-sequence", lambda: api.StateGraph(Text).add_sequence([]))
    t.call("duplicate-in-sequence", lambda: api.StateGraph(Text).add_sequence([step1, step1]))
    t.call("bad-reducer", lambda: api.StateGraph(BadReducer))
    b = api.StateGraph(Text).add_node("step1", step1).add_edge(api.START, "step1")
    t.call("not-a-checkpointer", lambda: b.compile(checkpointer=object()) and None)


def overwrite_bypasses_the_reducer(api: Api, t: Trace) -> None:
    """Overwrite (or {"__overwrite__": v}) replaces a reducer key; two in one step are an error."""
    overwrite = EXTRA[api.name]["Overwrite"]

    def graph(b_value: Any, c_value: Any) -> Any:
        b = api.StateGraph(Items)
        b.add_node("a", lambda s: {"items": ["a"]})
        b.add_node("b", lambda s: {"items": b_value})
        b.add_node("c", lambda s: {"items": c_value})
        b.add_node("d", lambda s: {"items": ["d"]})
        b.add_edge(api.START, "a")
        b.add_edge("a", "b")
        b.add_edge("a", "c")
        b.add_edge(["b", "c"], "d")
        return b.compile(checkpointer=api.InMemorySaver())

    t.call("object", lambda: graph(overwrite(["b"]), ["c"]).invoke({"items": ["start"]}, cfg()))
    t.call("json", lambda: graph({"__overwrite__": ["b"]}, ["c"]).invoke({"items": ["start"]}, cfg()))
    t.call("two", lambda: graph(overwrite(["b"]), {"__overwrite__": ["c"]}).invoke({"items": ["start"]}, cfg()))


def bulk_update_and_copy(api: Api, t: Trace) -> None:
    """bulk_update_state builds a thread step by step; update_state as __copy__ forks beside a checkpoint."""
    state_update = EXTRA[api.name]["StateUpdate"]

    class State(TypedDict):
        num: int
        text: str

    def double(state: State) -> dict[str, Any]:
        return {"num": state["num"] * 2, "text": state["text"] * 2}

    g = (api.StateGraph(State).add_node("double", double).add_edge(api.START, "double")
         .compile(checkpointer=api.InMemorySaver()))
    t.call("bulk", lambda: g.bulk_update_state(cfg("bulk"), [
        [state_update(values={}, as_node="__input__")],
        [state_update(values={"num": 1, "text": "one"}, as_node="__start__")],
        [state_update(values={"num": 2, "text": "oneone"}, as_node="double")],
    ]) and None)
    t.call("bulk-state", lambda: g.get_state(cfg("bulk")))
    t.call("bulk-history", lambda: list(g.get_state_history(cfg("bulk"))))
    t.call("no-supersteps", lambda: g.bulk_update_state(cfg("bulk"), []))
    g.invoke({"num": 1, "text": "a"}, cfg())
    before = next(s for s in g.get_state_history(cfg()) if s.next == ("double",))
    copied = g.update_state(before.config, None, as_node="__copy__")
    t.call("copy", lambda: g.get_state(copied))
    t.call("copy-runs", lambda: g.invoke(None, copied))

    def ask(state: State) -> dict[str, Any]:
        return {"text": api.interrupt("text?")}

    b = api.StateGraph(State).add_node("double", double).add_node("ask", ask)
    paused = b.add_edge(api.START, "double").add_edge(api.START, "ask").compile(checkpointer=api.InMemorySaver())
    paused.invoke({"num": 2, "text": "b"}, cfg("paused"))
    t.call("clear-paused", lambda: paused.get_state(paused.update_state(cfg("paused"), None, as_node=api.END)))


def managed_steps(api: Api, t: Trace) -> None:
    """RemainingSteps and IsLastStep as LangGraph counts them, fresh and after a resume."""
    state_class: Any = LgManaged if api.name == "langgraph" else OurManaged

    def a(state: Any) -> dict[str, Any]:
        return {"seen": [["a", state["remaining_steps"], state["is_last_step"]]]}

    def b(state: Any) -> dict[str, Any]:
        if len(state["seen"]) == 3:
            api.interrupt("pause")
        return {"seen": [["b", state["remaining_steps"], state["is_last_step"]]]}

    builder = api.StateGraph(state_class)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(api.START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda s: "a" if len(s["seen"]) < 30 else api.END)
    g = builder.compile(checkpointer=api.InMemorySaver())
    t.call("invoke", lambda: g.invoke({"seen": []}, cfg(recursion_limit=6)))
    t.call("resume", lambda: g.invoke(api.Command(resume=1), cfg(recursion_limit=6)))


def deferred_node_waits(api: Api, t: Trace) -> None:
    """add_node(defer=True): the node runs once, after the longer branch is done too."""
    def node(name: str) -> Any:
        return lambda s: {"items": [name]}

    b = api.StateGraph(Items)
    for name in ("a", "b1", "b2"):
        b.add_node(name, node(name))
    b.add_node("final", node("final"), defer=True)
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b1")
    b.add_edge("b1", "b2")
    b.add_edge("a", "final")
    b.add_edge("b2", "final")
    t.call("invoke", lambda: b.compile().invoke({"items": []}))


def typed_surface(api: Api, t: Trace) -> None:
    """StateGraph[State] and Command[Literal[...]] in annotations."""
    def go(state: Text) -> api.Command[Literal["done"]]:  # type: ignore[name-defined]
        return api.Command(update={"foo": "go"}, goto="done")

    def build() -> api.StateGraph[Text]:  # type: ignore[name-defined]
        b: Any = api.StateGraph(Text)
        b.add_node("go", go)
        b.add_node("done", lambda s: {"foo": "!"})
        b.add_edge(api.START, "go")
        return b  # type: ignore[no-any-return]

    t.call("invoke", lambda: build().compile().invoke({"foo": ""}))


FIDELITY_SCENARIOS = [
    several_updates_in_one_return,
    root_reducer_state,
    pydantic_command_update,
    finished_task_after_its_answer,
    values_stream_of_an_empty_input,
    private_and_output_only_keys,
    tags_reach_nested_nodes,
    retry_policy_list,
    parallel_sync_nodes_overlap,
    failure_cancels_async_siblings,
    build_errors,
    overwrite_bypasses_the_reducer,
    bulk_update_and_copy,
    managed_steps,
    deferred_node_waits,
    typed_surface,
]


def async_paths(api: Api, t: Trace) -> None:
    """The same features through ainvoke/astream with async nodes and routers."""
    overwrite = EXTRA[api.name]["Overwrite"]

    async def first(state: list[str], writer) -> Any:  # type: ignore[no-untyped-def]
        writer({"progress": "first"})
        return [api.Command(update=["a"]), ["b"]]

    async def router(state: RouterState) -> str:
        return "private" if state.get("baz") == "x" else api.END

    async def private(state: Node2State) -> dict[str, Any]:
        return {"foo": 1, "bar": state["baz"]}

    async def reset(state: Items) -> dict[str, Any]:
        return {"items": overwrite(["reset"])}

    root = api.StateGraph(Annotated[list, operator.add]).add_node("first", first).add_edge(api.START, "first")
    g1 = root.compile(checkpointer=api.InMemorySaver())

    b = api.StateGraph(Overall)
    b.add_node("one", lambda s: {"foo": 1, "baz": "x"})
    b.add_node("private", private)
    b.add_edge(api.START, "one")
    b.add_conditional_edges("one", router)
    g2 = b.compile()
    g3 = api.StateGraph(Items).add_node("reset", reset).add_edge(api.START, "reset").compile()

    async def collect(agen: Any) -> list[Any]:
        return [chunk async for chunk in agen]

    t.call("root-ainvoke", lambda: asyncio.run(g1.ainvoke(["in"], cfg())))
    t.call("root-astream", lambda: asyncio.run(collect(
        g1.astream(["x"], cfg("s"), stream_mode=["values", "updates", "custom"]))))
    t.call("private-ainvoke", lambda: asyncio.run(g2.ainvoke({"foo": 0})))
    t.call("overwrite-ainvoke", lambda: asyncio.run(g3.ainvoke({"items": ["start"]})))


FIDELITY_SCENARIOS.append(async_paths)


def cancelled_run_cancels_its_tasks(api: Api, t: Trace) -> None:
    """Cancelling ainvoke while parallel async nodes run cancels each of them."""
    seen: list[str] = []

    async def main() -> None:
        started = asyncio.Event()
        running: list[str] = []

        def make(name: str) -> Any:
            async def node(state: Items) -> dict[str, Any]:
                running.append(name)
                if len(running) == 2:
                    started.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    seen.append(f"{name} cancelled")
                    raise
                return {"items": [name]}
            return node

        b = api.StateGraph(Items)
        b.add_node("left", make("left"))
        b.add_node("right", make("right"))
        b.add_edge(api.START, "left")
        b.add_edge(api.START, "right")
        run = asyncio.ensure_future(b.compile().ainvoke({"items": []}))
        await started.wait()
        run.cancel()
        try:
            await run
        except asyncio.CancelledError:
            seen.append("run cancelled")

    asyncio.run(main())
    t.add("seen", sorted(seen))


FIDELITY_SCENARIOS.append(cancelled_run_cancels_its_tasks)


def steps_that_write_nothing(api: Api, t: Trace) -> None:
    """A step whose nodes write nothing shows no values chunk; breakpoints after every node."""
    class Input(TypedDict):
        input: str

    def noop(state: Input) -> None:
        return None

    b = api.StateGraph(Input)
    for name in ("step_1", "step_2"):
        b.add_node(name, noop)
    b.add_edge(api.START, "step_1")
    b.add_edge("step_1", "step_2")
    g = b.compile(checkpointer=api.InMemorySaver(), interrupt_after="*")
    t.call("first", lambda: list(g.stream({"input": "hi"}, cfg(), stream_mode=["values", "updates"])))
    t.call("second", lambda: list(g.stream(None, cfg(), stream_mode=["values", "updates"])))
    t.call("history", lambda: len(list(g.get_state_history(cfg()))))


FIDELITY_SCENARIOS.append(steps_that_write_nothing)


def update_state_keeps_a_completed_join(api: Api, t: Trace) -> None:
    """A node a completed join triggered stays next through update_state until it runs."""
    b = api.StateGraph(Items)
    for name in ("a", "b", "c"):
        b.add_node(name, lambda s, name=name: {"items": [name]})
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    b.add_edge(["a", "b"], "c")
    g = b.compile(checkpointer=api.InMemorySaver(), interrupt_before=["c"])
    t.call("run", lambda: g.invoke({"items": []}, cfg()))
    t.call("as-a", lambda: g.get_state(g.update_state(cfg(), {"items": ["u"]}, as_node="a")))
    t.call("goto", lambda: g.get_state(g.update_state(cfg(), api.Command(update={"items": ["v"]}, goto="b"),
                                                      as_node="a")))
    t.call("resume", lambda: g.invoke(None, cfg()))


FIDELITY_SCENARIOS.append(update_state_keeps_a_completed_join)
