"""The run input for a request typed in Slack: `/sluice <assistant> <text>`.

A JSON object is taken as the input itself. Otherwise the text goes where the graph's state
expects a request: a `messages` key as a user message, else the first string key of the schema.
"""

from __future__ import annotations

import json
import typing
from typing import Any


def _state_hints(graph: Any) -> dict[str, Any]:
    schema = getattr(getattr(getattr(graph, "builder", None), "schema", None), "schema", None)
    if schema is None:
        return {}
    try:
        return typing.get_type_hints(schema, include_extras=False)
    except Exception:  # forward references that cannot be resolved: fall back to declared names
        return dict(getattr(schema, "__annotations__", {}))


def input_for(graph: Any, text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    hints = _state_hints(graph)
    if "messages" in hints:
        return {"messages": [{"role": "user", "content": text}]}
    for key, hint in hints.items():
        if hint is str or (isinstance(hint, str) and hint == "str"):
            return {key: text}
    return {"input": text}
