"""`Runtime`: what a node declaring a `runtime` parameter receives (LangGraph 1.x's run context).

`StateGraph(State, context_schema=Ctx)` and `graph.invoke(input, context=...)` give every node
that asks for it `runtime.context`; a dict given for a dataclass or pydantic schema is turned
into an instance, as LangGraph does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .interrupts import current_task

ContextT = TypeVar("ContextT")


def _ignore(_: Any) -> None:
    return None


@dataclass(frozen=True)
class Runtime(Generic[ContextT]):
    context: ContextT = None  # type: ignore[assignment]
    store: Any = None
    stream_writer: Callable[[Any], None] = _ignore
    previous: Any = None

    def override(self, **changes: Any) -> Runtime[ContextT]:
        """A copy with the fields given replaced."""
        return dataclasses.replace(self, **changes)

    def merge(self, other: Runtime[Any]) -> Runtime[ContextT]:
        """A copy taking `other`'s fields where they are set (not None or falsy)."""
        changes = {
            f.name: value for f in dataclasses.fields(other)
            if (value := getattr(other, f.name)) and value is not _ignore
        }
        return dataclasses.replace(self, **changes)


def get_stream_writer() -> Callable[[Any], None]:
    """In a node: a function whose arguments a `stream_mode="custom"` stream yields (progress,
    partial results). Outside a node, or when nobody streams "custom", it does nothing."""
    scope = current_task.get()
    writer = scope.writer if scope is not None else None
    return writer or _ignore


def coerce_context(schema: Any, context: Any) -> Any:
    """The context as the schema's type when it was given as a dict."""
    if schema is None or not isinstance(context, dict):
        return context
    if dataclasses.is_dataclass(schema) and isinstance(schema, type):
        return schema(**context)
    if hasattr(schema, "model_validate"):
        return schema.model_validate(context)
    return context
