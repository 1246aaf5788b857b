"""ExecutionOptions: everything one graph execution is told by its caller (config, thread, breakpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer


@dataclass
class ExecutionOptions:
    config: dict[str, Any]
    thread_id: str | None
    checkpoint_id: str | None
    ns: str
    checkpointer: Checkpointer | None
    interrupt_before: Any
    interrupt_after: Any
    recursion_limit: int
    inline_sync: bool  # sync nodes run on the caller's thread, one after another (sync invoke/stream)
    nested: bool  # a graph running inside a node of another graph
    parent_resumes: dict[str, Any]
    metadata: dict[str, Any]
    context: Any = None
    custom: bool = False  # someone streams "custom": nodes' stream writers feed the stream
