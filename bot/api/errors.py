"""The one place where refusals become HTTP answers: the runs layer's domain errors and the
engine's errors, each kind with the status code the LangGraph server uses for it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.api import auth, wire
from bot.runs.errors import Conflict, Invalid, NotFound, RunsError, StorageUnavailable
from engine.errors import CheckpointerError, SluiceError

log = logging.getLogger("sluice.api")

STATUS: dict[type[RunsError], int] = {NotFound: 404, Conflict: 409, Invalid: 422, StorageUnavailable: 503}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status_of(exc: RunsError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StorageUnavailable as exc:  # the request may be retried
        log.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return wire.problem(503, exc.detail)
    except RunsError as exc:
        return wire.problem(status_of(exc), exc.detail)
    except CheckpointerError as exc:  # the checkpointer's storage is down: the request may be retried
        log.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return wire.problem(503, f"Storage unavailable ({type(exc).__name__}): {exc}. Retry once Redis answers.")
    except SluiceError as exc:  # a graph-level refusal (bad breakpoint, unknown node, bad update)
        return wire.problem(422 if auth.is_api_path(request.path) else 400, f"{type(exc).__name__}: {exc}")
