"""Run one scenario on LangGraph and on our engine and reduce both to comparable traces.

Ids differ between the two libraries (they derive from random checkpoint ids), so every id is
replaced by its order of first appearance: two traces match when the same interrupt appears in the
same places.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import langgraph.checkpoint.memory as lg_memory
import langgraph.config as lg_config
import langgraph.errors as lg_errors
import langgraph.graph as lg_graph
import langgraph.types as lg_types

import engine


@dataclass(frozen=True)
class Api:
    name: str
    StateGraph: Any
    START: str
    END: str
    interrupt: Callable[[Any], Any]
    Command: Any
    Send: Any
    InMemorySaver: Any
    RetryPolicy: Any
    get_stream_writer: Any
    is_invalid_resume: Any


LANGGRAPH = Api("langgraph", lg_graph.StateGraph, lg_graph.START, lg_graph.END, lg_types.interrupt,
                lg_types.Command, lg_types.Send, lg_memory.InMemorySaver, lg_types.RetryPolicy,
                lg_config.get_stream_writer, lg_errors.is_invalid_resume)
OURS = Api("engine", engine.StateGraph, engine.START, engine.END, engine.interrupt, engine.Command,
           engine.Send, engine.InMemorySaver, engine.RetryPolicy, engine.get_stream_writer, engine.is_invalid_resume)


def _is_hex_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)


class Normaliser:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def id(self, raw: str) -> str:
        return self.ids.setdefault(raw, f"<id{len(self.ids)}>")

    def __call__(self, value: Any) -> Any:
        if type(value).__name__ == "Interrupt" and hasattr(value, "value") and hasattr(value, "id"):
            return {"interrupt": self(value.value), "id": self.id(value.id),
                    "response_schema": self(getattr(value, "response_schema", None))}
        if type(value).__name__ == "StateSnapshot":
            return {
                "values": self(value.values),
                "next": tuple(value.next),
                "interrupts": [self(i) for i in value.interrupts],
                "tasks": [
                    (t.name, [self(i) for i in t.interrupts])
                    + ((self(t.state),) if type(t.state).__name__ == "StateSnapshot" else ())
                    for t in value.tasks
                ],
                "source": (value.metadata or {}).get("source"),
                "step": (value.metadata or {}).get("step"),
            }
        if isinstance(value, dict):
            return {(self.id(k) if _is_hex_id(k) else k): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if value and all(type(v).__name__ == "Interrupt" for v in value):
                # Parallel interrupts arrive in completion order on LangGraph: compare them as a set.
                value = sorted(value, key=lambda i: repr(i.value))
            return type(value)(self(v) for v in value)
        if _is_hex_id(value):
            return self.id(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {"dataclass": type(value).__name__, **{f.name: self(getattr(value, f.name)) for f in dataclasses.fields(value)}}
        if hasattr(value, "model_dump"):
            return {"model": type(value).__name__, **self(value.model_dump())}
        return value


MIRRORED_ERRORS = {"GraphRecursionError", "InvalidUpdateError", "EmptyInputError", "ValidationError"}


def error_of(exc: BaseException) -> dict[str, Any]:
    """Errors match on LangGraph's class name where we mirror it, else on the builtin they derive from."""
    name = type(exc).__name__
    if name not in MIRRORED_ERRORS:
        name = next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    # Compare the first sentence: what happened. What follows (advice, links) may differ.
    return {"error": name, "message": str(exc).split("\n")[0].split(". ")[0].rstrip(".")}


class Trace:
    """Records what a scenario observed; errors are recorded, not raised."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.norm = Normaliser()

    def add(self, label: str, value: Any) -> Any:
        self.items.append((label, self.norm(value)))
        return value

    def call(self, label: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - the error itself is what we compare
            self.items.append((label, error_of(exc)))
            return None
        if hasattr(result, "__next__"):
            result = list(result)
        self.items.append((label, self.norm(result)))
        return result


def run_both(scenario: Callable[[Api, Trace], None]) -> tuple[list[Any], list[Any]]:
    theirs, ours = Trace(), Trace()
    scenario(LANGGRAPH, theirs)
    scenario(OURS, ours)
    return theirs.items, ours.items
