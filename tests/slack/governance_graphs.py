"""Graphs for the governance tests: a text to revise, and a tool call in LangChain's
HumanInTheLoopMiddleware shape; each returns what its pause was resumed with."""

from __future__ import annotations

from typing import Any, TypedDict

from engine import END, START, StateGraph, interrupt


class State(TypedDict, total=False):
    text: str
    answer: Any


def review(state: State) -> State:
    return {"answer": interrupt({"text_to_revise": state.get("text", "")})}


def approve_call(state: State) -> State:
    request = {
        "action_requests": [{"name": "deploy", "args": {"service": state.get("text", "")}, "description": "Deploy"}],
        "review_configs": [{"action_name": "deploy", "allowed_decisions": ["approve", "edit", "reject"]}],
    }
    return {"answer": interrupt(request)}


text_graph = StateGraph(State).add_node("review", review).add_edge(START, "review").add_edge("review", END)
tool_graph = (
    StateGraph(State).add_node("approve_call", approve_call).add_edge(START, "approve_call").add_edge("approve_call", END)
)
