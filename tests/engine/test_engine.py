"""Engine behaviour beyond what the differential tests compare: our own guarantees and errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import json
import operator
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import langgraph.errors as lg_errors
import pydantic
import pytest

from engine import (
    END,
    START,
    CheckpointConflict,
    Command,
    InMemorySaver,
    Interrupt,
    MemorySaver,
    StateGraph,
    get_stream_writer,
    interrupt,
    is_invalid_resume,
    serde,
)
from engine.errors import (
    EmptyInputError,
    GraphBuildError,
    InterruptOutsideGraphError,
    SerializationError,
)


class TextState(TypedDict):
    some_text: str


def seed_graph(checkpointer: Any = None) -> Any:
    def human_node(state: TextState) -> dict[str, Any]:
        return {"some_text": interrupt({"text_to_revise": state["some_text"]})}

    builder = StateGraph(TextState)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "human_node")
    return builder.compile(checkpointer=checkpointer or InMemorySaver())


def cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def test_interrupt_record_carries_both_field_sets() -> None:
    out = seed_graph().invoke({"some_text": "original text"}, cfg())
    (record,) = out["__interrupt__"]
    assert record.value == {"text_to_revise": "original text"}
    assert len(record.id) == 32 and int(record.id, 16) >= 0
    assert record.resumable is True and record.when == "during"
    assert len(record.ns) == 1 and record.ns[0].startswith("human_node:")
    assert record.to_json() == {"value": record.value, "id": record.id, "response_schema": None, "resumable": True,
                                "ns": list(record.ns), "when": "during"}
    assert Interrupt.from_json(record.to_json()) == record


def test_interrupt_compares_like_langgraphs() -> None:
    """value, id and response_schema make an Interrupt; the seed-era fields travel but do not count."""
    plain = Interrupt(value="v", id="i")
    assert plain == Interrupt("v", "i", resumable=False, ns=("a:1",), when="before")
    assert plain != Interrupt("v", "i", response_schema={"type": "string"})
    assert repr(plain) == "Interrupt(value='v', id='i', response_schema=None)"
    assert Interrupt("v").id == "placeholder-id"  # LangGraph's default for a hand-built one
    assert Interrupt[dict](value="v", id="i") == plain  # generic in its answer type, as LangGraph's
    saved_before_schemas = {"value": "v", "id": "i", "resumable": True, "ns": ["n:1"], "when": "during"}
    assert Interrupt.from_json(saved_before_schemas) == plain


def test_a_refused_answer_is_not_kept() -> None:
    """LangGraph keeps a refused answer in its resume write, so invoke(None) replays it and fails
    again; nothing of it is kept here (the documented intent), so invoke(None) pauses again."""

    def ask(state: TextState) -> dict[str, Any]:
        return {"some_text": interrupt("risk?", response_schema=Annotated[int, pydantic.Field(ge=1, le=5)])}

    builder = StateGraph(TextState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    (pause,) = graph.invoke({"some_text": ""}, cfg())["__interrupt__"]
    assert pause.response_schema == {"maximum": 5, "minimum": 1, "type": "integer"}
    with pytest.raises(pydantic.ValidationError) as refused:
        graph.invoke(Command(resume=9), cfg())
    assert is_invalid_resume(refused.value) and not is_invalid_resume(ValueError("a node's own"))
    # LangGraph's own helper (which its ToolNode asks) recognises the refusal too.
    assert lg_errors.is_invalid_resume(refused.value)
    assert graph.invoke(None, cfg())["__interrupt__"] == [pause]
    assert graph.invoke(Command(resume="4"), cfg()) == {"some_text": 4}


def test_memory_saver_alias() -> None:
    assert MemorySaver is InMemorySaver


async def test_concurrent_resumes_of_one_pause_exactly_one_wins() -> None:
    runs: list[str] = []

    def human_node(state: TextState) -> dict[str, Any]:
        answer = interrupt("?")
        runs.append(answer)
        return {"some_text": answer}

    builder = StateGraph(TextState)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "human_node")
    graph = builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"some_text": "x"}, cfg())
    results = await asyncio.gather(
        *(graph.ainvoke(Command(resume=f"r{i}"), cfg()) for i in range(20)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, dict)]
    conflicts = [r for r in results if isinstance(r, CheckpointConflict)]
    assert len(winners) == 1 and len(conflicts) == 19
    assert runs == [winners[0]["some_text"]]


def test_empty_command_is_a_clear_error() -> None:
    graph = seed_graph()
    graph.invoke({"some_text": "x"}, cfg())
    with pytest.raises(EmptyInputError, match="empty Command"):
        graph.invoke(Command(resume=None), cfg())
    assert graph.get_state(cfg()).next == ("human_node",)


def test_interrupt_outside_a_graph() -> None:
    with pytest.raises(InterruptOutsideGraphError, match="outside a graph node"):
        interrupt("nobody is listening")


def test_unknown_breakpoint_node_at_compile_and_per_run() -> None:
    builder = StateGraph(TextState)
    builder.add_node("a", lambda s: {})
    builder.add_edge(START, "a")
    with pytest.raises(GraphBuildError, match="`b` not found"):
        builder.compile(interrupt_before=["b"])
    with pytest.raises(ValueError, match="`b` not found"):
        builder.compile().invoke({"some_text": "x"}, interrupt_after=["b"])


def test_graph_that_can_never_end_is_refused() -> None:
    def ping(state: TextState) -> dict[str, str]:
        return {}

    builder = StateGraph(TextState)
    builder.add_node("ping", ping)
    builder.add_node("pong", ping)
    builder.add_edge(START, "ping")
    builder.add_edge("ping", "pong")
    builder.add_edge("pong", "ping")
    with pytest.raises(GraphBuildError, match="END is unreachable"):
        builder.compile()


class Color(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: int


class Model(pydantic.BaseModel):
    name: str
    tags: list[str]


def test_serde_round_trips_the_usual_state_types() -> None:
    value = {
        "s": "text", "i": 3, "f": 1.5, "b": True, "n": None,
        "list": [1, [2, 3]], "tuple": (1, "a", (2,)), "set": {1, 2}, "frozen": frozenset({"a"}),
        "dt": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "date": dt.date(2026, 1, 2),
        "uuid": uuid.UUID(int=7), "bytes": b"\x00\xff", "decimal": decimal.Decimal("1.10"),
        "enum": Color.RED, "dataclass": Point(1, 2), "model": Model(name="m", tags=["a"]),
        "int_keys": {1: "one"}, "nested": {"__sluice__": "not a tag"},
    }
    assert serde.loads(serde.dumps(value)) == value


def test_serde_writes_the_bytes_the_standard_encoder_writes() -> None:
    """Stored bytes stay what json.dumps wrote before the encoder was built once (other processes,
    and stored pending writes compared as written, read them)."""
    value = {"text": "caf\u00e9 \u2603 \U0001f600 \"q\" \\ \n", "f": [1.5, 1e300, -0.0, float("nan"), float("inf")],
             "nested": {"k": [None, True, {"": []}]}, "tuple": (1, 2), "big": 10**30}
    expected = json.dumps({"v": serde.FORMAT_VERSION, "d": serde.to_jsonable(value)}, separators=(",", ":"))
    assert serde.dumps(value) == expected.encode()
    back = serde.loads(serde.dumps(value))
    assert back["text"] == value["text"] and back["nested"] == value["nested"] and back["tuple"] == (1, 2)
    assert serde.loads(expected) == serde.loads(expected.encode())


def test_serde_refuses_unknown_versions_and_classes() -> None:
    with pytest.raises(SerializationError, match="format version"):
        serde.loads(b'{"v": 99, "d": 1}')
    forged = b'{"v": 1, "d": {"__sluice__": "dataclass", "cls": "os:system", "v": {}}}'
    with pytest.raises(SerializationError, match="not a class|not a dataclass"):
        serde.loads(forged)


def test_unserialisable_state_names_the_key_and_writes_nothing() -> None:
    class S(TypedDict, total=False):
        ok: str
        bad: Any

    builder = StateGraph(S)
    builder.add_node("n", lambda s: {"bad": object()})
    builder.add_edge(START, "n")
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(SerializationError, match="key 'bad'"):
        graph.invoke({"ok": "yes"}, cfg())
    state = graph.get_state(cfg())
    assert state.values == {"ok": "yes"} and state.next == ("n",)  # the step before the bad write


def test_sync_node_calling_a_subgraph_inside_an_async_run() -> None:
    class S(TypedDict, total=False):
        items: Annotated[list[str], operator.add]

    inner_builder = StateGraph(S)
    inner_builder.add_node("ask", lambda s: {"items": [interrupt("inner?")]})
    inner_builder.add_edge(START, "ask")
    inner = inner_builder.compile()

    def wrapper(state: S) -> dict[str, Any]:
        return {"items": inner.invoke({"items": []})["items"]}

    builder = StateGraph(S)
    builder.add_node("wrapper", wrapper)
    builder.add_edge(START, "wrapper")
    graph = builder.compile(checkpointer=InMemorySaver())

    async def flow() -> dict[str, Any]:
        first = await graph.ainvoke({"items": []}, cfg())
        assert first["__interrupt__"][0].value == "inner?"
        return await graph.ainvoke(Command(resume="yes"), cfg())

    assert asyncio.run(flow()) == {"items": ["yes"]}


def test_crash_safety_saves_each_finished_parallel_task_on_durable_savers() -> None:
    class DurableMemory(InMemorySaver):
        durable = True

    class S(TypedDict, total=False):
        items: Annotated[list[str], operator.add]

    ran: list[str] = []

    def make(name: str) -> Any:
        def node(state: S) -> dict[str, Any]:
            ran.append(name)
            if name == "boom" and ran.count("boom") == 1:
                raise RuntimeError("crash")
            return {"items": [name]}
        return node

    builder = StateGraph(S)
    for name in ("a", "b", "boom"):
        builder.add_node(name, make(name))
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    graph = builder.compile(checkpointer=DurableMemory())
    with pytest.raises(RuntimeError, match="crash"):
        graph.invoke({"items": []}, cfg())
    state = graph.get_state(cfg())
    assert state.next == ("boom",)
    assert [t.error is not None for t in state.tasks] == [False, False, True]
    assert graph.invoke(None, cfg()) == {"items": ["a", "b", "boom"]}
    assert sorted(ran) == ["a", "b", "boom", "boom"]  # a and b did not run twice


def test_none_input_on_a_fresh_thread() -> None:
    with pytest.raises(EmptyInputError):
        seed_graph().invoke(None, cfg("fresh"))


def test_sync_stream_closed_mid_step_keeps_the_node_it_waited_for() -> None:
    """Closing a sync stream waits for its sync nodes still running; what they return is kept, so
    continuing the thread runs the next step only, never one of them again."""
    import threading

    runs: list[str] = []
    release = threading.Event()

    class Items(TypedDict, total=False):
        items: Annotated[list[str], operator.add]

    def quick(state: Items) -> dict[str, Any]:
        runs.append("quick")
        return {"items": ["quick"]}

    def slow(state: Items) -> dict[str, Any]:
        runs.append("slow")
        get_stream_writer()("slow running")
        release.wait(10)
        return {"items": ["slow"]}

    b = StateGraph(Items)
    b.add_node("quick", quick)
    b.add_node("slow", slow)
    b.add_node("after", lambda s: {"items": ["after"]})
    b.add_edge(START, "quick")
    b.add_edge(START, "slow")
    b.add_edge(["quick", "slow"], "after")
    g = b.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    stream = g.stream({"items": []}, config, stream_mode="custom")
    assert next(stream) == "slow running"
    release.set()
    stream.close()
    state = g.get_state(config)
    assert sorted(state.values["items"]) == ["quick", "slow"] and state.next == ()
    assert g.invoke(None, config) == {"items": ["quick", "slow", "after"]}
    assert sorted(runs) == ["quick", "slow"]
