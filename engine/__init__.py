"""Sluice's embedded graph engine: LangGraph's graph API, with dynamic and static interrupts.

A LangGraph graph runs here after changing its imports:

    from engine import StateGraph, START, END, interrupt, Command, Send, InMemorySaver
"""

from .checkpoint import Checkpointer, InMemorySaver, MemorySaver, RedisSaver, SavedCheckpoint
from .errors import (
    CheckpointConflict,
    CheckpointerError,
    EmptyInputError,
    GraphRecursionError,
    InvalidUpdateError,
    SluiceError,
    is_invalid_resume,
)
from .graph import StateGraph
from .interrupts import interrupt
from .managed import IsLastStep, RemainingSteps
from .pregel import CompiledGraph
from .retry import RetryPolicy
from .run_end import RunEnd
from .runtime import Runtime, get_stream_writer
from .types import (
    END,
    START,
    Command,
    Interrupt,
    Overwrite,
    PregelTask,
    Send,
    StateSnapshot,
    StateUpdate,
    StreamWriter,
)

CompiledStateGraph = CompiledGraph

__all__ = [
    "StateGraph",
    "CompiledGraph",
    "CompiledStateGraph",
    "START",
    "END",
    "interrupt",
    "Command",
    "Send",
    "Overwrite",
    "StateUpdate",
    "StreamWriter",
    "RemainingSteps",
    "IsLastStep",
    "Interrupt",
    "StateSnapshot",
    "PregelTask",
    "RunEnd",
    "Runtime",
    "RetryPolicy",
    "get_stream_writer",
    "InMemorySaver",
    "MemorySaver",
    "RedisSaver",
    "Checkpointer",
    "SavedCheckpoint",
    "SluiceError",
    "CheckpointConflict",
    "CheckpointerError",
    "EmptyInputError",
    "GraphRecursionError",
    "InvalidUpdateError",
    "is_invalid_resume",
]
