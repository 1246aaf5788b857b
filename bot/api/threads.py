"""Threads and their state: create, read, search, delete; state, history and updates."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from aiohttp import web

from bot.api import bodies, listing, wire
from bot.api.assistants import MANAGER
from bot.runs import RunManager, ThreadRecord
from bot.runs.errors import NotFound
from engine import StateSnapshot


def _manager(request: web.Request) -> RunManager:
    return request.app[MANAGER]


def thread_json(record: ThreadRecord) -> dict[str, Any]:
    return record.to_json()  # plain JSON as `wire.respond` writes it


async def create(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.ThreadCreate, optional=True)
    manager = _manager(request)
    if body.supersteps and body.thread_id and body.if_exists == "do_nothing":
        with contextlib.suppress(NotFound):  # an existing thread is returned as it is, its state untouched
            return wire.respond(thread_json(await manager.thread(body.thread_id)))
    record = await manager.create_thread(body.thread_id, body.metadata, body.if_exists)
    if body.supersteps:
        record = await _apply_supersteps(manager, record.thread_id, body.supersteps)
    return wire.respond(thread_json(record))


async def _apply_supersteps(manager: RunManager, thread_id: str, supersteps: list[bodies.Superstep]) -> ThreadRecord:
    """`threads.create(supersteps=...)`: each update written in order, as `update_state(values, as_node)`;
    a refused one deletes the new thread again, so a failed create leaves nothing behind."""
    try:
        for superstep in supersteps:
            for update in superstep.updates:
                await manager.update_state(thread_id, update.values, as_node=update.as_node)
    except BaseException:
        with contextlib.suppress(Exception):
            await manager.delete_thread(thread_id)
        raise
    return await manager.thread(thread_id)


async def get(request: web.Request) -> web.Response:
    return wire.respond(thread_json(await _manager(request).thread(request.match_info["thread_id"])))


async def patch(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.ThreadPatch)
    record = await _manager(request).patch_thread_metadata(request.match_info["thread_id"], body.metadata)
    return wire.respond(thread_json(record))


async def delete(request: web.Request) -> web.Response:
    await _manager(request).delete_thread(request.match_info["thread_id"])
    return web.Response(status=204)


async def search(request: web.Request) -> web.Response:
    query = await bodies.parse(request, bodies.ThreadSearch, optional=True)
    whole = query.ids is not None or query.sort_by is not None  # filter or order every match, then page
    found = await _manager(request).search_threads(
        status=query.status, metadata=query.metadata, values=query.values,
        limit=sys.maxsize if whole else query.limit, offset=0 if whole else query.offset,
    )
    rows = [thread_json(record) for record in found if query.ids is None or record.thread_id in query.ids]
    if whole:
        rows = listing.sort_rows(rows, query.sort_by, query.sort_order)[query.offset : query.offset + query.limit]
    return wire.respond([listing.shape(row, query.select, query.extract) for row in rows])


async def count(request: web.Request) -> web.Response:
    """How many threads `search` would find with the same filters (no paging): a bare integer."""
    query = await bodies.parse(request, bodies.ThreadCount, optional=True)
    found = await _manager(request).search_threads(
        status=query.status, metadata=query.metadata, values=query.values, limit=sys.maxsize, offset=0
    )
    return wire.respond(len(found))


async def state(request: web.Request) -> web.Response:
    subgraphs = request.query.get("subgraphs", "").lower() in ("1", "true")
    checkpoint_id = request.match_info.get("checkpoint_id")
    snapshot = await _manager(request).state(request.match_info["thread_id"], checkpoint_id, subgraphs=subgraphs)
    return _state_response(snapshot, checkpoint_id)


async def state_at(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.CheckpointQuery)
    checkpoint_id = body.checkpoint.get("checkpoint_id")
    ns = body.checkpoint.get("checkpoint_ns") or ""  # a subgraph's checkpoint, as get_state(subgraphs=True) names it
    snapshot = await _manager(request).state(request.match_info["thread_id"], checkpoint_id, subgraphs=body.subgraphs,
                                             checkpoint_ns=ns if isinstance(ns, str) else "")
    return _state_response(snapshot, checkpoint_id)


def _state_response(snapshot: StateSnapshot, checkpoint_id: str | None) -> web.Response:
    if checkpoint_id and snapshot.created_at is None:  # the engine's empty snapshot: no such checkpoint
        return wire.problem(404, f"Checkpoint {checkpoint_id} not found on this thread")
    return wire.respond(wire.thread_state(snapshot))


NO_GRAPH = (  # the LangGraph server's words
    "Thread '{}' has no assigned graph ID. This usually occurs when no runs have been made on this particular "
    "thread. This operation requires a graph ID. Please ensure a run has been made for the thread or manually "
    "update the thread metadata (by setting the 'graph_id' field) before running this operation."
)


async def update_state(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.StateUpdate)
    checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
    record = await _manager(request).thread(request.match_info["thread_id"])
    if record.graph_id is None and not record.metadata.get("graph_id"):  # no graph to apply the update with
        return wire.problem(400, NO_GRAPH.format(record.thread_id))
    config = await _manager(request).update_state(
        request.match_info["thread_id"], body.values, as_node=body.as_node, checkpoint_id=checkpoint_id
    )
    ref = wire.checkpoint_ref(config)
    return wire.respond({"checkpoint": ref, "configurable": ref, "checkpoint_id": (ref or {}).get("checkpoint_id")})


async def history(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.HistoryQuery, optional=True)
    manager = _manager(request)
    thread_id = request.match_info["thread_id"]
    graph = manager.thread_graph(await manager.thread(thread_id))
    before = body.before if isinstance(body.before, str) else (body.before or {}).get("checkpoint_id")
    # `checkpoint`: a subgraph's history by its namespace; with a checkpoint id, that checkpoint alone
    # (as the LangGraph server answers it, and as the engine lists it).
    checkpoint = {k: v for k, v in (body.checkpoint or {}).items() if k in ("checkpoint_ns", "checkpoint_id") and v}
    states = [
        wire.thread_state(s)
        async for s in graph.aget_state_history(
            {"configurable": {"thread_id": thread_id, **checkpoint}},
            filter=body.metadata or None,
            before={"configurable": {"checkpoint_id": before}} if before else None,
            limit=body.limit,
        )
    ]
    return wire.respond(states)


def add_routes(app: web.Application) -> None:
    # POST /threads (`create`) is added first of all, by bot.api.add_api
    app.router.add_post("/threads/search", search)
    app.router.add_post("/threads/count", count)
    app.router.add_get("/threads/{thread_id}", get)
    app.router.add_patch("/threads/{thread_id}", patch)
    app.router.add_delete("/threads/{thread_id}", delete)
    app.router.add_get("/threads/{thread_id}/state", state)
    app.router.add_post("/threads/{thread_id}/state", update_state)
    app.router.add_post("/threads/{thread_id}/state/checkpoint", state_at)
    app.router.add_get("/threads/{thread_id}/state/{checkpoint_id}", state)
    app.router.add_post("/threads/{thread_id}/history", history)
    app.router.add_get("/threads/{thread_id}/history", history)
