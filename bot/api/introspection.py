"""What an assistant's graph looks like: its drawing (nodes and edges), its schemas and its
subgraphs' schemas, read from the compiled graph (nothing runs)."""

from __future__ import annotations

from aiohttp import web

from bot.api import wire
from bot.api.assistants import assistant_in_path, assistant_json
from bot.runs.errors import Invalid, NotFound
from engine.drawing import graph_json
from engine.schemas_json import graph_schemas, subgraph_schemas


def _xray(raw: str | None) -> bool | int:
    """`xray`: true/false, or how many levels of subgraphs to show (a positive integer)."""
    if not raw or raw in ("false", "False"):
        return False
    if raw in ("true", "True"):
        return True
    try:
        depth = int(raw)
    except ValueError:
        depth = 0
    if depth <= 0:
        raise Invalid("Invalid xray value: use true, false or a positive number of subgraph levels")
    return depth


def _flag(raw: str | None) -> bool:
    return (raw or "").lower() in ("1", "true")


async def graph(request: web.Request) -> web.Response:
    xray = _xray(request.query.get("xray"))
    return wire.respond(graph_json(assistant_in_path(request).graph, xray))


async def schemas(request: web.Request) -> web.Response:
    assistant = assistant_in_path(request)
    return wire.respond({"graph_id": assistant.graph_id,
                         **graph_schemas(assistant.graph, f"{assistant.graph_id}_state")})


async def subgraphs(request: web.Request) -> web.Response:
    found = subgraph_schemas(
        assistant_in_path(request).graph, request.match_info.get("namespace"), recurse=_flag(request.query.get("recurse"))
    )
    return wire.respond(found)


async def versions(request: web.Request) -> web.Response:
    """An assistant of the graphs file has one version, its own."""
    assistant = assistant_json(assistant_in_path(request))
    return wire.respond([{k: v for k, v in assistant.items() if k != "updated_at"}])


async def set_latest(request: web.Request) -> web.Response:
    assistant = assistant_in_path(request)
    try:
        version = (await request.json()).get("version")
    except ValueError:
        version = None
    if version != 1:
        raise NotFound(f"Assistant '{assistant.graph_id}' has version 1 only (from the graphs file)")
    return wire.respond(assistant_json(assistant))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/assistants/{assistant_id}/graph", graph)
    app.router.add_get("/assistants/{assistant_id}/schemas", schemas)
    app.router.add_get("/assistants/{assistant_id}/subgraphs", subgraphs)
    app.router.add_get("/assistants/{assistant_id}/subgraphs/{namespace}", subgraphs)
    app.router.add_post("/assistants/{assistant_id}/versions", versions)
    app.router.add_post("/assistants/{assistant_id}/latest", set_latest)
