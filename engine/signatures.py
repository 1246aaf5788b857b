"""What a node or routing function asks for, read from its signature when the graph is built.

A node may declare, after its state: `config` (unannotated or a RunnableConfig), `runtime`
(by name or a `Runtime[...]` annotation) and `writer` (by name or a `StreamWriter` annotation).
A first parameter annotated with a state class of its own is the node's input schema: it reads
just those keys, which may be private keys no other node sees.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from .types import Command


def _params(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []


def _injected_as(param: inspect.Parameter) -> str | None:
    annotation = str(param.annotation)
    if param.name == "runtime" or "Runtime" in annotation:
        return "runtime"
    if param.name == "writer" or "StreamWriter" in annotation:
        return "writer"
    return None


def wants_runtime(fn: Callable[..., Any]) -> bool:
    """A node that declares `runtime` gets it as a keyword."""
    return any(_injected_as(p) == "runtime" for p in _params(fn)[1:])


def wants_writer(fn: Callable[..., Any]) -> bool:
    """A node that declares `writer` gets its stream writer as a keyword."""
    return any(_injected_as(p) == "writer" for p in _params(fn)[1:])


def wants_config(fn: Callable[..., Any]) -> bool:
    """As LangGraph decides: a parameter named `config`, unannotated or annotated RunnableConfig."""
    return any(
        p.name == "config" and (p.annotation is p.empty or "RunnableConfig" in str(p.annotation))
        for p in _params(fn)[1:]
    )


def is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or (callable(fn) and inspect.iscoroutinefunction(type(fn).__call__))


def may_return_command(fn: Any) -> bool:
    try:
        hints = get_type_hints(fn)
    except Exception:
        return True  # unknown: do not claim the graph can never end
    ret = hints.get("return")
    return ret is None or "Command" in repr(ret) or ret is Command


def input_schema_of(fn: Any) -> Any:
    """The state class the first parameter is annotated with (None when there is none)."""
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
    params = _params(fn)
    if not params:
        return None
    try:
        hint = get_type_hints(target).get(params[0].name)
    except Exception:
        return None
    if not isinstance(hint, type):
        return None
    try:
        return hint if get_type_hints(hint) else None
    except Exception:
        return None


def schema_keys(schema: Any) -> frozenset[str] | None:
    if schema is None:
        return None
    fields = getattr(schema, "model_fields", None)
    if isinstance(fields, dict):
        return frozenset(fields)
    try:
        return frozenset(get_type_hints(schema))
    except Exception:
        return frozenset(getattr(schema, "__annotations__", {}))


def node_name(node: Any) -> str | None:
    """The name add_node(action) gives a node: a compiled graph's name, else the function's or class's."""
    name = getattr(node, "name", None) if hasattr(node, "_run_nested") else getattr(node, "__name__", None)
    if name is None and callable(node):
        name = type(node).__name__
    return name if isinstance(name, str) else None
