"""What the runs layer tells its listeners (the Slack notifier) about each run's end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# updated: no run; the thread's state was written over the API (`POST /threads/{id}/state`), and the
# event says where that left it (`breakpoint`: the nodes it waits at, `node`: the update's as_node).
RunEventKind = Literal["paused", "finished", "failed", "cancelled", "updated"]


@dataclass(frozen=True)
class RunEvent:
    """A run paused, finished, failed or was cancelled, as the Slack bot needs to know it."""

    kind: RunEventKind
    thread_id: str
    run_id: str
    assistant_id: str
    checkpoint_id: str = ""
    interrupts: tuple[Mapping[str, Any], ...] = ()
    breakpoint: tuple[str, tuple[str, ...]] | None = None
    values: Any = None
    config: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error_type: str = ""
    message: str = ""
    node: str = ""  # a failed run: the node that raised; an update: its as_node
    traceback: str = ""  # a failed run: the end of its traceback
    refused_answer: bool = False  # a failed run: its resume value did not fit the response_schema (pause still open)
    outside_graph: bool = False  # a failed run: it could not run (storage, a bug of ours), no node raised
