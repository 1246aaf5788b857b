"""LangChain's per-call decision schema read for the bot: which decisions it allows, and what an
edit's arguments must look like.

`HumanInTheLoopMiddleware(interrupt_mode="per_call")` publishes, for each gated tool call, a
discriminated union of `{"type": "approve"}`, `{"type": "edit", "edited_action": {"name", "args"}}`,
`{"type": "reject", "message"?}` and `{"type": "respond", "message"}`, limited to the decisions the
tool allows (a tool with one decision gets that branch alone), with the tool's own argument
schema under the edit branch's `edited_action.args`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.slack.form_schema import SchemaError, resolve

KINDS = ("approve", "edit", "reject", "respond")


def branches(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each decision type the schema accepts, with its (resolved) branch."""
    try:
        top = resolve(schema, schema)
        options = top.get("oneOf") or top.get("anyOf") or [top]
        found: dict[str, dict[str, Any]] = {}
        for option in options if isinstance(options, list) else []:
            branch = resolve(option, schema)
            kind = _tag(resolve((branch.get("properties") or {}).get("type"), schema))
            if kind in KINDS and kind not in found:
                found[kind] = branch
        return found
    except SchemaError:
        return {}


def allowed(schema: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The decisions, in the usual order; None when the schema names none (then all are offered)."""
    if not isinstance(schema, Mapping):
        return None
    found = branches(schema)
    return tuple(k for k in KINDS if k in found) or None


def edit_args_schema(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The schema of an edit's `edited_action.args`, standalone (the root's `$defs` carried along)."""
    if not isinstance(schema, Mapping):
        return None
    edit = branches(schema).get("edit")
    if edit is None:
        return None
    try:
        action = resolve((edit.get("properties") or {}).get("edited_action"), schema)
        args = resolve((action.get("properties") or {}).get("args"), schema)
    except SchemaError:
        return None
    carried = {k: schema[k] for k in ("$defs", "definitions") if isinstance(schema.get(k), Mapping)}
    return {**carried, **args}


def _tag(node: Mapping[str, Any]) -> str | None:
    if isinstance(node.get("const"), str):
        return str(node["const"])
    enum = node.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None
