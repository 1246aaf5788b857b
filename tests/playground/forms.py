"""A modal holding every input a form from a `response_schema` uses, built with slack_sdk's models."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DatePickerElement,
    DateTimePickerElement,
    EmailInputElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
    UrlInputElement,
)
from slack_sdk.models.views import View

SHIP, HOLD = Option(value="ship", text="Ship it"), Option(value="hold", text="Hold")
LOW, HIGH = Option(value="low", text="Low"), Option(value="high", text="High")
TEAMS = [Option(value=t, text=t.title()) for t in ("web", "api", "ops")]
CHECKS = [Option(value="tests", text="Tests pass", description="CI is green"), Option(value="docs", text="Docs")]


def form_blocks() -> list[dict[str, Any]]:
    """One input block per element kind, with labels, hints, initial values and optional fields."""
    blocks = [
        InputBlock(
            block_id="decision",
            label="Decision",
            hint="Ship now, or hold the release",
            element=StaticSelectElement(action_id="value", options=[SHIP, HOLD], initial_option=SHIP),
        ),
        InputBlock(
            block_id="risk",
            label="Risk (1-5)",
            element=NumberInputElement(action_id="value", is_decimal_allowed=False, min_value="1", max_value="5"),
        ),
        InputBlock(
            block_id="ratio",
            label="Rollout share",
            optional=True,
            element=NumberInputElement(action_id="value", is_decimal_allowed=True, initial_value="0.5"),
        ),
        InputBlock(block_id="reason", label="Reason", element=PlainTextInputElement(action_id="value", multiline=True)),
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(action_id="value", initial_value="v1.2", max_length=80),
        ),
        InputBlock(
            block_id="severity", label="Severity", element=RadioButtonsElement(action_id="value", options=[LOW, HIGH])
        ),
        InputBlock(
            block_id="checks",
            label="Checks",
            optional=True,
            element=CheckboxesElement(action_id="value", options=CHECKS, initial_options=[CHECKS[0]]),
        ),
        InputBlock(
            block_id="teams",
            label="Teams",
            optional=True,
            element=StaticMultiSelectElement(action_id="value", options=TEAMS),
        ),
        InputBlock(
            block_id="day", label="Day", element=DatePickerElement(action_id="value", initial_date="2026-12-01")
        ),
        InputBlock(block_id="at", label="At", element=TimePickerElement(action_id="value", initial_time="09:30")),
        InputBlock(
            block_id="window",
            label="Window opens",
            optional=True,
            element=DateTimePickerElement(action_id="value", initial_date_time=1_790_000_000),
        ),
        InputBlock(block_id="owner", label="Owner", optional=True, element=EmailInputElement(action_id="value")),
        InputBlock(block_id="link", label="Link", optional=True, element=UrlInputElement(action_id="value")),
    ]
    return [b.to_dict() for b in blocks]


def form_view() -> dict[str, Any]:
    view = View(type="modal", callback_id="form", title="Release", submit="Decide", blocks=form_blocks())
    return view.to_dict()
