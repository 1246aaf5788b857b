"""Values that cross the engine's boundary: Send, Command, Interrupt, StateSnapshot, task records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

START = "__start__"
END = "__end__"
All = Literal["*"]


@dataclass(frozen=True, slots=True)
class Send:
    """Run `node` in the next superstep with `arg` as its input (map-reduce fan-out)."""

    node: str
    arg: Any

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"


@dataclass(frozen=True, slots=True)
class Command:
    """Input to resume a paused thread, or a node's return value that updates and routes."""

    graph: str | None = None
    update: Any = None
    resume: Any = None
    goto: Any = ()

    PARENT: ClassVar[str] = "__parent__"

    def goto_targets(self) -> list[str | Send]:
        if self.goto is None or self.goto == ():
            return []
        if isinstance(self.goto, (str, Send)):
            return [self.goto]
        return list(self.goto)


@dataclass(frozen=True, slots=True)
class Interrupt:
    """One pending pause raised by `interrupt(value)`.

    Carries both field sets found in the wild: `value`/`id` (LangGraph 1.x) and
    `resumable`/`ns`/`when` (older releases and the clients written for them).
    """

    value: Any
    id: str
    resumable: bool = True
    ns: Sequence[str] = ()
    when: str = "during"

    @property
    def interrupt_id(self) -> str:
        return self.id

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "id": self.id,
            "resumable": self.resumable,
            "ns": list(self.ns),
            "when": self.when,
        }


class PregelTask(NamedTuple):
    """A task of a checkpoint: what will run (or ran and paused) in the next superstep."""

    id: str
    name: str
    path: tuple[Any, ...]
    error: Exception | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any = None


class StateSnapshot(NamedTuple):
    """The state of a thread at one checkpoint."""

    values: dict[str, Any]
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = field(default=())  # type: ignore[assignment]


StreamMode = Literal["values", "updates"]
