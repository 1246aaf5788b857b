"""Rendering by payload, and Block Kit limits enforced visibly (pure functions, checked with the
local Slack's own validator, which answers what Slack would)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.playground.block_kit import block_errors, view_errors
from bot.slack import blocks, limits
from bot.slack.kit import page
from bot.slack.pause import ButtonRef, Pause, PendingInterrupt
from bot.slack.prompts import SlotDecision, TextPrompt, ToolPrompt, ValuePrompt, classify, parse_reply, resume_value

THREAD = "6f1c2a9e-0000-4000-8000-000000000001"
CKPT = "1f0b7c3e-aaaa-6bbb-8ccc-0123456789ab"
IID = "a" * 32


def pause_of(*values: Any, breakpoint: tuple[str, tuple[str, ...]] | None = None, summary: str = "") -> Pause:
    interrupts = tuple(PendingInterrupt(f"{i:032x}", v) for i, v in enumerate(values))
    return Pause(THREAD, CKPT, "agent", "run-1", interrupts, breakpoint, summary)


def buttons(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in rendered if b["type"] == "actions" for e in b["elements"]]


def labels(rendered: list[dict[str, Any]]) -> list[str]:
    return [e["text"]["text"] for e in buttons(rendered)]


def all_text(rendered: list[dict[str, Any]]) -> str:
    return json.dumps(rendered, ensure_ascii=False)


HITL = {
    "action_requests": [
        {"name": "send_email", "args": {"to": "a@example.com"}, "description": "Send it"},
        {"name": "delete_file", "args": {"path": "x.txt"}},
    ],
    "review_configs": [
        {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
        {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
    ],
}
INBOX = [
    {
        "action_request": {"action": "write_file", "args": {"path": "a"}},
        "config": {"allow_ignore": True, "allow_respond": False, "allow_edit": True, "allow_accept": True},
        "description": "Write a file",
    }
]


def test_classify_payload_shapes() -> None:
    assert classify({"text_to_revise": "hi"}) == TextPrompt("hi", "text_to_revise")
    assert classify({"draft": "hi"}) == TextPrompt("hi", "draft")
    hitl = classify(HITL)
    assert isinstance(hitl, ToolPrompt) and hitl.shape == "hitl"
    assert [a.allowed for a in hitl.actions] == [("approve", "edit", "reject", "respond"), ("approve", "reject")]
    inbox = classify(INBOX)
    assert (
        isinstance(inbox, ToolPrompt)
        and inbox.shape == "inbox"
        and inbox.actions[0].allowed == ("approve", "edit", "reject")
    )
    assert classify({"a": 1, "b": "x"}) == ValuePrompt({"a": 1, "b": "x"})
    assert classify("Proceed?") == ValuePrompt("Proceed?")
    per_call = classify({"type": "tool_approval", "tool_call_id": "c1", "name": "rm", "args": {}})
    assert isinstance(per_call, ToolPrompt) and per_call.shape == "tool_approval"


def test_text_revision_message_has_the_text_approve_and_edit() -> None:
    rendered = blocks.pause_blocks(pause_of({"text_to_revise": "original <text>"}))
    assert labels(rendered) == ["Approve", "Edit"]
    assert "original &lt;text&gt;" in all_text(rendered)
    assert block_errors(rendered) == []


def test_buttons_carry_only_ids() -> None:
    secret = "payload-that-must-not-travel-" * 10
    rendered = blocks.pause_blocks(pause_of({"text_to_revise": secret}))
    for b in buttons(rendered):
        assert secret not in b["value"]
        ref = ButtonRef.decode(b["value"])
        assert ref is not None and (ref.thread_id, ref.checkpoint_id, ref.interrupt_id) == (THREAD, CKPT, f"{0:032x}")


def test_tool_review_shows_each_action_with_only_its_decisions() -> None:
    rendered = blocks.pause_blocks(pause_of(HITL))
    assert labels(rendered) == ["Approve", "Edit", "Reject", "Respond", "Approve", "Reject"]
    text = all_text(rendered)
    assert "send_email" in text and "delete_file" in text and "a@example.com" in text
    assert block_errors(rendered) == []


def test_breakpoint_message() -> None:
    rendered = blocks.pause_blocks(pause_of(breakpoint=("before", ("node_b",)), summary='{"steps": ["a"]}'))
    assert labels(rendered) == ["Continue"]
    assert "Paused before `node_b`" in all_text(rendered)


def test_a_pause_notification_says_what_it_waits_for() -> None:
    """The message's text (notifications, clients without Block Kit) names the breakpoint's node."""
    at_breakpoint = pause_of(breakpoint=("after", ("draft", "review")), summary="{}")
    assert blocks.pause_text(at_breakpoint) == f"{at_breakpoint.assistant_id} paused after draft, review: Continue?"
    asking = pause_of({"text_to_revise": "a"})
    assert blocks.pause_text(asking) == f"{asking.assistant_id} is waiting for a decision"


def test_other_values_are_code_and_respond() -> None:
    rendered = blocks.pause_blocks(pause_of({"question": 1, "options": [1, 2]}))
    assert labels(rendered) == ["Respond"]
    assert "```" in all_text(rendered)


def test_parallel_interrupts_share_one_message() -> None:
    rendered = blocks.pause_blocks(pause_of({"text_to_revise": "a"}, {"text_to_revise": "b"}))
    assert labels(rendered) == ["Approve", "Edit", "Approve", "Edit"]
    assert len({b["action_id"] for b in buttons(rendered)}) == 4
    assert block_errors(rendered) == []


def test_resume_values_in_the_shapes_callers_expect() -> None:
    hitl = classify(HITL)
    decisions = [SlotDecision("edit", {"to": "b@example.com"}, "U1"), SlotDecision("reject", "no", "U1")]
    assert resume_value(hitl, decisions) == {
        "decisions": [
            {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "b@example.com"}}},
            {"type": "reject", "message": "no"},
        ]
    }
    assert resume_value(hitl, [SlotDecision("approve"), SlotDecision("respond", "later")]) == {
        "decisions": [{"type": "approve"}, {"type": "respond", "message": "later"}]
    }
    inbox = classify(INBOX)
    assert resume_value(inbox, [SlotDecision("approve")]) == [{"type": "accept", "args": None}]
    assert resume_value(inbox, [SlotDecision("edit", {"path": "b"})]) == [
        {"type": "edit", "args": {"action": "write_file", "args": {"path": "b"}}}
    ]
    assert resume_value(inbox, [SlotDecision("reject")]) == [{"type": "ignore", "args": None}]
    assert resume_value(TextPrompt("t"), [SlotDecision("approve")]) == "t"
    assert resume_value(TextPrompt("t"), [SlotDecision("edit", "u")]) == "u"
    assert parse_reply('{"a": 1}') == {"a": 1} and parse_reply("plain words") == "plain words"


# --- limits -------------------------------------------------------------------------------------


def test_huge_text_is_truncated_visibly_within_limits() -> None:
    huge = "x" * 50_000
    rendered = blocks.pause_blocks(pause_of({"text_to_revise": huge}))
    assert block_errors(rendered) == []
    assert limits.TRUNCATED in all_text(rendered)
    assert all(len(b["text"]["text"]) <= limits.SECTION_TEXT for b in rendered if b["type"] == "section")


def test_huge_tool_args_and_many_actions_take_several_messages_each_under_fifty_blocks() -> None:
    many = {
        "action_requests": [{"name": f"tool_{i}", "args": {"blob": "y" * 5000}} for i in range(40)],
        "review_configs": [],
    }
    pause = pause_of(many)
    body = blocks.pause_blocks(pause)
    assert [len(p) for p in pause.pages(0)] == [14, 14, 12] and pause.units() == [(0, 0), (0, 1), (0, 2)]
    pages = [page(body, k) for k in range(3)]
    for rendered in pages:
        assert len(rendered) <= limits.MESSAGE_BLOCKS and block_errors(rendered) == []
        assert limits.TRUNCATED in all_text(rendered[:4])  # each action's arguments are cut visibly
    # every call keeps its buttons, in its own message; none is left out
    slots = [b["value"].split("|")[3] for rendered in pages for b in buttons(rendered) if b["text"]["text"] == "Approve"]
    assert slots == [f"0.{i}" for i in range(40)]
    assert "Message 2 of 3" in all_text(pages[1])


@pytest.mark.parametrize(
    "values",
    [
        [{"question": f"q{i}"} for i in range(30)],  # texts to revise (Send fan-out, each asks)
        [{"question": f"q{i}", "n": i} for i in range(30)],  # JSON questions
        [{"action_requests": [{"name": f"t{p}_{i}", "args": {"a": i}} for i in range(10)], "review_configs": []}
         for p in range(3)],  # several reviews of several calls
    ],
    ids=["texts", "questions", "reviews"],
)
def test_many_pending_interrupts_keep_every_button_within_fifty_blocks(values: list[Any]) -> None:
    """Many parallel pauses in one step share one group: its messages must show every slot's buttons,
    before and after decisions, with nothing cut (a slot without buttons could never be decided)."""
    pause = pause_of(*values)
    slots = pause.group_slots(0)
    edited = {slot: SlotDecision("edit" if i % 2 else "respond", {"long": "v" * 40}, "U1") for i, slot in enumerate(slots)}
    for decided in ({}, edited):
        body = blocks.pause_blocks(pause, decided)
        shown: list[str] = []
        for k in range(len(pause.pages(0))):
            rendered = page(body, k)
            assert len(rendered) <= limits.MESSAGE_BLOCKS and block_errors(rendered) == []
            assert limits.TRUNCATED not in all_text(rendered), (k, len(rendered))
            shown += [b["block_id"].removeprefix("sluice.") for b in rendered if b["type"] == "actions"]
        if not decided:
            assert shown == slots  # every slot has its buttons, once


def test_long_names_clip_button_text_and_modal_title() -> None:
    name = "n" * 300
    prompt_value = {"action_requests": [{"name": name, "args": {}}], "review_configs": []}
    pause = pause_of(prompt_value)
    rendered = blocks.pause_blocks(pause)
    assert block_errors(rendered) == []
    ref = ButtonRef(THREAD, CKPT, f"{0:032x}", "0.0", "reject")
    view = blocks.decision_modal(pause, ref)
    assert view_errors(view) == []
    assert len(view["title"]["text"]) <= limits.MODAL_TITLE


def test_private_metadata_is_ids_only_and_within_limit() -> None:
    pause = pause_of({"text_to_revise": "z" * 9000})
    view = blocks.decision_modal(pause, ButtonRef(THREAD, CKPT, IID, "0.0", "edit"))
    assert len(view["private_metadata"]) < 200
    assert view_errors(view) == []


@pytest.mark.parametrize("length", [10, 3000, 3001, 9000, 59_999])
def test_long_edit_is_split_across_inputs_never_cut(length: int) -> None:
    text = "".join(chr(97 + i % 26) for i in range(length))
    pause = pause_of({"text_to_revise": text})
    view = blocks.decision_modal(pause, ButtonRef(THREAD, CKPT, IID, "0.0", "edit"))
    assert view_errors(view) == []
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(inputs) == -(-length // limits.INPUT_MAX)
    values = {b["block_id"]: {"value": {"value": b["element"].get("initial_value", "")}} for b in inputs}
    joined, errors = blocks.read_parts(values)
    assert errors == {} and joined == text


def test_edit_too_long_for_a_modal_is_read_only_with_a_note() -> None:
    text = "q" * 70_000
    view = blocks.decision_modal(pause_of({"text_to_revise": text}), ButtonRef(THREAD, CKPT, IID, "0.0", "edit"))
    assert "submit" not in view
    assert "too long to edit in Slack" in all_text(view["blocks"])
    assert view_errors(view) == []


def test_over_long_part_is_refused() -> None:
    joined, errors = blocks.read_parts({"part.0": {"value": {"value": "w" * 3001}}})
    assert "part.0" in errors


def test_decided_message_has_who_when_and_no_buttons() -> None:
    pause = pause_of({"text_to_revise": "t"})
    rendered = blocks.decided_blocks(pause, {"0.0": SlotDecision("edit", "new text", "U123")}, 1_700_000_000)
    assert buttons(rendered) == []
    text = all_text(rendered)
    assert "<@U123>" in text and "Edited" in text and "new text" in text and "<!date^1700000000" in text
    assert block_errors(rendered) == []


def test_code_fences_survive_truncation_and_backticks() -> None:
    block = blocks.code("```" * 2000)
    text = block["text"]["text"]
    assert text.startswith("```") and text.endswith("```") and len(text) <= limits.SECTION_TEXT
