"""A graph whose pause is a plain JSON question: Slack shows it with Respond."""

from __future__ import annotations

from typing import Any, TypedDict

from engine import END, START, StateGraph, interrupt


class State(TypedDict, total=False):
    answer: Any


def ask(state: State) -> State:
    return {"answer": interrupt({"question": "which?", "options": [1, 2]})}


question_graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)
