"""What the Slack bot needs from the rest of the service, as small protocols.

The runs layer (`bot.runs.RunManager`), the graphs registry and the background scheduler are
adapted to these in `bot.slack.setup`, so the bot's modules depend on nothing else.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Runs(Protocol):
    async def resume(
        self,
        thread_id: str,
        assistant_id: str,
        value: Any,
        *,
        is_breakpoint: bool,
        config: dict[str, Any],
        metadata: dict[str, Any],
    ) -> None:
        """Resumes the thread's pending pause; raises `ResumeConflict` when it was already answered."""

    async def start(self, assistant_id: str, input: Any, *, config: dict[str, Any], metadata: dict[str, Any]) -> str:
        """Starts a run on a new thread; returns the thread id."""


class ResumeConflict(Exception):
    """The pause was answered elsewhere, or the thread moved on, before this resume could claim it."""


class Assistants(Protocol):
    def names(self) -> list[str]: ...

    def default_channel(self, assistant_id: str) -> str | None: ...

    def approvers(self, assistant_id: str) -> frozenset[str]: ...

    def input_for(self, assistant_id: str, text: str) -> Any:
        """The run input for a request typed in Slack (`/sluice <assistant> <text>`)."""


class Spawn(Protocol):
    def __call__(self, coro: Coroutine[Any, Any, Any], /) -> Any: ...


@dataclass(frozen=True)
class RunEvent:
    """A run paused, finished or failed, as the Slack bot needs to know it."""

    kind: str  # "paused" | "finished" | "failed"
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
