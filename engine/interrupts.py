"""`interrupt()`: pause the running node and wait for a person.

The running task's scope lives in a context variable. The k-th `interrupt()` call of a task has
the id hash(task namespace, k); when a resume value is stored under that id the call returns it,
otherwise it raises GraphInterrupt and the loop saves the pause.

A `response_schema` given as a Python type (pydantic model, TypedDict, dataclass, any annotated
type) is published as its JSON Schema and validates the stored answer each time the node runs;
the stored answer stays the raw value, so a re-run validates it again exactly as the first time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import TypeAdapter, ValidationError

from .errors import InterruptOutsideGraphError, mark_invalid_resume
from .ids import interrupt_id
from .types import Interrupt

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer
    from .subgraphs import Replay, SubgraphStream


class GraphInterrupt(Exception):  # noqa: N818 - mirrors LangGraph's name; internal control flow
    """Raised to stop a task (or a whole subgraph) at a pause; carries the pending interrupts."""

    def __init__(self, interrupts: tuple[Interrupt, ...] = ()) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


@dataclass
class TaskScope:
    """What a running node can see of its run: where it is, and the answers it has been given."""

    ns: str
    task_id: str
    thread_id: str | None
    checkpointer: Checkpointer | None
    resumes: dict[str, Any]
    config: dict[str, Any]
    loop: asyncio.AbstractEventLoop | None
    calls: int = 0
    context: Any = None  # the run context (`runtime.context`); a subgraph sees its parent's
    writer: Callable[[Any], None] | None = None  # feeds stream_mode="custom" when someone streams it
    inline_sync: bool | None = None  # set by a graph invoked inside the node: how its sync nodes ran
    # What a graph run inside the node inherits (subgraphs.py):
    stream: SubgraphStream | None = None  # the caller's stream, when it streams subgraphs or custom writes
    replay: Replay | None = None  # the replay the caller's run is part of
    resuming: bool = False  # the task continues where it paused (first step of a resume, or a retry)
    parents: dict[str, str] = field(default_factory=dict)  # the checkpoints of the task's graph and its callers
    graph_calls: int = 0  # graphs run so far inside the task: the k-th (k > 0) gets namespace "<ns>|k"


# A resume value not addressed to an interrupt id (time travel to a checkpoint whose pause is not
# recorded, a subgraph that stores nothing): the first interrupt() call without an answer of its
# own takes it. It sits in the resumes as a one-item list shared by every task and subgraph of the
# run, so it is taken once.
NULL_RESUME = ""


current_task: ContextVar[TaskScope | None] = ContextVar("sluice_current_task", default=None)


ResponseT = TypeVar("ResponseT")


@overload
def interrupt(value: Any, *, response_schema: type[ResponseT]) -> ResponseT: ...


@overload
def interrupt(value: Any, *, response_schema: dict[str, Any] | None = None) -> Any: ...


def interrupt(value: Any, *, response_schema: Any = None) -> Any:
    """Pause the graph here with `value`; on resume, return the value given in Command(resume=...).

    `response_schema` describes the answer: a JSON Schema dict is published as-is and not enforced;
    a Python type is published as its JSON Schema, and the answer is validated against it and
    returned as that type. An answer it refuses raises pydantic's ValidationError (see
    `is_invalid_resume`) and the pause stays open to be answered again.
    """
    scope = current_task.get()
    if scope is None:
        raise InterruptOutsideGraphError(
            "interrupt() was called outside a graph node. Call it from a node function while the graph runs."
        )
    # Built before looking for an answer, as LangGraph does: an unusable type fails on the first call.
    adapter = None if response_schema is None or isinstance(response_schema, dict) else TypeAdapter(response_schema)
    index = scope.calls
    scope.calls += 1
    iid = interrupt_id(scope.ns, index)
    if iid in scope.resumes or scope.resumes.get(NULL_RESUME):
        answer = scope.resumes[iid] if iid in scope.resumes else scope.resumes[NULL_RESUME].pop()
        if adapter is None:
            return answer
        try:
            return adapter.validate_python(answer)
        except ValidationError as exc:
            mark_invalid_resume(exc, iid)
            raise
    schema = adapter.json_schema() if adapter is not None else response_schema
    raise GraphInterrupt((
        Interrupt(value=value, id=iid, response_schema=schema, resumable=True, ns=tuple(scope.ns.split("|")),
                  when="during"),
    ))
