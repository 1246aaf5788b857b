"""An answer checked against its JSON Schema, each problem put under the input it is about.

`jsonschema` does the checking (every keyword and draft, formats it can check); this module
only turns its errors into short sentences for a person and finds the field each belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import exceptions, validators
from jsonschema.protocols import Validator

from bot.slack.form_blocks import block_id
from bot.slack.form_schema import MISSING, Form, SchemaError

MESSAGE_MAX = 300
TYPE_NAMES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "yes or no",
    "array": "a list",
    "object": "an object",
    "null": "empty",
}


def validator_for(schema: Mapping[str, Any]) -> Validator:
    """A validator for `schema` (its own `$schema` draft, else 2020-12), checking formats it knows."""
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        raise SchemaError(f"not a valid JSON Schema: {exc.message}") from exc
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check(form: Form, answer: Any, schema: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Errors of `answer` against `schema` (default: the form's), keyed by the block id of their field."""
    if answer is MISSING:
        return {block_id(0): "Required."} if form.fields else {}
    errors: dict[str, str] = {}
    for error in sorted(validator_for(schema or form.schema).iter_errors(answer), key=lambda e: e.path):
        for path, text in _messages(error):
            target = _field_index(form, path)
            where = path[1:] if form.is_object else path
            if form.is_object and target is None:
                target, where = _first_input(form), path
            if where:
                text = f"{'.'.join(str(p) for p in where)}: {text}"
            errors.setdefault(block_id(target or 0), _clip(text))
    return errors


def _messages(error: exceptions.ValidationError) -> list[tuple[list[Any], str]]:
    """(path to the faulty value, what is wrong) for one error; `required` names each missing key."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [k for k in error.validator_value if k not in error.instance]
        return [([*path, key], "Required.") for key in missing] or [(path, error.message)]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # A value was given, so "must be empty" (the null branch of an optional field) is no help.
        useful = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        best = exceptions.best_match(useful or error.context)
        return _messages(best) if best is not None else [(path, error.message)]
    return [(path, describe(error))]


def describe(error: exceptions.ValidationError) -> str:
    """A short sentence for a person, not a programmer; jsonschema's own message otherwise."""
    rule, limit = error.validator, error.validator_value
    plural = "" if limit == 1 else "s"
    sentences: dict[str, str] = {
        "minimum": f"Must be at least {limit}.",
        "maximum": f"Must be at most {limit}.",
        "exclusiveMinimum": f"Must be more than {limit}.",
        "exclusiveMaximum": f"Must be less than {limit}.",
        "multipleOf": f"Must be a multiple of {limit}.",
        "minLength": f"At least {limit} character{plural}.",
        "maxLength": f"At most {limit} character{plural}.",
        "pattern": f"Must match the pattern {limit}.",
        "format": f"Must be a valid {limit}.",
        "minItems": f"Choose at least {limit}.",
        "maxItems": f"Choose at most {limit}.",
        "uniqueItems": "Each item only once.",
        "const": f"Must be {_short(limit)}.",
    }
    if rule in sentences:
        return sentences[str(rule)]
    if rule == "type":
        names = limit if isinstance(limit, list) else [limit]
        return "Must be " + " or ".join(TYPE_NAMES.get(str(n), str(n)) for n in names) + "."
    if rule == "enum" and isinstance(limit, list):
        return "Must be one of: " + ", ".join(_short(v) for v in limit[:10]) + (", …" if len(limit) > 10 else "") + "."
    if rule == "additionalProperties" and isinstance(error.instance, Mapping):
        return error.message.replace("Additional properties are not allowed", "Not expected here")
    return error.message


def _field_index(form: Form, path: list[Any]) -> int | None:
    if not form.is_object:
        return 0
    if not path:
        return None
    return next((i for i, f in enumerate(form.fields) if f.key == path[0]), None)


def _first_input(form: Form) -> int:
    return next((i for i, f in enumerate(form.fields) if f.kind != "fixed"), 0)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


# pydantic's text for a programmer: a "[type=..., input_value=..., input_type=...]" tail on each
# error, a "For further information visit <url>" line under it, a "Value error, " prefix.
_PYDANTIC_TAIL = re.compile(r" \[type=[\w.]+(, input_value=.*)?(, input_type=\w+)?\]$")
_PYDANTIC_LINK = re.compile(r"^\s*For further information visit \S+$")


def readable_refusal(reason: str) -> str:
    """The graph's refusal (pydantic's ValidationError as text) without what only a programmer reads."""
    kept = [line for line in reason.splitlines() if not _PYDANTIC_LINK.match(line)]
    return "\n".join(_PYDANTIC_TAIL.sub("", line).replace("Value error, ", "", 1) for line in kept)
