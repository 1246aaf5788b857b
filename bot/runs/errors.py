"""How the runs layer refuses: the errors its callers (HTTP API, Slack bot) catch."""

from __future__ import annotations


class ResumeConflict(Exception):
    """The pause was answered elsewhere, or the thread moved on, before this resume could claim it."""


class RunsError(Exception):
    """A request the runs layer refuses; `status` is the HTTP code the LangGraph server uses."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class PauseGone(RunsError, ResumeConflict):
    """A resume named a pause that is no longer the thread's current one (answered elsewhere)."""

    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)
