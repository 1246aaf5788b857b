"""What a run is asked to do: the request its entry points (HTTP API, Slack) hand the runs layer,
and how a request's command and breakpoints are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import Command, CompiledGraph, Send, StateSnapshot

MULTITASK_STRATEGIES = ("reject", "enqueue", "interrupt", "rollback")


@dataclass(frozen=True)
class RunRequest:
    assistant_id: str
    input: Any = None
    command: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    interrupt_before: list[str] | str | None = None
    interrupt_after: list[str] | str | None = None
    checkpoint_id: str | None = None
    multitask_strategy: str = "enqueue"
    stream_mode: tuple[str, ...] = ("values",)
    stream_subgraphs: bool = False  # subgraphs' chunks too, as events named "<mode>|<namespace>"
    context: dict[str, Any] | None = None  # the run context nodes see as `runtime.context`
    expected_checkpoint: str | None = None  # resume only while the thread is still at this pause
    # ... and only while these interrupts are still pending there: a node that asks again waits at the
    # same checkpoint with new interrupt ids, and an answer to its first question must not answer those
    expected_interrupts: tuple[str, ...] = ()
    adopted: bool = False  # continues the run of a process that died
    audit_as: str | None = None  # the actor the resume it carries is audited as ("api"), once it runs

    def thread_config(self) -> dict[str, Any]:
        """The config its thread shows once it runs there, as the LangGraph server keeps it: the run's
        config (tags, recursion_limit, ...) without its `configurable` values, which stay the run's."""
        return {**self.config, "configurable": {}}

    def kwargs(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "command": self.command,
            "config": self.config,
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "checkpoint_id": self.checkpoint_id,
            "stream_mode": list(self.stream_mode),
            "stream_subgraphs": self.stream_subgraphs,
            "context": self.context,
        }


def command_from_json(body: dict[str, Any]) -> Command:
    """A Command from its wire form (`{"resume"?, "update"?, "goto"?}`, goto as name(s) or Send dicts)."""
    goto = body.get("goto")
    if isinstance(goto, dict):
        goto = Send(goto["node"], goto.get("input"))
    elif isinstance(goto, list):
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in goto]
    kwargs: dict[str, Any] = {}
    if "resume" in body:
        kwargs["resume"] = body["resume"]
    if body.get("update") is not None:
        update = body["update"]
        kwargs["update"] = [tuple(pair) for pair in update] if isinstance(update, list) else update
    if goto is not None:
        kwargs["goto"] = goto
    return Command(**kwargs)


def breakpoint_of(
    graph: CompiledGraph, request: RunRequest, state: StateSnapshot, last_updated: list[str]
) -> tuple[str, tuple[str, ...]]:
    """Where a run stopped at a static breakpoint: ("before", next nodes) or ("after", nodes that ran)."""
    before = request.interrupt_before if request.interrupt_before is not None else graph.interrupt_before_nodes
    after = request.interrupt_after if request.interrupt_after is not None else graph.interrupt_after_nodes
    if before == "*" or any(n in (before or ()) for n in state.next):
        return ("before", tuple(state.next))
    if last_updated and (after == "*" or any(n in (after or ()) for n in last_updated)):
        return ("after", tuple(last_updated))
    return ("before", tuple(state.next))
