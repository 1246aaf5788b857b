"""The LangGraph-server-compatible HTTP API: the published `langgraph_sdk` client works against it.

`add_api(app, manager, api_key)` mounts every route on the service's aiohttp application.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

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
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bad_id(request: web.Request) -> web.Response | None:
    """Ids in the URL are UUIDs, checked before anything uses them (`if_not_exists: "create"` would
    otherwise make a thread whose id ends up in Slack messages and Redis keys)."""
    match_info = request.match_info
    for name, label in (("thread_id", "thread"), ("run_id", "run")):
        value = match_info.get(name)
        if value is not None and not bodies.is_uuid(value):
            return wire.problem(422, f"Invalid {label} ID: must be a UUID")
    return None


def gate(api_key: str | None) -> Middleware:
    """Every request's checks and error answers, in one middleware (a middleware is a call and a
    coroutine per request): who may call (`auth`), ids in the URL, the runs layer's and the engine's
    refusals as HTTP answers (`errors`), and the router's 404/405 on API paths as JSON (`unsupported`)."""
    refuse = auth.refusal(api_key)

    @web.middleware
    async def api_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refuse(request)
        if refused is not None:
            return refused
        try:
            refused = _bad_id(request)
            if refused is not None:
                return refused
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            return unsupported.answer(request, exc)
        except errors.ANSWERED as exc:
            return errors.answer(request, exc)

    return api_gate


async def ok(request: web.Request) -> web.Response:
    return wire.respond({"ok": True})


async def info(request: web.Request) -> web.Response:
    return wire.respond({"version": VERSION, "langgraph_py_version": None, "flags": {"assistants": True, "crons": False}})


def add_api(app: web.Application, manager: RunManager, api_key: str | None) -> None:
    app[MANAGER] = manager
    app.middlewares.append(gate(api_key))
    # The router tries every route under /threads (all of /threads/{thread_id}/...) in the order added,
    # and no two of their paths match one URL: the two a seed cycle asks most are added first.
    app.router.add_post("/threads", threads.create)
    app.router.add_post("/threads/{thread_id}/runs/wait", runs.wait)
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
