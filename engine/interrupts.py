"""`interrupt()`: pause the running node and wait for a person.

The running task's scope lives in a context variable. The k-th `interrupt()` call of a task has
the id hash(task namespace, k); when a resume value is stored under that id the call returns it,
otherwise it raises GraphInterrupt and the loop saves the pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InterruptOutsideGraphError
from .ids import interrupt_id
from .types import Interrupt

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer


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


current_task: ContextVar[TaskScope | None] = ContextVar("sluice_current_task", default=None)


def interrupt(value: Any) -> Any:
    """Pause the graph here with `value`; on resume, return the value given in Command(resume=...)."""
    scope = current_task.get()
    if scope is None:
        raise InterruptOutsideGraphError(
            "interrupt() was called outside a graph node. Call it from a node function while the graph runs."
        )
    index = scope.calls
    scope.calls += 1
    iid = interrupt_id(scope.ns, index)
    if iid in scope.resumes:
        return scope.resumes[iid]
    raise GraphInterrupt((Interrupt(value=value, id=iid, resumable=True, ns=tuple(scope.ns.split("|")), when="during"),))
