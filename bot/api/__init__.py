"""The LangGraph-server-compatible HTTP API: the published `langgraph_sdk` client works against it.

`add_api(app, manager, api_key)` mounts every route on the service's aiohttp application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.api import (
    assistants,
    audit,
    auth,
    bodies,
    bulk,
    errors,
    introspection,
    runs,
    thread_stream,
    threads,
    unsupported,
    wire,
)
from bot.api.assistants import MANAGER
from bot.runs import RunManager

VERSION = "0.1.0"


@web.middleware
async def path_ids(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Ids in the URL are UUIDs, checked before anything uses them (`if_not_exists: "create"` would
    otherwise make a thread whose id ends up in Slack messages and Redis keys)."""
    for name, label in (("thread_id", "thread"), ("run_id", "run")):
        value = request.match_info.get(name)
        if value is not None and not bodies.is_uuid(value):
            return wire.problem(422, f"Invalid {label} ID: must be a UUID")
    return await handler(request)


async def ok(request: web.Request) -> web.Response:
    return wire.respond({"ok": True})


async def info(request: web.Request) -> web.Response:
    return wire.respond({"version": VERSION, "langgraph_py_version": None, "flags": {"assistants": True, "crons": False}})


def add_api(app: web.Application, manager: RunManager, api_key: str | None) -> None:
    app[MANAGER] = manager
    app.middlewares.append(auth.middleware(api_key))
    app.middlewares.append(unsupported.middleware)
    app.middlewares.append(errors.middleware)
    app.middlewares.append(path_ids)
    app.router.add_get("/ok", ok)
    app.router.add_get("/info", info)
    assistants.add_routes(app)
    introspection.add_routes(app)
    threads.add_routes(app)
    thread_stream.add_routes(app)
    runs.add_routes(app)
    bulk.add_routes(app)
    audit.add_routes(app)


__all__ = ["add_api", "MANAGER", "VERSION"]
