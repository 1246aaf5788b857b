"""What the Slack bot needs from the rest of the service, as small protocols.

`bot.app` hands `bot.slack.build` the runs layer (`bot.runs.RunManager`, which is `Runs`, and
its `spawn`) and the graphs registry (`bot.assistants_view.SlackAssistants`), so the bot's
modules depend on nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from bot.assistant_settings import AssistantSettings
from bot.runs import AnswerRefused, NotFound, ResumeConflict, RunEvent

__all__ = ["Runs", "ResumeConflict", "AnswerRefused", "NotFound", "Assistants", "Spawn", "RunEvent"]


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
        checkpoint_id: str | None = None,
        run_id: str | None = None,
        on_queued: Callable[[], Awaitable[None]] | None = None,
        interrupt_ids: tuple[str, ...] = (),
    ) -> None:
        """Resumes the thread's pending pause (the one at `checkpoint_id` when given); raises
        `ResumeConflict` when it was already answered or the thread moved on (or, with `interrupt_ids`,
        when any of them is no longer pending: a node asking again at the same checkpoint). With `run_id`, a
        second call (another process) queues nothing more and waits for that run; `on_queued` is
        awaited once the run is queued."""

    async def head(self, thread_id: str) -> str | None:
        """The id of the thread's latest checkpoint, or None."""

    async def retry(
        self, thread_id: str, assistant_id: str, *, checkpoint_id: str, config: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        """Continues a failed thread from its last checkpoint (at `checkpoint_id`) and waits for the run
        to end; raises `ResumeConflict` when the thread moved on."""

    async def start(self, assistant_id: str, input: Any, *, config: dict[str, Any], metadata: dict[str, Any]) -> str:
        """Starts a run on a new thread; returns the thread id."""


class Assistants(Protocol):
    def names(self) -> list[str]: ...

    def default_channel(self, assistant_id: str) -> str | None: ...

    def approvers(self, assistant_id: str) -> frozenset[str]: ...

    def notify_on_finish(self, assistant_id: str) -> bool:
        """Whether a run a decision started says so in the pause's thread when it finishes."""

    def settings(self, assistant_id: str) -> AssistantSettings:
        """The assistant's `sluice` settings (defaults for an unknown one)."""

    def input_for(self, assistant_id: str, text: str) -> Any:
        """The run input for a request typed in Slack (`/sluice <assistant> <text>`)."""


class Spawn(Protocol):
    def __call__(self, coro: Coroutine[Any, Any, Any], /) -> Any: ...
