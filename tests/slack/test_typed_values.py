"""Interrupt values that are not plain JSON (a pydantic model, an enum, a date) are shown in Slack as
the HTTP API shows them: their JSON, not Python's repr of the object."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any, TypedDict

import pydantic

from engine import START, StateGraph, interrupt
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button, make_env


class Draft(pydantic.BaseModel):
    text_to_revise: str


class Level(enum.Enum):
    HIGH = "high"


class Change(pydantic.BaseModel):
    title: str
    due: datetime.date
    level: Level


class State(TypedDict, total=False):
    kind: str
    answer: Any


def ask(state: State) -> State:
    if state.get("kind") == "draft":
        return {"answer": interrupt(Draft(text_to_revise="hello there"))}
    return {"answer": interrupt(Change(title="ship it", due=datetime.date(2026, 12, 1), level=Level.HIGH))}


asking = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()


async def test_a_model_payload_is_shown_and_decided_as_its_json(redis_client: Any) -> None:
    env, close = await make_env(redis_client, extra_graphs={"asking": asking})
    try:
        thread = await env.start("asking", {"kind": "change"})
        shown = json.dumps(env.pause_message(thread).blocks)
        assert '\\"title\\": \\"ship it\\"' in shown and '\\"due\\": \\"2026-12-01\\"' in shown, shown
        assert '\\"level\\": \\"high\\"' in shown and "title=" not in shown and "Level." not in shown, shown

        thread = await env.start("asking", {"kind": "draft"})  # one string field: a text to revise
        message = env.pause_message(thread)
        assert "hello there" in json.dumps(message.blocks) and "Edit" in json.dumps(message.blocks)
        await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await env.settle()
        assert (await env.state(thread, "asking")).values["answer"] == "hello there"
        assert action_ids(env.slack.message(CHANNEL, message.ts)) == []
    finally:
        await close()
