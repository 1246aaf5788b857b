"""Threads and their state: create, read, search, delete; state, history and updates."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api import bodies, wire
from bot.api.assistants import MANAGER
from bot.records import ThreadRecord
from bot.run_request import RunsError
from bot.runs import RunManager


def _manager(request: web.Request) -> RunManager:
    return request.app[MANAGER]


def thread_json(record: ThreadRecord) -> dict[str, Any]:
    return wire.to_wire(record.to_json())


async def create(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.ThreadCreate, optional=True)
    record = await _manager(request).create_thread(body.thread_id, body.metadata, body.if_exists)
    return wire.respond(thread_json(record))


async def get(request: web.Request) -> web.Response:
    return wire.respond(thread_json(await _manager(request).thread(request.match_info["thread_id"])))


async def patch(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.ThreadPatch)
    manager = _manager(request)
    record = await manager.thread(request.match_info["thread_id"])
    record.metadata = {**record.metadata, **body.metadata}
    await manager.records.put_thread(record)
    return wire.respond(thread_json(record))


async def delete(request: web.Request) -> web.Response:
    await _manager(request).delete_thread(request.match_info["thread_id"])
    return web.Response(status=204)


async def search(request: web.Request) -> web.Response:
    query = await bodies.parse(request, bodies.ThreadSearch, optional=True)
    manager = _manager(request)
    matches: list[dict[str, Any]] = []
    offset = 0
    # Filters apply after reading, page by page, so `limit` counts matching threads.
    while len(matches) < query.offset + query.limit:
        page = await manager.records.search_threads(limit=100, offset=offset)
        if not page:
            break
        offset += len(page)
        for record in page:
            if query.status and record.status != query.status:
                continue
            if query.metadata and any(record.metadata.get(k) != v for k, v in query.metadata.items()):
                continue
            values = record.values if isinstance(record.values, dict) else {}
            if query.values and any(values.get(k) != v for k, v in query.values.items()):
                continue
            matches.append(thread_json(record))
    return wire.respond(matches[query.offset : query.offset + query.limit])


async def state(request: web.Request) -> web.Response:
    subgraphs = request.query.get("subgraphs", "").lower() in ("1", "true")
    snapshot = await _manager(request).state(
        request.match_info["thread_id"], request.match_info.get("checkpoint_id"), subgraphs=subgraphs
    )
    return wire.respond(wire.thread_state(snapshot))


async def state_at(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.CheckpointQuery)
    checkpoint_id = body.checkpoint.get("checkpoint_id")
    snapshot = await _manager(request).state(request.match_info["thread_id"], checkpoint_id, subgraphs=body.subgraphs)
    return wire.respond(wire.thread_state(snapshot))


async def update_state(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.StateUpdate)
    manager = _manager(request)
    thread_id = request.match_info["thread_id"]
    record = await manager.thread(thread_id)
    if await manager.records.queued(thread_id):
        raise RunsError(409, "Thread is busy: wait for its run to finish before updating its state.")
    configurable: dict[str, Any] = {"thread_id": thread_id}
    checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    graph = manager.thread_graph(record)
    config = await graph.aupdate_state({"configurable": configurable}, body.values, as_node=body.as_node)
    snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    record.values = wire.to_wire(snapshot.values)
    record.status = "interrupted" if snapshot.next else "idle"
    await manager.records.put_thread(record)
    ref = wire.checkpoint_ref(config)
    return wire.respond({"checkpoint": ref, "configurable": ref, "checkpoint_id": (ref or {}).get("checkpoint_id")})


async def history(request: web.Request) -> web.Response:
    body = await bodies.parse(request, bodies.HistoryQuery, optional=True)
    manager = _manager(request)
    thread_id = request.match_info["thread_id"]
    graph = manager.thread_graph(await manager.thread(thread_id))
    before = body.before if isinstance(body.before, str) else (body.before or {}).get("checkpoint_id")
    states = [
        wire.thread_state(s)
        async for s in graph.aget_state_history(
            {"configurable": {"thread_id": thread_id}},
            filter=body.metadata or None,
            before={"configurable": {"checkpoint_id": before}} if before else None,
            limit=body.limit,
        )
    ]
    return wire.respond(states)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/threads", create)
    app.router.add_post("/threads/search", search)
    app.router.add_get("/threads/{thread_id}", get)
    app.router.add_patch("/threads/{thread_id}", patch)
    app.router.add_delete("/threads/{thread_id}", delete)
    app.router.add_get("/threads/{thread_id}/state", state)
    app.router.add_post("/threads/{thread_id}/state", update_state)
    app.router.add_post("/threads/{thread_id}/state/checkpoint", state_at)
    app.router.add_get("/threads/{thread_id}/state/{checkpoint_id}", state)
    app.router.add_post("/threads/{thread_id}/history", history)
    app.router.add_get("/threads/{thread_id}/history", history)
