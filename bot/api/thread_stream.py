"""`GET /threads/{id}/stream` (`threads.join_stream`): every run of a thread as it happens, until the
client leaves or the thread is deleted. As the LangGraph server sends it, each run is framed by
`metadata {"run_id", "attempt"}` and `metadata {"status": "run_done", "run_id"}`, with the run's own
stream modes in between. Runs that had ended before the client came are not replayed.

A run submitted in this process is listened to before its first step (`RunManager.watch_thread`), so
none of its events is missed; one submitted by another process is noticed by polling the thread's
runs and sent as its outcome (its events stay in the process that runs it)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from bot.api import bodies, wire
from bot.api.assistants import MANAGER
from bot.runs import RunManager, RunRecord
from bot.runs.errors import NotFound

HEARTBEAT_S = 5.0
POLL_S = 1.0  # how soon a run submitted by another process is noticed
Listening = asyncio.Queue[tuple[str, Any] | None] | None


class _Stream:
    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.last_write = time.monotonic()

    async def send(self, event: str, data: Any) -> None:
        await self.response.write(b"event: " + event.encode() + b"\ndata: " + wire.dumps_bytes(data) + b"\n\n")
        self.last_write = time.monotonic()

    async def beat_if_due(self) -> None:
        if time.monotonic() - self.last_write >= HEARTBEAT_S:
            await self.response.write(b": heartbeat\n\n")
            self.last_write = time.monotonic()


async def _follow_run(manager: RunManager, out: _Stream, run: RunRecord, queue: Listening) -> None:
    await out.send("metadata", {"run_id": run.run_id, "attempt": 1})
    sent_error = False
    while queue is not None:
        try:
            item = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
        except TimeoutError:
            await out.beat_if_due()
            continue
        if item is None:
            break
        sent_error = sent_error or item[0] == "error"
        await out.send(*item)
    try:
        ended = await manager.join(run.thread_id, run.run_id)
    except Exception as exc:  # e.g. the thread was deleted meanwhile: the headers went, so an event says it
        if not sent_error:
            await out.send("error", {"error": type(exc).__name__, "message": str(exc)})
        return
    failure = wire.failure_told(ended)
    if failure is not None:
        if not sent_error:
            await out.send("error", failure.to_json())
    elif queue is None and ended.result is not None:  # ended already, or runs in another process: its outcome
        await out.send("values", ended.result)
    await out.send("metadata", {"status": "run_done", "run_id": run.run_id})


async def join_thread(request: web.Request) -> web.StreamResponse:
    manager: RunManager = request.app[MANAGER]
    thread_id = request.match_info["thread_id"]
    arrived: asyncio.Queue[tuple[RunRecord, Listening]] = asyncio.Queue()
    unwatch = manager.watch_thread(thread_id, lambda run: arrived.put_nowait((run, manager.listen(run.run_id))))
    try:
        seen = {r.run_id for r in await manager.list_runs(thread_id, limit=bodies.MAX_PAGE) if r.done}
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        out = _Stream(response)
        while True:
            try:
                run, queue = await asyncio.wait_for(arrived.get(), timeout=POLL_S)
            except TimeoutError:
                try:
                    runs = await manager.list_runs(thread_id, limit=bodies.MAX_PAGE)
                except NotFound:  # the thread was deleted: nothing more will come
                    break
                elsewhere = [r for r in reversed(runs) if r.run_id not in seen]  # oldest first
                if not elsewhere:
                    await out.beat_if_due()
                    continue
                run, queue = elsewhere[0], manager.listen(elsewhere[0].run_id)
            if run.run_id in seen:
                continue
            seen.add(run.run_id)
            await _follow_run(manager, out, run, queue)
    finally:
        unwatch()
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/threads/{thread_id}/stream", join_thread)
