"""A form's fields as Block Kit inputs, and a submitted modal's `state.values` read back as JSON.

One input block per field, `block_id` `field.<n>` and `action_id` `value`, so a field error
(`response_action: errors`) lands under its input. Options carry their index as value (Slack caps
an option value at 150 characters; enum members can be any JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.slack import limits
from bot.slack.form_schema import FEW_OPTIONS, MISSING, Choice, Field, Form

Block = dict[str, Any]
BLOCK_PREFIX = "field."
FIELD_BLOCK = re.compile(r"^field\.[0-9]+$")  # the inputs of a form, in order
ACTION = "value"
PLACEHOLDER = 150


def block_id(index: int) -> str:
    return f"{BLOCK_PREFIX}{index}"


def _plain(text: str, limit: int = limits.INPUT_LABEL) -> Block:
    return {"type": "plain_text", "text": limits.clip(text, limit, "…")}


def _option(index: int, choice: Choice) -> Block:
    return {"text": _plain(choice.label, 75), "value": str(index)}


def _index_of(field: Field, value: Any) -> int | None:
    return next((i for i, c in enumerate(field.choices) if type(c.value) is type(value) and c.value == value), None)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def field_blocks(form: Form) -> list[Block]:
    return [field_block(i, f) for i, f in enumerate(form.fields)]


def field_block(index: int, field: Field) -> Block:
    if field.kind == "fixed":  # too long to edit in Slack: shown (cut) and sent back unchanged
        shown = field.initial if isinstance(field.initial, str) else json.dumps(field.initial, ensure_ascii=False)
        text = f"*{_escape(field.label)}* (too long to edit here; kept as it is)\n" + _escape(shown)
        shown_text = {"type": "mrkdwn", "text": limits.clip(text, 2900)}
        return {"type": "section", "block_id": block_id(index), "text": shown_text}
    block: Block = {
        "type": "input",
        "block_id": block_id(index),
        "label": _plain(field.label),
        "optional": not field.must_fill,
        "element": {**_element(field), "action_id": ACTION},
    }
    if field.hint:
        block["hint"] = _plain(field.hint)
    return block


def _element(field: Field) -> Block:
    kind, initial = field.kind, field.initial
    has = initial is not MISSING
    if kind in ("choice", "boolean"):
        options = [_option(i, c) for i, c in enumerate(field.choices)]
        few = kind == "boolean" or len(options) <= FEW_OPTIONS
        element: Block = {"type": "radio_buttons" if few else "static_select", "options": options}
        if not few:
            element["placeholder"] = _plain("Choose…", PLACEHOLDER)
        chosen = _index_of(field, initial) if has else None
        if chosen is not None:
            element["initial_option"] = options[chosen]
        return element
    if kind == "multi_choice":
        options = [_option(i, c) for i, c in enumerate(field.choices)]
        few = len(options) <= FEW_OPTIONS
        element = {"type": "checkboxes" if few else "multi_static_select", "options": options}
        if not few:
            element["placeholder"] = _plain("Choose…", PLACEHOLDER)
            if field.max_items:
                element["max_selected_items"] = field.max_items
        picked = [options[i] for i in (_index_of(field, v) for v in (initial if has else [])) if i is not None]
        if picked:
            element["initial_options"] = picked
        return element
    if kind == "number":
        element = {"type": "number_input", "is_decimal_allowed": not field.integer}
        if field.minimum is not None:
            element["min_value"] = _number_text(field.minimum)
        if field.maximum is not None:
            element["max_value"] = _number_text(field.maximum)
        if has:
            element["initial_value"] = _number_text(initial)
        return element
    if kind == "date":
        return {"type": "datepicker", **({"initial_date": initial} if has else {})}
    if kind == "time":
        return {"type": "timepicker", **({"initial_time": initial[:5]} if has else {})}
    if kind == "datetime":
        element = {"type": "datetimepicker"}
        stamp = _timestamp(initial) if has else None
        if stamp is not None:
            element["initial_date_time"] = stamp
        return element
    if kind in ("email", "url"):
        element = {"type": "email_text_input" if kind == "email" else "url_text_input"}
        if has:
            element["initial_value"] = initial
        return element
    return _text_element(field)


def _text_element(field: Field) -> Block:
    initial = field.initial
    if field.kind == "lines":
        text = "\n".join(initial) if initial is not MISSING else ""
        multiline = True
    elif field.kind == "json":
        text = json.dumps(initial, ensure_ascii=False, indent=2) if initial is not MISSING else ""
        multiline = True
    else:
        text = initial if initial is not MISSING else ""
        multiline = field.multiline
    max_length = limits.INPUT_MAX
    if field.kind == "text" and field.max_length:
        max_length = min(field.max_length, limits.INPUT_MAX)
    element: Block = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if field.kind == "text" and field.min_length:
        element["min_length"] = min(field.min_length, max_length)
    if text:
        element["initial_value"] = text
    if field.kind == "lines":
        element["placeholder"] = _plain("One per line", PLACEHOLDER)
    return element


def _timestamp(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- reading a submission -------------------------------------------------------------------------


def read_answer(form: Form, state_values: Mapping[str, Any]) -> tuple[Any, dict[str, str]]:
    """The answer the submitted inputs make (MISSING if the form's one field was left empty),
    and errors for inputs whose text is not what their field needs, keyed by block id."""
    errors: dict[str, str] = {}
    answer: dict[str, Any] = dict(form.extra)
    whole: Any = MISSING
    for i, field in enumerate(form.fields):
        if field.kind == "fixed":
            value: Any = field.initial
        else:
            raw = (state_values.get(block_id(i)) or {}).get(ACTION) or {}
            try:
                value = read_value(field, raw)
            except ValueError as exc:
                errors[block_id(i)] = str(exc)
                continue
        if value is MISSING:
            if field.nullable:
                value = None
            elif field.required:
                errors[block_id(i)] = "Required."
                continue
        if field.key is None:
            whole = value
        elif value is not MISSING:
            answer[field.key] = value
    return (answer if form.is_object else whole), errors


def read_value(field: Field, raw: Mapping[str, Any]) -> Any:
    """One input's value as JSON (MISSING when empty); ValueError with a message for the person."""
    kind = field.kind
    if kind in ("choice", "boolean"):
        option = raw.get("selected_option")
        return _choice(field, option) if option else MISSING
    if kind == "multi_choice":
        return [_choice(field, o) for o in raw.get("selected_options") or []]
    if kind == "date":
        return raw.get("selected_date") or MISSING
    if kind == "time":
        picked = raw.get("selected_time")
        return f"{picked}:00" if isinstance(picked, str) and re.fullmatch(r"\d{2}:\d{2}", picked) else MISSING
    if kind == "datetime":
        stamp = raw.get("selected_date_time")
        if not isinstance(stamp, (int, float)):
            return MISSING
        return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = raw.get("value")
    if not isinstance(text, str) or not text.strip():
        return [] if kind == "lines" and field.required else MISSING
    if kind == "number":
        return _number(text, field.integer)
    if kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"Not valid JSON: {exc}") from exc
    return text


def _choice(field: Field, option: Any) -> Any:
    value = option.get("value") if isinstance(option, Mapping) else None
    if not isinstance(value, str) or not value.isdigit() or int(value) >= len(field.choices):
        raise ValueError("This choice is not one of the options any more.")
    return field.choices[int(value)].value


def _number(text: str, integer: bool) -> int | float:
    text = text.strip()
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError("Must be a number.") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("Must be a number.")
    if integer:
        if not value.is_integer():
            raise ValueError("Must be a whole number.")
        return int(value)
    return int(value) if re.fullmatch(r"[+-]?\d+", text) else value
