"""Differential: engine.drawing.graph_json draws the same nodes and edges as LangGraph's
`get_graph(xray=...).to_json()` for the same graph (edges compared as sets, LangGraph sorts them)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import pytest

from engine.drawing import graph_json

from .harness import LANGGRAPH, OURS, Api


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    n: int


def step(name: str) -> Callable[[S], S]:
    def run(state: S) -> S:
        return {"log": [name]}
    return run


def seed(api: Api) -> Any:
    return api.StateGraph(S).add_node("a", step("a")).add_edge(api.START, "a")


def chain_with_join(api: Api) -> Any:
    return (api.StateGraph(S).add_node("a", step("a")).add_node("b", step("b")).add_node("c", step("c"))
            .add_edge(api.START, "a").add_edge(api.START, "b").add_edge(["a", "b"], "c").add_edge("c", api.END))


def route(state: S) -> Literal["b", "c"]:
    return "b"


def literal_branch(api: Api) -> Any:
    return (api.StateGraph(S).add_node("a", step("a")).add_node("b", step("b")).add_node("c", step("c"))
            .add_edge(api.START, "a").add_conditional_edges("a", route).add_edge("b", api.END))


def mapped_branch_to_end(api: Api) -> Any:
    return (api.StateGraph(S).add_node("a", step("a")).add_node("b", step("b"))
            .add_edge(api.START, "a").add_conditional_edges("a", lambda s: "go", {"go": "b", "stop": api.END}))


def conditional_entry(api: Api) -> Any:
    return (api.StateGraph(S).add_node("a", step("a")).add_node("b", step("b"))
            .set_conditional_entry_point(lambda s: "a", ["a", "b"]).add_edge("a", api.END).add_edge("b", api.END))


def command_goto(api: Api) -> Any:
    def a(state: S) -> Any:
        return api.Command(goto="b")
    a.__annotations__["return"] = api.Command[Literal["b", "c"]]
    return (api.StateGraph(S).add_node("a", a).add_node("b", step("b")).add_node("c", step("c"))
            .add_edge(api.START, "a"))


def nested(api: Api) -> Any:
    innermost = api.StateGraph(S).add_node("x", step("x")).add_edge(api.START, "x").compile()
    inner = (api.StateGraph(S).add_node("deep", innermost).add_node("y", step("y"))
             .add_edge(api.START, "deep").add_edge("deep", "y").compile())
    return (api.StateGraph(S).add_node("a", step("a")).add_node("sub", inner).add_node("z", step("z"))
            .add_edge(api.START, "a").add_edge("a", "sub").add_edge("sub", "z").add_edge("z", api.END))


def breakpoints_and_metadata(api: Api) -> Any:
    return (api.StateGraph(S).add_node("a", step("a"), metadata={"team": "ops"}).add_node("b", step("b"))
            .add_edge(api.START, "a").add_edge("a", "b"))


GRAPHS = [seed, chain_with_join, literal_branch, mapped_branch_to_end, conditional_entry, command_goto, nested]


def _shape(drawn: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    return (sorted(repr(sorted(n.items())) for n in drawn["nodes"]),
            sorted(repr(sorted(e.items())) for e in drawn["edges"]))


def _langgraph(build: Callable[[Api], Any], xray: bool | int, **compile_options: Any) -> dict[str, Any]:
    drawn = build(LANGGRAPH).compile(**compile_options).get_graph(xray=xray).to_json()
    for node in drawn["nodes"]:
        if isinstance(node.get("data"), dict):  # the server drops the runnable's id
            node["data"] = {"name": node["data"]["name"]}
    return drawn


@pytest.mark.parametrize("build", GRAPHS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("xray", [False, 1, True])
def test_drawing_matches_langgraph(build: Callable[[Api], Any], xray: bool | int) -> None:
    assert _shape(graph_json(build(OURS).compile(), xray)) == _shape(_langgraph(build, xray))


def test_breakpoints_and_node_metadata_are_node_metadata() -> None:
    options = {"interrupt_before": ["a"], "interrupt_after": ["a", "b"]}
    ours = graph_json(breakpoints_and_metadata(OURS).compile(**options))
    assert _shape(ours) == _shape(_langgraph(breakpoints_and_metadata, False, **options))
    assert ours["nodes"][1]["metadata"] == {"team": "ops", "__interrupt": "before,after"}
