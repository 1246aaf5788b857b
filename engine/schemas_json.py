"""A compiled graph's schemas as JSON Schema, in the shape the LangGraph server answers
`GET /assistants/{id}/schemas` and `/subgraphs` with. Read-only: it looks at the builder's classes.

- `input_schema` / `output_schema`: the input (output) schema class, else the state class, as
  pydantic renders it (`required` kept). Where pydantic cannot render the class (a `typing.TypedDict`
  on Python < 3.12) it is built field by field instead of giving up.
- `state_schema`: every state key (managed values left out) with its value type, each optional
  (`"default": null`): what `update_state` may write. A type pydantic cannot render becomes `{}` (any).
- `context_schema`: the `context_schema` class; `config_schema` repeats it (the server's old name).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, Required, get_args, get_origin

from pydantic import TypeAdapter

from .state import ROOT, StateSchema

if TYPE_CHECKING:
    from .pregel import CompiledGraph


def graph_schemas(graph: CompiledGraph, state_title: str) -> dict[str, Any]:
    builder = graph.builder
    state_class = builder.schema.schema
    context = _class_schema(graph.spec.context_schema) if graph.spec.context_schema is not None else None
    return {
        "input_schema": _class_schema(getattr(builder, "input_schema", None) or state_class),
        "output_schema": _class_schema(getattr(builder, "output_schema", None) or state_class),
        "state_schema": state_schema(builder.schema, state_title),
        "config_schema": context or {},
        "context_schema": context,
    }


def subgraph_schemas(graph: CompiledGraph, namespace: str | None = None, recurse: bool = False,
                     prefix: str = "") -> dict[str, dict[str, Any]]:
    """{namespace: schemas} of the subgraph nodes (nested ones too, "outer|inner", with `recurse`)."""
    found: dict[str, dict[str, Any]] = {}
    for name, node in graph.spec.nodes.items():
        if not node.is_subgraph:
            continue
        ns = f"{prefix}{name}"
        sub: CompiledGraph = node.action
        if namespace is None or namespace == ns:
            found[ns] = graph_schemas(sub, f"{sub.name}State")
        if recurse or (namespace is not None and namespace.startswith(ns + "|")):
            found.update(subgraph_schemas(sub, namespace, recurse, prefix=ns + "|"))
    return found


def state_schema(schema: StateSchema, title: str) -> dict[str, Any]:
    if schema.kind == "root":
        return {**_type_schema(_value_type(schema.schema)), "title": title}
    hints = StateSchema._hints(schema.schema)
    properties = {}
    definitions: dict[str, Any] = {}
    for key in schema.channels:
        if key == ROOT or key not in hints:
            continue
        rendered = _type_schema(_value_type(hints[key]))
        definitions.update(rendered.pop("$defs", {}))
        properties[key] = {"default": None, **rendered, "title": _title(key)}
    out: dict[str, Any] = {"properties": properties, "title": title, "type": "object"}
    return {"$defs": definitions, **out} if definitions else out


def _class_schema(cls: Any) -> dict[str, Any] | None:
    if cls is None:
        return None
    try:
        return TypeAdapter(cls).json_schema()
    except Exception:  # noqa: BLE001 - pydantic refuses some classes; build it from the hints instead
        pass
    hints = StateSchema._hints(cls)
    if not hints:
        return None
    required = getattr(cls, "__required_keys__", None)
    if required is None and dataclasses.is_dataclass(cls):
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    properties = {}
    definitions: dict[str, Any] = {}
    for key, hint in hints.items():
        rendered = _type_schema(_value_type(hint))
        definitions.update(rendered.pop("$defs", {}))
        properties[key] = {**rendered, "title": _title(key)}
    out: dict[str, Any] = {"$defs": definitions} if definitions else {}
    out["properties"] = properties
    if required:
        out["required"] = [k for k in hints if k in required]
    return {**out, "title": getattr(cls, "__name__", "State"), "type": "object"}


def _value_type(hint: Any) -> Any:
    """The value type of a state key: without Required/NotRequired and Annotated's reducer."""
    while get_origin(hint) in (Required, NotRequired, Annotated):
        hint = get_args(hint)[0]
    return hint


def _title(key: str) -> str:
    return key.replace("_", " ").title()


def _type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one value type; `{}` (any value) for a type pydantic cannot render."""
    try:
        return TypeAdapter(hint).json_schema()
    except Exception:  # noqa: BLE001
        return {}
