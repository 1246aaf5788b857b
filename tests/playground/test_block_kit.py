"""The local Slack's Block Kit checks: the inputs of typed forms accepted as Slack accepts them,
and what Slack refuses refused with a pointer at the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.playground.block_kit import block_errors, view_errors
from tests.playground.forms import form_blocks, form_view


def test_a_form_with_every_input_built_by_slack_sdk_is_accepted() -> None:
    assert view_errors(form_view()) == []
    assert block_errors(form_blocks()) == []  # input blocks are allowed in messages too


def element(block_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    blocks = copy.deepcopy(form_blocks())
    index = next(i for i, b in enumerate(blocks) if b["block_id"] == block_id)
    return blocks, blocks[index]["element"]


def pointer(block_id: str, field: str) -> str:
    index = next(i for i, b in enumerate(form_blocks()) if b["block_id"] == block_id)
    return f"[json-pointer:/blocks/{index}/element{field}]"


BAD: list[tuple[str, str, Any, str]] = [
    # block, field, value, where the error points
    ("risk", "is_decimal_allowed", None, "/is_decimal_allowed"),
    ("risk", "initial_value", "2.5", "/initial_value"),  # decimals not allowed
    ("risk", "initial_value", "9", "/initial_value"),  # above max_value
    ("risk", "initial_value", 3, "/initial_value"),  # numbers are strings in Block Kit
    ("risk", "min_value", "6", "/min_value"),  # min above max
    ("ratio", "initial_value", "abc", "/initial_value"),
    ("title", "initial_value", "x" * 81, "/initial_value"),  # longer than max_length
    ("title", "max_length", 3001, "/max_length"),
    ("title", "min_length", 100, "/min_length"),  # above max_length
    (
        "decision",
        "initial_option",
        {"text": {"type": "plain_text", "text": "Maybe"}, "value": "maybe"},
        "/initial_option",
    ),
    ("decision", "options", [], "/options"),
    ("decision", "placeholder", {"type": "mrkdwn", "text": "*pick*"}, "/placeholder/type"),
    ("severity", "initial_option", {"text": {"type": "plain_text", "text": "Mid"}, "value": "mid"}, "/initial_option"),
    (
        "checks",
        "initial_options",
        [{"text": {"type": "plain_text", "text": "Docs!"}, "value": "docs"}],
        "/initial_options/0",
    ),
    ("teams", "max_selected_items", 0, "/max_selected_items"),
    ("day", "initial_date", "2026-13-01", "/initial_date"),
    ("day", "initial_date", "01/12/2026", "/initial_date"),
    ("at", "initial_time", "9:30", "/initial_time"),
    ("at", "timezone", "Mars/Olympus", "/timezone"),
    ("window", "initial_date_time", "1790000000", "/initial_date_time"),
]


@pytest.mark.parametrize(("block_id", "field", "value", "where"), BAD, ids=[f"{b}.{f}" for b, f, *_ in BAD])
def test_what_slack_refuses_is_refused_at_the_field(block_id: str, field: str, value: Any, where: str) -> None:
    blocks, el = element(block_id)
    if value is None:
        del el[field]
    else:
        el[field] = value
    errors = block_errors(blocks)
    assert any(pointer(block_id, where) in e for e in errors), errors


def test_options_past_slacks_counts_and_menu_options_in_mrkdwn_are_refused() -> None:
    blocks, radios = element("severity")
    radios["options"] = [{"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(11)]
    assert any(pointer("severity", "/options") in e for e in block_errors(blocks))
    blocks, select = element("decision")
    select["options"] = [{"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)]
    del select["initial_option"]
    assert any(pointer("decision", "/options") in e for e in block_errors(blocks))
    blocks, select = element("decision")
    select["options"][1]["text"] = {"type": "mrkdwn", "text": "*Hold*"}
    assert any(pointer("decision", "/options/1/text/type") in e for e in block_errors(blocks))
    blocks, checks = element("checks")
    checks["options"][1]["text"] = {"type": "mrkdwn", "text": "*Docs*"}  # fine for checkboxes and radios
    assert block_errors(blocks) == []


def test_elements_only_where_slack_allows_them() -> None:
    blocks = form_blocks()
    blocks[0]["element"] = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Go"}}
    assert "unsupported type `button` in input [json-pointer:/blocks/0/element/type]" in block_errors(blocks)
    text_input = {"type": "plain_text_input", "action_id": "t"}
    actions = [{"type": "actions", "elements": [text_input]}]
    assert block_errors(actions) == [
        "unsupported type `plain_text_input` in actions [json-pointer:/blocks/0/elements/0/type]"
    ]
    no_element = [{"type": "input", "label": {"type": "plain_text", "text": "L"}}]
    assert block_errors(no_element) == ["element is required [json-pointer:/blocks/0/element]"]
    hint = [
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "L"},
            "element": text_input,
            "hint": {"type": "plain_text", "text": "h" * 2001},
        }
    ]
    assert block_errors(hint) == ["must be less than 2001 characters [json-pointer:/blocks/0/hint/text]"]
    optional = [
        {"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": text_input, "optional": "yes"}
    ]
    assert block_errors(optional) == ["must be a boolean [json-pointer:/blocks/0/optional]"]


def test_a_modal_with_inputs_needs_a_submit_button() -> None:
    view = form_view()
    del view["submit"]
    assert "a view with inputs needs submit [json-pointer:/view/submit]" in view_errors(view)
