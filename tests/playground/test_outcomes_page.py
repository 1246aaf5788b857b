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
