"""Runs started from the playground's sidebar tell what happened after a decision, as in Slack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.playground.conftest import Playground
from tests.playground.test_page_api import Message, buttons, post, press, text_of, wait_for

pytestmark = pytest.mark.e2e  # starts Sluice processes

def test_a_sidebar_run_approved_gets_its_finished_reply_and_headline(shared_playground: Playground) -> None:
    thread_id = post(shared_playground, "/playground/api/start", {"example": "text_revision"})["thread_id"]
    paused = wait_for(
        shared_playground,
        lambda s: next((m for m in s["messages"] if thread_id in text_of(m) and "Approve" in buttons(m)), None),
    )
    press(shared_playground, paused, "Approve")

    def told(state: dict[str, Any]) -> tuple[Message, list[Message]] | None:
        mine = next(m for m in state["messages"] if m["ts"] == paused["ts"])
        replies = [m for m in state["messages"] if m.get("thread_ts") == paused["ts"] and m["ts"] != paused["ts"]]
        return (mine, replies) if replies and "finished" in mine["blocks"][0]["text"]["text"] else None

    updated, replies = wait_for(shared_playground, told)
    assert [r["text"] for r in replies] == ["text_revision finished"]
    assert "waiting for you" not in updated["blocks"][0]["text"]["text"] and not buttons(updated)


def test_an_answer_the_graph_refuses_is_explained_without_pydantics_programmer_text(
    shared_playground: Playground,
) -> None:
    """'hold' without a reason: release_decision's schema refuses it (a model validator, which the
    form cannot check); the private note said so in pydantic's words: '[type=value_error,
    input_value=...]' and 'For further information visit https://errors.pydantic.dev/...'."""
    thread_id = post(shared_playground, "/playground/api/start", {"example": "release_decision"})["thread_id"]
    paused = wait_for(
        shared_playground,
        lambda s: next((m for m in s["messages"] if thread_id in text_of(m) and "Answer" in buttons(m)), None),
    )
    block_id, answer = buttons(paused)["Answer"]
    post(
        shared_playground,
        "/playground/api/click",
        {"channel": paused["channel"], "ts": paused["ts"], "action_id": answer["action_id"], "block_id": block_id,
         "value": answer["value"], "tab": "refused"},
    )
    view = wait_for(shared_playground, lambda s: s["views"][-1] if s["views"] else None, tab="refused")
    hold = {"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": "hold"}, "value": "1"}}
    values = {
        "field.0": {"value": hold},
        "field.1": {"value": {"type": "number_input", "value": "3"}},
        "field.2": {"value": {"type": "plain_text_input", "value": None}},
        "field.3": {"value": {"type": "plain_text_input", "value": None}},
    }
    assert post(shared_playground, "/playground/api/submit", {"view_id": view["id"], "values": values})["ok"]

    note = wait_for(
        shared_playground,
        lambda s: next(
            (m for m in s["messages"] if m.get("ephemeral") and float(m["ts"]) > float(paused["ts"])
             and "refused your answer" in m["text"]),
            None,
        ),
    )
    assert "say why the release is held" in note["text"]
    assert "[type=" not in note["text"] and "For further information" not in note["text"], note["text"]
    assert "Value error" not in note["text"]
