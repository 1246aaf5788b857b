"""The one place where refusals become HTTP answers: the runs layer's domain errors and the
engine's errors, each kind with the status code the LangGraph server uses for it."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.api import auth, wire
from bot.runs.errors import Conflict, Invalid, NotFound, RunsError, StorageUnavailable
from engine.errors import CheckpointerError, SluiceError

log = logging.getLogger("sluice.api")

STATUS: dict[type[RunsError], int] = {NotFound: 404, Conflict: 409, Invalid: 422, StorageUnavailable: 503}


def status_of(exc: RunsError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


# What `answer` turns into an HTTP answer; the gate (`bot.api.gate`) catches these around every handler.
ANSWERED = (RunsError, CheckpointerError, SluiceError)


def answer(request: web.Request, exc: RunsError | SluiceError) -> web.Response:
    if isinstance(exc, StorageUnavailable):  # the request may be retried
        log.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return wire.problem(503, exc.detail)
    if isinstance(exc, RunsError):
        return wire.problem(status_of(exc), exc.detail)
    if isinstance(exc, CheckpointerError):  # the checkpointer's storage is down: the request may be retried
        log.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return wire.problem(503, f"Storage unavailable ({type(exc).__name__}): {exc}. Retry once Redis answers.")
    if not auth.is_api_path(request.path):
        return wire.problem(400, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):  # a bad update (unknown node, not a dict), no input: the server's 400, its words
        return wire.problem(400, str(exc))
    return wire.problem(422, f"{type(exc).__name__}: {exc}")  # a graph-level refusal of another kind
