"""Values that cross the engine's boundary: Send, Command, Interrupt, StateSnapshot, task records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import GenericAlias
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

START = "__start__"
END = "__end__"
All = Literal["*"]
ResponseT = TypeVar("ResponseT")
PLACEHOLDER_INTERRUPT_ID = "placeholder-id"  # LangGraph's default id for an Interrupt built by hand


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

    def __class_getitem__(cls, item: Any) -> GenericAlias:
        """`Command[Literal["a", "b"]]` in a node's return annotation names where it may go."""
        return GenericAlias(cls, item)

    def __repr__(self) -> str:
        """Only the fields given, as LangGraph shows a Command."""
        given = {k: v for k, v in (("graph", self.graph), ("update", self.update), ("resume", self.resume),
                                   ("goto", self.goto)) if v is not None and v != ()}
        return "Command(" + ", ".join(f"{k}={v!r}" for k, v in given.items()) + ")"

    def goto_targets(self) -> list[str | Send]:
        if self.goto is None or self.goto == ():
            return []
        if isinstance(self.goto, (str, Send)):
            return [self.goto]
        return list(self.goto)


# Not slotted: with slots a frozen dataclass cannot be built through `Interrupt[Model](...)`.
@dataclass(frozen=True)
class Interrupt(Generic[ResponseT]):
    """One pending pause raised by `interrupt(value)`.

    Compares like LangGraph's: `value`, `id` and `response_schema` (the JSON Schema of the answer
    the pause expects, or None). `resumable`/`ns`/`when`, the field set of older releases and the
    clients written for them, still travel in `to_json()` but take no part in equality or repr.
    """

    value: Any
    id: str = PLACEHOLDER_INTERRUPT_ID
    _: KW_ONLY
    response_schema: dict[str, Any] | None = field(default=None, hash=False)
    resumable: bool = field(default=True, compare=False, repr=False)
    ns: Sequence[str] = field(default=(), compare=False, repr=False)
    when: str = field(default="during", compare=False, repr=False)

    @property
    def interrupt_id(self) -> str:
        return self.id

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "id": self.id,
            "response_schema": self.response_schema,
            "resumable": self.resumable,
            "ns": list(self.ns),
            "when": self.when,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interrupt[Any]:
        """The record `to_json()` wrote; records saved before `response_schema` existed read as None."""
        return cls(
            value=data["value"],
            id=data["id"],
            response_schema=data.get("response_schema"),
            resumable=data.get("resumable", True),
            ns=tuple(data.get("ns", ())),
            when=data.get("when", "during"),
        )


@dataclass(frozen=True, slots=True)
class Overwrite:
    """A write that replaces a reducer key's value instead of being folded in by its reducer.

    `{"messages": Overwrite(["b"])}`, or the JSON form `{"messages": {"__overwrite__": ["b"]}}`.
    Two overwrites of one key in the same step are an InvalidUpdateError.
    """

    value: Any


class StateUpdate(NamedTuple):
    """One update of `bulk_update_state`: `values` written as if node `as_node` returned them."""

    values: Any
    as_node: str | None = None
    task_id: str | None = None


StreamWriter = Callable[[Any], None]
"""The type of a node's `writer` parameter (what `get_stream_writer()` returns)."""


class PregelTask(NamedTuple):
    """A task of a checkpoint: what will run (or ran and paused) in the next superstep."""

    id: str
    name: str
    path: tuple[Any, ...]
    error: Exception | str | None = None  # from get_state: the repr of what the task raised, as in LangGraph
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
