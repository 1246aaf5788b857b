"""What a submitted decision modal says: the decision it makes, or the field errors to show in it.

Pure: the pause and who may decide it are checked before (`Decisions.validate_submission`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.slack import blocks, forms
from bot.slack.pause import ButtonRef
from bot.slack.prompts import (
    NULL_REPLY,
    FormPrompt,
    Prompt,
    SlotDecision,
    TextPrompt,
    ToolPrompt,
    ValuePrompt,
    parse_reply,
)

FIRST_INPUT = "part.0"


def read(
    prompt: Prompt, ref: ButtonRef, user: str, state_values: Mapping[str, Any]
) -> tuple[dict[str, str], SlotDecision | None]:
    """The decision `user` submitted for `ref`'s slot of `prompt`, or field errors (and None)."""
    typed = _typed_value(prompt, ref, state_values)
    if typed is not None:
        answer, problems = typed
        if problems:
            return problems, None
        return {}, SlotDecision(ref.decision, answer, user)  # type: ignore[arg-type]
    text, errors = blocks.read_parts(state_values)
    if errors:
        return errors, None
    value: Any
    if ref.decision == "edit" and isinstance(prompt, TextPrompt):
        if not text.strip():
            return {FIRST_INPUT: "The text cannot be empty. Write the revised text, or close this and Approve."}, None
        value = text
    elif ref.decision == "edit" and isinstance(prompt, ToolPrompt):
        try:
            value = json.loads(text)
        except ValueError as exc:
            return {FIRST_INPUT: f"Not valid JSON: {exc}"}, None
        original = prompt.actions[ref.slot_index].args
        if isinstance(original, Mapping) and not isinstance(value, dict):
            return {FIRST_INPUT: "The arguments must be a JSON object, like the original ones."}, None
    elif ref.decision == "reject":
        value = text.strip() or None
    elif ref.decision == "respond":
        if not text.strip():
            return {FIRST_INPUT: "Write a reply first."}, None
        value = parse_reply(text) if isinstance(prompt, ValuePrompt) else text
        if value is None:
            return {FIRST_INPUT: NULL_REPLY}, None
    else:
        return {FIRST_INPUT: "This form does not match the pause any more."}, None
    decision = SlotDecision(ref.decision, value, user)  # type: ignore[arg-type]
    if isinstance(prompt, ToolPrompt) and prompt.shape == "tool_approval":
        errors = forms.decision_errors(prompt.actions[ref.slot_index], decision, state_values)
        if errors:
            return errors, None
    return {}, decision


def _typed_value(prompt: Prompt, ref: ButtonRef, state_values: Mapping[str, Any]) -> tuple[Any, dict[str, str]] | None:
    """A form's answer or a typed edit's arguments (with field errors); None for the other modals."""
    if ref.decision == "answer" and isinstance(prompt, FormPrompt):
        return forms.answer_value(prompt, state_values)
    if ref.decision == "edit" and isinstance(prompt, ToolPrompt):
        action = prompt.actions[ref.slot_index]
        form = forms.edit_form(action)
        if form is not None:
            return forms.edit_value(action, form, state_values)
    return None
