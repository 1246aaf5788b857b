"""Graphs paused through one saver and resumed through a fresh one (a new client, as another process)."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import pytest
from pydantic import BaseModel, Field, ValidationError

from engine import END, START, Command, StateGraph, interrupt, is_invalid_resume
from engine.checkpoint.base import Checkpointer
from examples.text_revision import builder as seed_builder


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"g-{uuid.uuid4().hex}"}}


async def test_seed_pauses_and_resumes_from_a_fresh_saver(make_saver: Callable[..., Checkpointer]) -> None:
    cfg = config()
    first = seed_builder.compile(checkpointer=make_saver())
    paused = await first.ainvoke({"some_text": "original text"}, cfg)
    (pause,) = paused["__interrupt__"]
    assert pause.value == {"text_to_revise": "original text"}

    later = seed_builder.compile().with_checkpointer(make_saver())
    state = await later.aget_state(cfg)
    assert state.next == ("human_node",) and [i.id for i in state.interrupts] == [pause.id]
    assert await later.ainvoke(Command(resume="Edited text"), cfg) == {"some_text": "Edited text"}

    final = await seed_builder.compile(checkpointer=make_saver()).aget_state(cfg)
    assert final.values == {"some_text": "Edited text"} and final.next == ()
    history = [s async for s in later.aget_state_history(cfg)]
    assert [s.metadata["step"] for s in history] == [1, 0, -1]  # type: ignore[index]


class Fan(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def fan_graph(runs: dict[str, int]) -> Any:
    def ask(name: str) -> Callable[[Fan], Fan]:
        def node(state: Fan) -> Fan:
            runs[name] = runs.get(name, 0) + 1
            return {"log": [f"{name}={interrupt({'question': name})}"]}
        return node

    def work(state: Fan) -> Fan:
        runs["work"] = runs.get("work", 0) + 1
        return {"log": ["work"]}

    builder = StateGraph(Fan)
    builder.add_node("ask_a", ask("a"))
    builder.add_node("ask_b", ask("b"))
    builder.add_node("work", work)
    builder.add_node("done", lambda state: {"log": ["done"]})
    for name in ("ask_a", "ask_b", "work"):
        builder.add_edge(START, name)
    builder.add_edge(["ask_a", "ask_b", "work"], "done")
    builder.add_edge("done", END)
    return builder


async def test_parallel_branches_with_two_interrupts(make_saver: Callable[..., Checkpointer]) -> None:
    runs: dict[str, int] = {}
    builder = fan_graph(runs)
    cfg = config()
    paused = await builder.compile(checkpointer=make_saver()).ainvoke({"log": []}, cfg)
    by_question = {i.value["question"]: i.id for i in paused["__interrupt__"]}
    assert set(by_question) == {"a", "b"} and runs == {"a": 1, "b": 1, "work": 1}

    # Answer one pause from a fresh saver: the other stays pending, the finished sibling is not re-run.
    second = builder.compile(checkpointer=make_saver())
    out = await second.ainvoke(Command(resume={by_question["a"]: "yes"}), cfg)
    assert [i.id for i in out["__interrupt__"]] == [by_question["b"]]
    state = await builder.compile(checkpointer=make_saver()).aget_state(cfg)
    assert state.next == ("ask_b",) and [i.id for i in state.interrupts] == [by_question["b"]]

    third = builder.compile(checkpointer=make_saver())
    result = await third.ainvoke(Command(resume={by_question["b"]: "no"}), cfg)
    assert sorted(result["log"]) == ["a=yes", "b=no", "done", "work"]
    assert runs == {"a": 2, "b": 3, "work": 1}  # each pause re-runs its own node only


class Release(BaseModel):
    choice: Literal["ship", "hold"]
    risk: int = Field(ge=1, le=5)


async def test_typed_pauses_refuse_bad_answers_and_keep_their_schema(make_saver: Callable[..., Checkpointer]) -> None:
    """Two parallel typed pauses: one bad answer in a map reopens only that pause, seen from a fresh saver."""
    runs: dict[str, int] = {}

    def ask(name: str) -> Callable[[Fan], Fan]:
        def node(state: Fan) -> Fan:
            runs[name] = runs.get(name, 0) + 1
            answer = interrupt({"question": name}, response_schema=Release)
            return {"log": [f"{name}={answer.choice}/{answer.risk}"]}
        return node

    builder = StateGraph(Fan)
    builder.add_node("ask_a", ask("a"))
    builder.add_node("ask_b", ask("b"))
    builder.add_edge(START, "ask_a")
    builder.add_edge(START, "ask_b")
    cfg = config()
    paused = await builder.compile(checkpointer=make_saver()).ainvoke({"log": []}, cfg)
    schema = Release.model_json_schema()
    assert [i.response_schema for i in paused["__interrupt__"]] == [schema, schema]
    ids = {i.value["question"]: i.id for i in paused["__interrupt__"]}

    graph = builder.compile(checkpointer=make_saver())
    with pytest.raises(ValidationError) as refused:
        await graph.ainvoke(Command(resume={ids["a"]: {"choice": "ship", "risk": 2}, ids["b"]: {"choice": "x"}}), cfg)
    assert is_invalid_resume(refused.value)

    later = builder.compile(checkpointer=make_saver())
    state = await later.aget_state(cfg)
    assert state.next == ("ask_b",) and [(i.id, i.response_schema) for i in state.interrupts] == [(ids["b"], schema)]
    assert state.values == {"log": ["a=ship/2"]}
    with pytest.raises(ValidationError):
        await later.ainvoke(Command(resume="hold"), cfg)
    assert await later.ainvoke(Command(resume={ids["b"]: {"choice": "hold", "risk": "5"}}), cfg) == {
        "log": ["a=ship/2", "b=hold/5"]
    }
    assert runs == {"a": 2, "b": 4}
    history = [s async for s in later.aget_state_history(cfg)]
    paused_step = next(s for s in history if s.next == ("ask_a", "ask_b"))
    assert [i.response_schema for t in paused_step.tasks for i in t.interrupts] == [schema, schema]


def stateful_subgraph_parent(seen: list[list[str]]) -> Any:
    """A parent whose `checkpointer=True` subgraph asks a question and keeps its state across runs."""

    def ask(state: Fan) -> Fan:
        seen.append(list(state.get("log", [])))
        return {"log": [f"answer={interrupt('why?')}"]}

    sub = StateGraph(Fan).add_node("ask", ask).add_edge(START, "ask").compile(checkpointer=True)
    builder = StateGraph(Fan).add_node("prep", lambda state: {}).add_node("sub", sub)
    return builder.add_edge(START, "prep").add_edge("prep", "sub")


async def test_stateful_subgraph_across_savers(make_saver: Callable[..., Checkpointer]) -> None:
    seen: list[list[str]] = []
    builder = stateful_subgraph_parent(seen)
    cfg = config()
    await builder.compile(checkpointer=make_saver()).ainvoke({"log": ["one"]}, cfg)
    state = await builder.compile(checkpointer=make_saver()).aget_state(cfg, subgraphs=True)
    assert state.tasks[0].state.values == {"log": ["one"]}  # the subgraph's own snapshot
    await builder.compile(checkpointer=make_saver()).ainvoke(Command(resume="a"), cfg)

    # A second run continues the subgraph's thread: its first run's end state plus the new input.
    await builder.compile(checkpointer=make_saver()).ainvoke({"log": ["two"]}, cfg)
    second_start = ["one", "answer=a", "one", "one", "answer=a", "two"]
    assert seen == [["one"], ["one"], second_start]
    graph = builder.compile(checkpointer=make_saver())
    sub_cfg = {"configurable": {**cfg["configurable"], "checkpoint_ns": "sub"}}
    sub_sources = [s.metadata["source"] async for s in graph.aget_state_history(sub_cfg)]  # type: ignore[index]
    assert sub_sources == ["loop", "input", "loop", "loop", "input"]

    # Replaying the parent from before the second run's subgraph step: the subgraph loads the state
    # it had before that checkpoint (the first run's end) and takes the input again.
    history = [s async for s in graph.aget_state_history(cfg)]
    before_second = next(s for s in history if s.next == ("sub",))
    replayed = await builder.compile(checkpointer=make_saver()).ainvoke(None, before_second.config)
    assert replayed["__interrupt__"][0].value == "why?" and seen[-1] == second_start
