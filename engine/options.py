"""ExecutionOptions: everything one graph execution is told by its caller (config, thread, breakpoints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer
    from .run_end import RunEnd
    from .subgraphs import Replay, SubgraphStream


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
    stream: SubgraphStream | None = None  # where custom writes (and, streaming subgraphs, their chunks) go
    replay: Replay | None = None  # set while this run, or the run it is nested in, replays a checkpoint
    resuming_parent: bool = False  # nested: the calling task re-runs where it paused (a resume or a retry)
    parents: dict[str, str] = field(default_factory=dict)  # nested: the callers' checkpoints, by namespace
    emit_updates: bool = True  # off when nobody reads "updates" events (invoke): none is built
    max_concurrency: int | None = None  # the config's: at most this many tasks of a step run at once
    run_end: RunEnd | None = None  # told where a root run left its stored thread, when it ends without error
