"""The LangGraph-server-compatible HTTP API: the published `langgraph_sdk` client works against it.

`add_api(app, manager, api_key)` mounts every route on the service's aiohttp application.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from bot.api import assistants, auth, runs, threads, wire
from bot.api.assistants import MANAGER
from bot.runs import RunManager, RunsError
from engine.errors import CheckpointerError, SluiceError

log = logging.getLogger("sluice.api")
VERSION = "0.1.0"


@web.middleware
async def errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except RunsError as exc:
        return wire.problem(exc.status, exc.detail)
    except (CheckpointerError, RedisError) as exc:  # storage down: the request may be retried
        log.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return wire.problem(503, f"Storage unavailable ({type(exc).__name__}): {exc}. Retry once Redis answers.")
    except SluiceError as exc:  # a graph-level refusal (bad breakpoint, unknown node, bad update)
        return wire.problem(422 if auth.is_api_path(request.path) else 400, f"{type(exc).__name__}: {exc}")


async def ok(request: web.Request) -> web.Response:
    return wire.respond({"ok": True})


async def info(request: web.Request) -> web.Response:
    return wire.respond({"version": VERSION, "langgraph_py_version": None, "flags": {"assistants": True, "crons": False}})


def add_api(app: web.Application, manager: RunManager, api_key: str | None) -> None:
    app[MANAGER] = manager
    app.middlewares.append(auth.middleware(api_key))
    app.middlewares.append(errors)
    app.router.add_get("/ok", ok)
    app.router.add_get("/info", info)
    assistants.add_routes(app)
    threads.add_routes(app)
    runs.add_routes(app)


__all__ = ["add_api", "MANAGER", "VERSION"]
