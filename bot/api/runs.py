"""Runs: create, wait, stream (SSE), join, list, cancel; stateless runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from bot.api import bodies, listing, wire
from bot.api.assistants import MANAGER, known_assistant
from bot.runs import RunManager, RunRecord, RunRequest
from bot.runs.errors import Invalid, NotFound

HEARTBEAT_S = 5.0
DISCONNECT_POLL_S = 0.25  # how often a run asked to stop with its client looks whether the client went
CANCEL_ON_DISCONNECT = "sluice.cancel_on_disconnect"  # the request asked on_disconnect="cancel"
RUN_FIELDS = ("run_id", "thread_id", "assistant_id", "created_at", "updated_at", "status", "metadata", "kwargs",
              "multitask_strategy", "cancel_reason")  # what runs.list(select=...) may name
NO_RUN_TO_CANCEL = (  # the LangGraph server's words
    "No matching runs to cancel. Please verify the thread ID and run IDs are correct, "
    "and the runs haven't been deleted or completed."
)
log = logging.getLogger("sluice.api")


def _manager(request: web.Request) -> RunManager:
    return request.app[MANAGER]


def run_request(body: bodies.RunCreate) -> RunRequest:
    """The runs layer's request for a run body (`context` also reaches the config as `configurable`)."""
    config = dict(body.config or {})
    if body.context:
        config["configurable"] = {**body.context, **(config.get("configurable") or {})}
    modes = (body.stream_mode,) if isinstance(body.stream_mode, str) else tuple(body.stream_mode)
    return RunRequest(
        assistant_id=body.assistant_id,
        input=body.input,
        command=body.command_dict(),
        config=config,
        metadata=dict(body.metadata or {}),
        interrupt_before=body.interrupt_before,
        interrupt_after=body.interrupt_after,
        checkpoint_id=body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id"),
        multitask_strategy=body.multitask_strategy,
        stream_mode=modes,
        stream_subgraphs=body.stream_subgraphs,
        context=body.context,
        audit_as="api",  # a resume is audited by its run, from the pause it finds (no read here)
    )


async def _submit(request: web.Request, stateless: bool = False) -> RunRecord:
    body = await bodies.parse(request, bodies.RunCreate)
    known_assistant(request, body.assistant_id)
    if body.on_disconnect == "cancel":
        request[CANCEL_ON_DISCONNECT] = True
    thread_id = None if stateless else request.match_info["thread_id"]
    manager = _manager(request)
    await _known_checkpoint(manager, thread_id, body)
    if not (stateless and body.on_completion == "keep"):
        return await manager.submit(thread_id, run_request(body), if_not_exists=body.if_not_exists)
    kept = (await manager.create_thread()).thread_id  # the run's thread stays once it ended: an ordinary thread
    try:
        return await manager.submit(kept, run_request(body))
    except Exception:
        await manager.delete_thread(kept)
        raise


async def _known_checkpoint(manager: RunManager, thread_id: str | None, body: bodies.RunCreate) -> None:
    """A run from a checkpoint the thread does not have is refused before it starts (it would fail at
    once and leave the thread in `error`): not a UUID is a 422, as the LangGraph server answers."""
    checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
    if not checkpoint_id:
        return
    if not isinstance(checkpoint_id, str) or not bodies.is_uuid(checkpoint_id):
        raise Invalid("Invalid checkpoint ID")
    found = None
    if thread_id is not None:
        with contextlib.suppress(NotFound):  # no such thread: submit says so (or creates it, then it has none)
            found = (await manager.state(thread_id, checkpoint_id)).created_at
    if found is None:
        raise NotFound(f"Checkpoint {checkpoint_id} not found on this thread")


def _cancel_on_disconnect(request: web.Request, run: RunRecord) -> asyncio.Task[None] | None:
    """on_disconnect="cancel" (runs.wait / runs.stream): once the client that waits on the run is gone,
    the run is cancelled, as the LangGraph server does; the watch ends with the response."""
    if not request.get(CANCEL_ON_DISCONNECT):
        return None
    manager = _manager(request)

    async def watch() -> None:
        while True:  # aiohttp tells a handler nothing when its client goes: its transport closes
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await asyncio.sleep(DISCONNECT_POLL_S)
        reason = "the client disconnected (on_disconnect=cancel)"
        manager.spawn(_quietly(asyncio.ensure_future(manager.cancel(run.thread_id, run.run_id, reason=reason))))

    return asyncio.ensure_future(watch())


def _location(run: RunRecord) -> dict[str, str]:
    return {"Content-Location": f"/threads/{run.thread_id}/runs/{run.run_id}"}


async def create(request: web.Request) -> web.Response:
    run = await _submit(request)
    return wire.respond(run.to_json(), headers=_location(run))


async def create_stateless(request: web.Request) -> web.Response:
    run = await _submit(request, stateless=True)
    return wire.respond(run.to_json(), headers=_location(run))


async def _wait_response(request: web.Request, run: RunRecord) -> web.StreamResponse:
    """The run's result as the JSON body. A run that ends within the first heartbeat period is
    answered in one response (headers and body in one write); a longer one gets its headers, then a
    newline every few seconds (as the LangGraph server does, so proxies keep the connection)."""
    manager = _manager(request)
    response: web.StreamResponse | None = None
    result: Any
    watching = _cancel_on_disconnect(request, run)
    try:
        ended = await manager.join_within(run.thread_id, run.run_id, HEARTBEAT_S)  # most runs: no task, no heartbeat
        if ended is None:
            join = asyncio.ensure_future(manager.join(run.thread_id, run.run_id))
            try:
                while True:
                    if response is None:
                        response = web.StreamResponse(headers={"Content-Type": "application/json", **_location(run)})
                        await response.prepare(request)
                    await response.write(b"\n")
                    done, _ = await asyncio.wait({join}, timeout=HEARTBEAT_S)
                    if done:
                        break
                ended = join.result()
            finally:
                join.cancel()
        result = wire.run_result(ended)
    except Exception as exc:  # the error ends the body with a 200, as the LangGraph server does
        log.warning("waiting for run %s failed: %s", run.run_id, exc)
        result = {"__error__": {"error": type(exc).__name__, "message": str(exc)}}
    finally:
        if watching is not None:
            watching.cancel()
    body = wire.dumps_bytes(result)
    if response is None:
        return web.Response(body=body, headers={"Content-Type": "application/json", **_location(run)})
    await response.write(body)
    await response.write_eof()
    return response


async def wait(request: web.Request) -> web.StreamResponse:
    run = await _submit(request)
    return await _wait_response(request, run)


async def wait_stateless(request: web.Request) -> web.StreamResponse:
    run = await _submit(request, stateless=True)
    return await _wait_response(request, run)


async def join(request: web.Request) -> web.StreamResponse:
    run = await _manager(request).get_run(request.match_info["thread_id"], request.match_info["run_id"])
    return await _wait_response(request, run)


async def _sse(request: web.Request, run: RunRecord) -> web.StreamResponse:
    watching = _cancel_on_disconnect(request, run)
    try:
        return await _sse_events(request, run)
    finally:
        if watching is not None:
            watching.cancel()


async def _sse_events(request: web.Request, run: RunRecord) -> web.StreamResponse:
    manager = _manager(request)
    queue = manager.listen(run.run_id)
    ended_early = None if queue is not None else await manager.join(run.thread_id, run.run_id)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", **_location(run)}
    )
    await response.prepare(request)

    async def send(event: str, data: Any) -> None:
        await response.write(b"event: " + event.encode() + b"\ndata: " + wire.dumps_bytes(data) + b"\n\n")

    await send("metadata", {"run_id": run.run_id, "attempt": 1})
    if queue is None:  # ended already, or runs in another process: send its outcome
        assert ended_early is not None
        if (failure := wire.failure_told(ended_early)) is not None:
            await send("error", failure.to_json())
        elif ended_early.result is not None:
            await send("values", ended_early.result)
    else:
        sent_error = False
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if item is None:
                break
            sent_error = sent_error or item[0] == "error"
            await send(*item)
        try:
            ended = await manager.join(run.thread_id, run.run_id)
        except Exception as exc:  # e.g. its thread was deleted meanwhile: the headers went, so an event says it
            if not sent_error:
                await send("error", {"error": type(exc).__name__, "message": str(exc)})
        else:
            failure = wire.failure_told(ended)  # ended outside the graph: refused, storage down (a cancel: quietly)
            if failure is not None and not sent_error:
                await send("error", failure.to_json())
    await response.write_eof()
    return response


async def stream(request: web.Request) -> web.StreamResponse:
    run = await _submit(request)
    return await _sse(request, run)


async def stream_stateless(request: web.Request) -> web.StreamResponse:
    run = await _submit(request, stateless=True)
    return await _sse(request, run)


async def join_stream(request: web.Request) -> web.StreamResponse:
    run = await _manager(request).get_run(request.match_info["thread_id"], request.match_info["run_id"])
    return await _sse(request, run)


async def get(request: web.Request) -> web.Response:
    run = await _manager(request).get_run(request.match_info["thread_id"], request.match_info["run_id"])
    return wire.respond(run.to_json())


async def list_runs(request: web.Request) -> web.Response:
    manager = _manager(request)
    thread_id = request.match_info["thread_id"]
    try:
        limit = int(request.query.get("limit", "10"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise Invalid("limit and offset must be integers") from None
    if not 1 <= limit <= bodies.MAX_PAGE or offset < 0:
        raise Invalid(f"limit must be between 1 and {bodies.MAX_PAGE} and offset at least 0")
    select = request.query.getall("select", [])
    if unknown := [f for f in select if f not in RUN_FIELDS]:
        raise Invalid(f"select: {unknown[0]!r} is not a run field; use any of {', '.join(RUN_FIELDS)}")
    runs = await manager.list_runs(thread_id, status=request.query.get("status"), limit=limit, offset=offset)
    return wire.respond([listing.shape(r.to_json(), select, None) for r in runs])


async def cancel(request: web.Request) -> web.Response:
    action = request.query.get("action", "interrupt")
    if action not in ("interrupt", "rollback"):
        raise Invalid("action must be 'interrupt' or 'rollback'")
    manager = _manager(request)
    thread_id, run_id = request.match_info["thread_id"], request.match_info["run_id"]
    if (await manager.get_run(thread_id, run_id)).done:
        raise NotFound(NO_RUN_TO_CANCEL)
    cancelling = asyncio.ensure_future(manager.cancel(thread_id, run_id, action))
    if request.query.get("wait") in ("1", "true", "True"):
        await cancelling
    else:
        manager.spawn(_quietly(cancelling))
    return web.Response(status=204)


async def _quietly(task: asyncio.Future[Any]) -> None:
    with contextlib.suppress(Exception):
        await task


async def delete(request: web.Request) -> web.Response:
    await _manager(request).delete_run(request.match_info["thread_id"], request.match_info["run_id"])
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    # POST /threads/{thread_id}/runs/wait (`wait`) is added first of all, by bot.api.add_api
    app.router.add_post("/runs", create_stateless)
    app.router.add_post("/runs/wait", wait_stateless)
    app.router.add_post("/runs/stream", stream_stateless)
    app.router.add_post("/threads/{thread_id}/runs", create)
    app.router.add_get("/threads/{thread_id}/runs", list_runs)
    app.router.add_post("/threads/{thread_id}/runs/stream", stream)
    app.router.add_get("/threads/{thread_id}/runs/{run_id}", get)
    app.router.add_delete("/threads/{thread_id}/runs/{run_id}", delete)
    app.router.add_get("/threads/{thread_id}/runs/{run_id}/join", join)
    app.router.add_get("/threads/{thread_id}/runs/{run_id}/stream", join_stream)
    app.router.add_post("/threads/{thread_id}/runs/{run_id}/cancel", cancel)
