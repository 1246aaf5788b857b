"""Three steps with a compile-time breakpoint: the notification flow.

The graph stops before `node_b` (a static breakpoint); Sluice posts "Paused before node_b" with a
Continue button. Per-run breakpoints work too: `interrupt_before=["node_a"]`,
`interrupt_after=["node_b", "node_c"]` on `runs.wait`.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from engine import END, START, StateGraph


class State(TypedDict, total=False):
    input: str
    steps: Annotated[list[str], operator.add]


def node_a(state: State) -> dict[str, list[str]]:
    return {"steps": ["a"]}


def node_b(state: State) -> dict[str, list[str]]:
    return {"steps": ["b"]}


def node_c(state: State) -> dict[str, list[str]]:
    return {"steps": ["c"]}


builder = StateGraph(State)
builder.add_node("node_a", node_a)
builder.add_node("node_b", node_b)
builder.add_node("node_c", node_c)
builder.add_edge(START, "node_a")
builder.add_edge("node_a", "node_b")
builder.add_edge("node_b", "node_c")
builder.add_edge("node_c", END)

# The unpaused graph, for per-run breakpoints (the LangGraph server's seed example).
graph = builder.compile()
# The notification flow: always stops before node_b.
notify_graph = builder.compile(interrupt_before=["node_b"])
