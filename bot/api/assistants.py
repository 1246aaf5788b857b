"""Assistants: each graph of the graphs file is one assistant, named by its graph id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api import bodies, listing, wire
from bot.registry import Assistant
from bot.runs import RunManager
from bot.runs.errors import Invalid, NotFound

MANAGER = web.AppKey("sluice_runs", RunManager)


def assistant_json(assistant: Assistant) -> dict[str, Any]:
    return {
        "assistant_id": assistant.assistant_id,
        "graph_id": assistant.graph_id,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "name": assistant.graph_id,
        "description": None,
        "version": 1,
        "created_at": assistant.created_at,
        "updated_at": assistant.created_at,
    }


def graph_names(request: web.Request) -> list[str]:
    return sorted({a.graph_id for a in request.app[MANAGER].registry})


def known_assistant(request: web.Request, assistant_id: str) -> None:
    """Refuses a run's assistant as the LangGraph server does: a name that is no graph is a 422
    listing the graphs, an unknown UUID a 404 (langgraph dev, langgraph-api 0.16.7)."""
    if request.app[MANAGER].registry.find(assistant_id) is not None:
        return
    if bodies.is_uuid(assistant_id):
        raise NotFound("Thread or assistant not found.")
    graphs = ", ".join(graph_names(request))
    raise Invalid(f"Invalid assistant: '{assistant_id}'. Must be either:\n- A valid assistant UUID, or\n"
                  f"- One of the registered graphs: {graphs}")


def _matching(request: web.Request, query: bodies.AssistantCount) -> list[Assistant]:
    if query.graph_id is not None and query.graph_id not in graph_names(request):
        raise NotFound(f"Graph '{query.graph_id}' not found. Expected one of: {graph_names(request)}")
    return [
        a
        for a in request.app[MANAGER].registry
        if (query.graph_id is None or a.graph_id == query.graph_id)
        and (query.name is None or query.name in a.graph_id)
        and (not query.metadata or all(assistant_json(a)["metadata"].get(k) == v for k, v in query.metadata.items()))
    ]


async def search(request: web.Request) -> web.Response:
    query = await bodies.parse(request, bodies.AssistantSearch, optional=True)
    rows = listing.sort_rows([assistant_json(a) for a in _matching(request, query)], query.sort_by, query.sort_order)
    return wire.respond([listing.shape(row, query.select, None) for row in rows[query.offset : query.offset + query.limit]])


async def count(request: web.Request) -> web.Response:
    """How many assistants `search` would find with the same filters (no paging): a bare integer."""
    return wire.respond(len(_matching(request, await bodies.parse(request, bodies.AssistantCount, optional=True))))


def assistant_in_path(request: web.Request) -> Assistant:
    """The assistant the path's {assistant_id} names (its id or its graph id), or NotFound."""
    found = request.app[MANAGER].registry.find(request.match_info["assistant_id"])
    if found is None:
        raise NotFound(f"Assistant '{request.match_info['assistant_id']}' not found")
    return found


async def get(request: web.Request) -> web.Response:
    return wire.respond(assistant_json(assistant_in_path(request)))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/assistants/search", search)
    app.router.add_post("/assistants/count", count)
    app.router.add_get("/assistants/{assistant_id}", get)
