"""How the runs layer refuses: domain errors its callers catch. The HTTP API turns each kind into
its status code in one place (`bot.api.errors`); nothing here knows about HTTP."""

from __future__ import annotations


class ResumeConflict(Exception):
    """The pause was answered elsewhere, or the thread moved on, before this resume could claim it."""


class AnswerRefused(Exception):
    """The graph refused the answer (its interrupt's `response_schema` did not accept it, which
    raises pydantic's ValidationError); the pause stays open and can be answered again."""


class RunsError(Exception):
    """A request the runs layer refuses; `detail` says what happened and what to do."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(RunsError):
    """The thread, run or assistant named does not exist."""


class Conflict(RunsError):
    """The request collides with the thread's state: it exists already, or it is busy."""


class Invalid(RunsError):
    """The request itself is malformed (an unknown strategy, node or action)."""


class StorageUnavailable(RunsError):
    """The record store did not answer; the same request may succeed once it is back."""


class PauseGone(Conflict, ResumeConflict):
    """A resume named a pause that is no longer the thread's current one (answered elsewhere)."""
