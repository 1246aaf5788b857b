"""The engine's one error tree.

SluiceError
├── GraphBuildError          the graph definition is invalid (raised by add_* and compile())
├── InvalidUpdateError       a node wrote something the state cannot take
├── GraphRecursionError      recursion_limit steps ran without reaching END
├── EmptyInputError          a run was asked for with nothing to do
├── ResumeError              a resume that cannot be applied (no checkpointer, ambiguous value)
├── ConfigError              the run config lacks what the call needs (thread_id, ...)
├── SerializationError       a value cannot be stored (names the key)
└── CheckpointerError        the storage failed (connection, script, corrupt data)
    └── CheckpointConflict   the thread moved on since it was read; nothing was written

Several also derive from the builtin LangGraph raises in the same place (ValueError,
RuntimeError), so code that catches those keeps working.
"""

from __future__ import annotations


class SluiceError(Exception):
    """Base of every error the engine raises on purpose."""


class GraphBuildError(SluiceError, ValueError):
    """The graph definition is invalid."""


class InvalidUpdateError(SluiceError, ValueError):
    """A node returned an update the state cannot accept."""


class GraphRecursionError(SluiceError, RecursionError):
    """The run took more supersteps than its recursion_limit allows."""


class EmptyInputError(SluiceError, ValueError):
    """A run was requested with no input and nothing to resume."""


class ResumeError(SluiceError, RuntimeError):
    """A Command(resume=...) that cannot be applied."""


class ConfigError(SluiceError, ValueError):
    """The run's config is missing something the call needs."""


class SerializationError(SluiceError, TypeError):
    """A value cannot be serialised for storage."""


class CheckpointerError(SluiceError, RuntimeError):
    """The checkpoint storage failed."""


class CheckpointConflict(CheckpointerError):
    """The thread's head moved since it was read: another run got there first.

    `current` is the head found instead (a checkpoint.base.Head), when the checkpointer returned it
    with its refusal, so a writer can prepare again from it without reading the thread.
    """

    def __init__(self, message: str, current: object | None = None) -> None:
        super().__init__(message)
        self.current = current


class ParentCommandError(SluiceError):
    """Raised inside a subgraph to hand a Command to the parent graph (internal)."""

    def __init__(self, command: object) -> None:
        super().__init__("Command(graph=Command.PARENT) raised outside a subgraph")
        self.command = command


class InterruptOutsideGraphError(SluiceError, RuntimeError):
    """interrupt() was called outside a running graph node."""


# A resume value refused by its interrupt's `response_schema` raises pydantic's own ValidationError
# (as LangGraph does); this attribute marks it, naming the interrupt whose answer was refused, so
# the loop can reopen that pause and callers can tell it from their own validation errors.
_INVALID_RESUME = "_sluice_invalid_resume"


# The mark LangGraph's own `langgraph.errors.is_invalid_resume` looks for (its ToolNode asks it
# whether a tool's ValidationError is a refused answer, to fail the run rather than tell the model).
_LANGGRAPH_INVALID_RESUME = "_langgraph_invalid_resume"


def mark_invalid_resume(error: BaseException, interrupt_id: str) -> None:
    setattr(error, _INVALID_RESUME, interrupt_id)
    setattr(error, _LANGGRAPH_INVALID_RESUME, True)


def refused_interrupt_id(error: BaseException) -> str | None:
    """The id of the interrupt whose answer `error` refused, or None for any other error."""
    value = getattr(error, _INVALID_RESUME, None)
    return value if isinstance(value, str) else None


def is_invalid_resume(error: BaseException) -> bool:
    """Whether `error` was raised because a resume value did not match the interrupt's `response_schema`.

    The pause stays open: answer it again, alone or by id in a resume map.
    """
    return refused_interrupt_id(error) is not None
