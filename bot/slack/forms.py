"""Pauses with a `response_schema`: the question in the message, the form in a modal, the answer
read back and checked, and shown field by field once decided.

A per-call tool approval's **Edit** is a form too: the tool's own argument schema, pre-filled
with the arguments the model chose. Schemas are built into forms by `form_schema`, rendered by
`form_blocks` and checked by `form_check`; this module puts them in front of a person.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.slack import limits
from bot.slack.form_blocks import field_blocks, read_answer
from bot.slack.form_check import check
from bot.slack.form_schema import MISSING, Field, Form, SchemaError, build_form
from bot.slack.kit import Block, code, context, escape, modal, quote, section, to_json
from bot.slack.pause import ButtonRef
from bot.slack.prompts import FormPrompt, SlotDecision, ToolAction, tool_decision

Errors = dict[str, str]


def question_blocks(prompt: FormPrompt) -> list[Block]:
    """What the graph asks: its text (a string, or a mapping's `question`) else its JSON."""
    out = [section("*The graph asks:*")]
    question = _question_text(prompt.question)
    out.append(quote(question) if question is not None else code(to_json(prompt.question)))
    form = _form_or_none(prompt.schema)
    about = " — ".join(escape(t) for t in (form.title, form.description) if t) if form else ""
    out.append(context(f"Answer with the form: {about}" if about else "Answer with the form."))
    return out


def _question_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("question", "message", "prompt", "text"):
            if isinstance(value.get(key), str) and len(value) <= 2:
                return str(value[key])
    return None


def _form_or_none(schema: Mapping[str, Any], initial: Any = MISSING) -> Form | None:
    try:
        return build_form(schema, initial)
    except SchemaError:
        return None


# --- modals --------------------------------------------------------------------------------------


def answer_modal(ref: ButtonRef, prompt: FormPrompt) -> Block:
    form = _form_or_none(prompt.schema)
    if form is None:
        return modal(ref, "Answer", "This pause's response schema cannot be read; answer it through the API.", [], None)
    question = _question_text(prompt.question)
    intro = limits.clip(escape(question), 1500) if question else None
    if form.description:
        intro = f"{intro}\n_{escape(form.description)}_" if intro else f"_{escape(form.description)}_"
    return modal(ref, form.title or "Answer", intro, field_blocks(form), "Send")


def edit_form(action: ToolAction) -> Form | None:
    """The typed form of a tool's arguments, or None when the pause did not say what they must be."""
    if action.args_schema is None:
        return None
    return _form_or_none(action.args_schema, action.args if isinstance(action.args, Mapping) else MISSING)


def edit_modal(ref: ButtonRef, action: ToolAction, form: Form) -> Block:
    intro = f"Arguments of `{escape(action.name)}`, as the agent proposed them. Change what you need."
    return modal(ref, f"Edit {action.name}", intro, field_blocks(form), "Save")


# --- submissions ---------------------------------------------------------------------------------


def read_form(form: Form, state_values: Mapping[str, Any]) -> tuple[Any, Errors]:
    """The answer, or field errors (input that does not parse first, then the schema's verdict)."""
    answer, errors = read_answer(form, state_values)
    if errors:
        return None, errors
    try:
        errors = check(form, answer)
    except SchemaError as exc:  # the graph published a schema that is not one: say so, send nothing
        text = limits.clip(f"This pause's response schema cannot be checked: {exc}", 300)
        return None, {first_block(state_values): text}
    return (None, errors) if errors else (answer, {})


def answer_value(prompt: FormPrompt, state_values: Mapping[str, Any]) -> tuple[Any, Errors]:
    form = _form_or_none(prompt.schema)
    if form is None:
        return None, {first_block(state_values): "This pause's response schema cannot be read."}
    return read_form(form, state_values)


def edit_value(action: ToolAction, form: Form, state_values: Mapping[str, Any]) -> tuple[Any, Errors]:
    args, errors = read_form(form, state_values)
    if errors:
        return None, errors
    return args, decision_errors(action, SlotDecision("edit", args), state_values)


def decision_errors(action: ToolAction, decision: SlotDecision, state_values: Mapping[str, Any]) -> Errors:
    """The whole per-call decision checked against the pause's schema (what the engine will check)."""
    if action.schema is None:
        return {}
    made = tool_decision(action, decision)
    whole = Form((Field(None, "json", "Decision"),), action.schema)
    try:
        problems = check(whole, made)
    except SchemaError:
        return {}
    return {first_block(state_values): f"The answer does not fit this pause: {p}" for p in problems.values()}


def first_block(state_values: Mapping[str, Any]) -> str:
    """Where to show an error about the whole form: its first input."""
    return next(iter(state_values), "part.0")


# --- after the decision --------------------------------------------------------------------------


def answered_blocks(schema: Mapping[str, Any] | None, value: Any) -> list[Block]:
    """The answer field by field (label: value), in the form's order."""
    form = _form_or_none(schema) if schema is not None else None
    if form is None or not form.is_object or not isinstance(value, Mapping):
        shown = value if isinstance(value, str) else to_json(value)
        return [code(shown) if not isinstance(value, str) else quote(shown)]
    lines = [
        f"*{escape(f.label)}:* {_shown(f, value[f.key])}" for f in form.fields if f.key is not None and f.key in value
    ]
    known = {f.key for f in form.fields}
    lines += [f"*{escape(str(k))}:* {_shown(None, v)}" for k, v in value.items() if k not in known]
    return [section("\n".join(lines) or "_(empty)_")]


def _shown(field: Field | None, value: Any) -> str:
    if value is None:
        return "_(empty)_"
    if field is not None and field.choices:
        labels = {json.dumps(c.value): c.label for c in field.choices}
        items = value if field.kind == "multi_choice" and isinstance(value, list) else [value]
        named = [labels.get(json.dumps(v), json.dumps(v, ensure_ascii=False)) for v in items]
        return escape(", ".join(named)) if named else "_(none)_"
    if isinstance(value, str):
        text = limits.clip(escape(value), 500)
        return text if "\n" not in text else "\n>" + text.replace("\n", "\n>")
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return f"`{limits.clip(escape(json.dumps(value, ensure_ascii=False)), 500)}`"
