"""A JSON Schema read as a form: which fields, of what kind, with what labels, bounds and initial values.

Pure: no Slack here (`bot.slack.form_blocks` turns fields into Block Kit). What a form cannot
express (nested objects, unions, tuples, arrays of objects, free JSON) becomes a `json` field
whose text is parsed and checked against the schema on submit, so nothing is ever refused for
being unusual, only made less comfortable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.slack import limits

FieldKind = Literal[
    "text", "lines", "email", "url", "date", "datetime", "time", "choice", "multi_choice", "boolean", "number", "json",
    "fixed",
]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
FORMATS: dict[str, FieldKind] = {
    "email": "email", "idn-email": "email", "uri": "url", "iri": "url", "url": "url",
    "date": "date", "date-time": "datetime", "time": "time",
}
MAX_FIELDS = 90  # a modal holds 100 blocks; beyond this the whole answer is one JSON field
MAX_OPTIONS = 100  # static_select / multi_static_select
FEW_OPTIONS = 5  # radio buttons / checkboxes up to this many (Slack allows 10)
OPTION_TEXT = 75
LONG_TEXT = 60  # an initial text longer than this (or with line breaks) gets a multiline input
LONG_MAX_LENGTH = 200  # so does a string whose maxLength is above this
MAX_REF_DEPTH = 32
OPTIONS_BYTES = 150_000  # options of all inputs together, so the modal stays under Slack's 250 KB
OPTION_OVERHEAD = 60  # bytes of Block Kit around one option's label


class SchemaError(ValueError):
    """The schema is not a JSON Schema a form can be built from (e.g. a $ref that goes nowhere)."""


@dataclass(frozen=True)
class Choice:
    label: str
    value: Any


@dataclass(frozen=True)
class Field:
    """One input of the form. `key` is the property it fills, None when it is the whole answer."""

    key: str | None
    kind: FieldKind
    label: str
    hint: str | None = None
    required: bool = False  # the answer must have it
    nullable: bool = False  # left empty it is sent as null (else left out)
    initial: Any = MISSING  # a JSON value: the default, or the current value being edited
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    min_length: int | None = None
    max_length: int | None = None
    multiline: bool = False
    max_items: int | None = None
    min_items: int = 0

    @property
    def must_fill(self) -> bool:
        """Slack refuses to submit the modal while this input is empty."""
        if self.kind == "multi_choice":
            return self.required and self.min_items > 0 and not self.nullable
        return self.required and not self.nullable and self.kind != "fixed"


@dataclass(frozen=True)
class Form:
    fields: tuple[Field, ...]
    schema: Mapping[str, Any]  # the whole schema answers are checked against ($defs included)
    title: str | None = None
    description: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # values kept as they were (not in the schema)

    @property
    def is_object(self) -> bool:
        return bool(self.fields) and self.fields[0].key is not None


# --- $ref ---------------------------------------------------------------------------------------


def resolve(node: Any, root: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """`node` with its local `$ref` (and a lone `allOf`) replaced by what they point to; siblings win."""
    if not isinstance(node, Mapping):
        return {} if node is True or node is None else {"not": {}}
    out = dict(node)
    if depth > MAX_REF_DEPTH:
        raise SchemaError("$ref nesting too deep (a recursive schema?)")
    ref = out.pop("$ref", None)
    if isinstance(ref, str):
        out = {**resolve(_pointer(root, ref), root, depth + 1), **out}
    all_of = out.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        del out["allOf"]
        out = {**resolve(all_of[0], root, depth + 1), **out}
    return out


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        raise SchemaError(f"only local $ref is supported, not {ref!r}")
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaError(f"$ref {ref!r} points nowhere")
    return node


def without_null(node: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """(`node` without its null alternative, whether null was allowed): `anyOf [X, null]` -> X."""
    node = resolve(node, root)
    types = node.get("type")
    if isinstance(types, list) and "null" in types:
        kept = [t for t in types if t != "null"]
        return {**node, "type": kept[0] if len(kept) == 1 else kept}, True
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list):
            resolved = [resolve(o, root) for o in options]
            others = [o for o in resolved if o.get("type") != "null"]
            if len(others) < len(resolved) and len(others) == 1:
                siblings = {k: v for k, v in node.items() if k != key}
                return {**without_null(others[0], root)[0], **siblings}, True
    return node, False


# --- schema -> form -----------------------------------------------------------------------------


def build_form(schema: Mapping[str, Any], initial: Any = MISSING) -> Form:
    """The form for answers to `schema`, pre-filled with `initial` (else the schema's defaults)."""
    if not isinstance(schema, Mapping):
        raise SchemaError("a response schema must be a JSON object")
    top = resolve(schema, schema)
    title, description = _pretty(_str(top.get("title"))), _str(top.get("description"))
    props = top.get("properties")
    if top.get("type") in ("object", None) and isinstance(props, Mapping) and 0 < len(props) <= MAX_FIELDS:
        required = set(top.get("required") or [])
        given = initial if isinstance(initial, Mapping) else {}
        if initial is MISSING and isinstance(top.get("default"), Mapping):
            given = top["default"]
        fields = tuple(
            make_field(str(key), prop, schema, key in required, given.get(key, MISSING))
            for key, prop in props.items()
        )
        extra = {k: v for k, v in given.items() if k not in props}
        if sum(len(c.label) + OPTION_OVERHEAD for f in fields for c in f.choices) <= OPTIONS_BYTES:
            return Form(fields, schema, title, description, extra)
        return Form((make_field(None, top, schema, True, initial, label=title or "Answer"),), schema, None, None)
    whole = make_field(None, top, schema, True, initial, label=title or "Answer")
    return Form((whole,), schema, None, description if whole.hint != description else None)


def make_field(
    key: str | None, prop: Any, root: Mapping[str, Any], required: bool, initial: Any, label: str | None = None
) -> Field:
    node, nullable = without_null(prop if isinstance(prop, Mapping) else {}, root)
    if initial is MISSING and "default" in node:
        initial = node["default"]
    if initial is MISSING and "const" in node:  # one possible value: chosen already
        initial = node["const"]
    if initial is None:
        initial = MISSING
    base: dict[str, Any] = {
        "key": key,
        "label": limits.clip(label or _str(node.get("title")) or _title(key or "answer"), limits.INPUT_LABEL),
        "hint": _hint(node),
        "required": required,
        "nullable": nullable,
    }
    kind, extra = _kind(node, root, initial)
    if kind == "json" and initial is not MISSING and len(_json(initial)) > limits.INPUT_MAX:
        kind, extra = "fixed", {}
    if kind in ("text", "email", "url") and isinstance(initial, str) and len(initial) > limits.INPUT_MAX:
        kind, extra = "fixed", {}
    if kind == "json":
        base["hint"] = _json_hint(node, base["hint"])
    return Field(kind=kind, initial=_fit_initial(kind, initial, extra), **base, **extra)


def _kind(node: Mapping[str, Any], root: Mapping[str, Any], initial: Any) -> tuple[FieldKind, dict[str, Any]]:
    if "const" in node:
        return _choices([node["const"]], node)
    if isinstance(node.get("enum"), list) and node["enum"]:
        return _choices(node["enum"], node)
    kind = node.get("type")
    if kind == "boolean":
        return "boolean", {"choices": (Choice("Yes", True), Choice("No", False))}
    if kind in ("integer", "number"):
        return "number", _bounds(node, integer=kind == "integer")
    if kind == "string":
        fmt = FORMATS.get(str(node.get("format", "")))
        if fmt:
            return fmt, {}
        max_length = node.get("maxLength") if isinstance(node.get("maxLength"), int) else None
        long_value = isinstance(initial, str) and (len(initial) > LONG_TEXT or "\n" in initial)
        return "text", {
            "min_length": node.get("minLength") if isinstance(node.get("minLength"), int) else None,
            "max_length": max_length,
            "multiline": long_value or (max_length is not None and max_length > LONG_MAX_LENGTH),
        }
    if kind == "array" and not node.get("prefixItems"):
        items, _ = without_null(node.get("items") or {}, root)
        counts = {
            "min_items": node.get("minItems") if isinstance(node.get("minItems"), int) else 0,
            "max_items": node.get("maxItems") if isinstance(node.get("maxItems"), int) else None,
        }
        values = [items["const"]] if "const" in items else items.get("enum")
        if isinstance(values, list) and 0 < len(values) <= MAX_OPTIONS:
            return "multi_choice", {"choices": _options(values, items), **counts}
        if items.get("type") == "string" and not items.get("format") and not items.get("enum"):
            return "lines", counts
    return "json", {}


def _choices(values: Sequence[Any], node: Mapping[str, Any]) -> tuple[FieldKind, dict[str, Any]]:
    if len(values) > MAX_OPTIONS:
        return "json", {}
    return "choice", {"choices": _options(values, node)}


def _options(values: Sequence[Any], node: Mapping[str, Any]) -> tuple[Choice, ...]:
    names = node.get("x-enumNames") or node.get("enumNames")
    labels = [str(n) for n in names] if isinstance(names, list) and len(names) == len(values) else None
    return tuple(
        Choice(limits.clip(labels[i] if labels else _label(v), OPTION_TEXT, "…"), v) for i, v in enumerate(values)
    )


def _bounds(node: Mapping[str, Any], integer: bool) -> dict[str, Any]:
    def num(key: str) -> float | None:
        value = node.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    low, high = num("minimum"), num("maximum")
    ex_low, ex_high = num("exclusiveMinimum"), num("exclusiveMaximum")
    if integer and ex_low is not None:  # a whole number above x is at least floor(x) + 1
        low = max(low if low is not None else ex_low + 1, int(ex_low // 1) + 1)
    if integer and ex_high is not None:
        high = min(high if high is not None else ex_high - 1, -int(-ex_high // 1) - 1)
    return {"minimum": low, "maximum": high, "integer": integer}


def _fit_initial(kind: FieldKind, initial: Any, extra: Mapping[str, Any]) -> Any:
    """The initial value if the input can show it, else MISSING (the person fills it in)."""
    if initial is MISSING or kind in ("json", "fixed"):
        return initial
    if kind in ("choice", "boolean"):
        return initial if any(_same(c.value, initial) for c in extra["choices"]) else MISSING
    if kind == "multi_choice":
        ok = isinstance(initial, list) and all(any(_same(c.value, v) for c in extra["choices"]) for v in initial)
        return initial if ok else MISSING
    if kind == "lines":
        ok = isinstance(initial, list) and all(isinstance(v, str) and "\n" not in v for v in initial)
        return initial if ok and len("\n".join(initial)) <= limits.INPUT_MAX else MISSING
    if kind == "number":  # Slack refuses a view whose number is outside the input's bounds
        low, high = extra.get("minimum"), extra.get("maximum")
        ok = isinstance(initial, (int, float)) and not isinstance(initial, bool)
        ok = ok and (low is None or initial >= low) and (high is None or initial <= high)
        return initial if ok else MISSING
    if kind == "date":
        return initial if isinstance(initial, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial) else MISSING
    if kind == "time":
        return initial if isinstance(initial, str) and re.match(r"\d{2}:\d{2}", initial) else MISSING
    return initial if isinstance(initial, str) else MISSING


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


# --- labels -------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _title(key: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key).replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else key


def _pretty(title: str | None) -> str | None:
    """A class name used as a title (pydantic's `ReleaseDecision`) read as words: "Release decision"."""
    if title and re.fullmatch(r"[A-Z][A-Za-z0-9]*[a-z][A-Z][A-Za-z0-9]*", title):
        return _title(title)
    return title


def _label(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _hint(node: Mapping[str, Any]) -> str | None:
    text = _str(node.get("description"))
    return limits.clip(text, limits.INPUT_LABEL) if text else None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _json_hint(node: Mapping[str, Any], hint: str | None) -> str:
    kind = node.get("type")
    what = {"object": "a JSON object", "array": "a JSON list"}.get(str(kind), "JSON")
    text = f"Write {what}." + (f" {hint}" if hint else "")
    return limits.clip(text, limits.INPUT_LABEL)
