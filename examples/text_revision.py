"""A person revises a proposed text before the graph goes on.

`human_node` pauses with `{"text_to_revise": ...}`; the resume value becomes the new text.
In Slack this is a message with Approve (keep the text) and Edit (a modal to change it).
"""

from __future__ import annotations

from typing import TypedDict

from engine import START, StateGraph, interrupt


class State(TypedDict):
    some_text: str


def human_node(state: State) -> dict[str, str]:
    value = interrupt({"text_to_revise": state["some_text"]})
    return {"some_text": value}


builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_edge(START, "human_node")

graph = builder.compile()
