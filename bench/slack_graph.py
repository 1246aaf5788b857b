"""The graph bench/slack.py serves: it pauses, and after each decision pauses again (until someone
answers "stop"), so every click is followed by a resume, a chat.update and a new pause message."""

from __future__ import annotations

from typing import TypedDict

from engine import END, StateGraph, interrupt


class State(TypedDict):
    text: str


def review(state: State) -> dict[str, str]:
    return {"text": interrupt({"text_to_revise": state["text"]})}


def again(state: State) -> str:
    return "review" if state["text"] != "stop" else END


builder = StateGraph(State)
builder.add_node("review", review)
builder.set_entry_point("review")
builder.add_conditional_edges("review", again, ["review", END])
graph = builder.compile()
