"""Runs and threads in bulk, as `langgraph_sdk` calls them: `runs.cancel_many` (by ids on a thread,
or by status everywhere), `runs.create_batch` (stateless runs) and `threads.prune` (delete many)."""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from aiohttp import web
from pydantic import ValidationError

from bot.api import bodies, wire
from bot.api.assistants import MANAGER, known_assistant
from bot.api.runs import NO_RUN_TO_CANCEL, run_request
from bot.runs import RunManager, RunRecord
from bot.runs.errors import Invalid, NotFound

MAX_BATCH = 100


class Prune(bodies.Body):
    thread_ids: list[str]
    strategy: Literal["delete", "keep_latest"] = "delete"


class CancelMany(bodies.Body):
    thread_id: str | None = None
    run_ids: list[str] | None = None
    status: Literal["pending", "running", "all"] | None = None


def _action(request: web.Request) -> str:
    action = request.query.get("action", "interrupt")
    if action not in ("interrupt", "rollback"):
        raise Invalid("action must be 'interrupt' or 'rollback'")
    return action


async def _by_ids(manager: RunManager, thread_id: str, run_ids: list[str]) -> list[RunRecord]:
    found = []
    for run_id in run_ids:
        if not bodies.is_uuid(run_id):
            raise Invalid(f"Invalid run ID {run_id!r}: must be a UUID")
        try:
            run = await manager.get_run(thread_id, run_id)
        except NotFound:
            continue
        if not run.done:
            found.append(run)
    return found


async def _by_status(manager: RunManager, status: str) -> list[RunRecord]:
    wanted = {"pending", "running"} if status == "all" else {status}
    found: list[RunRecord] = []
    for thread in await manager.search_threads(status="busy", limit=sys.maxsize):
        found.extend(r for r in await manager.list_runs(thread.thread_id, limit=bodies.MAX_PAGE) if r.status in wanted)
    return found


async def cancel_many(request: web.Request) -> web.Response:
    """Cancels the runs named (ids on a thread) or all runs in a status; 404 when none is left to cancel."""
    action = _action(request)
    body = await bodies.parse(request, CancelMany, optional=True)
    manager: RunManager = request.app[MANAGER]
    if body.status is not None:
        if body.thread_id or body.run_ids:
            raise Invalid("Give either status, or thread_id with run_ids, not both")
        runs = await _by_status(manager, body.status)
        if not runs:
            raise NotFound("No runs found to cancel.")
    else:
        if not body.thread_id or not body.run_ids:
            raise Invalid("Give thread_id with run_ids, or status ('pending', 'running' or 'all')")
        if not bodies.is_uuid(body.thread_id):
            raise Invalid("Invalid thread ID: must be a UUID")
        runs = await _by_ids(manager, body.thread_id, body.run_ids)
        if not runs:
            raise NotFound(NO_RUN_TO_CANCEL)
    for run in runs:
        await manager.cancel(run.thread_id, run.run_id, action)
    return web.Response(status=204)


async def create_batch(request: web.Request) -> web.Response:
    """Stateless background runs, one per payload, in order; all payloads are checked first."""
    try:
        payloads = json.loads(await request.read() or b"null")
    except ValueError as exc:
        raise Invalid(f"Invalid JSON body: {exc}") from None
    if not isinstance(payloads, list) or not payloads:
        raise Invalid("The body must be a non-empty JSON array of run payloads")
    if len(payloads) > MAX_BATCH or bodies.too_deep(payloads):
        raise Invalid(f"A batch holds at most {MAX_BATCH} runs of at most {bodies.MAX_DEPTH} levels each")
    parsed = []
    for i, payload in enumerate(payloads):
        try:
            parsed.append(bodies.RunCreate.model_validate(payload))
        except ValidationError as exc:
            raise Invalid(f"run {i}: {bodies.problems(exc)}") from None
        known_assistant(request, parsed[-1].assistant_id)
    manager: RunManager = request.app[MANAGER]
    runs: list[dict[str, Any]] = []
    for body in parsed:
        run = await manager.submit(None, run_request(body), if_not_exists=body.if_not_exists)
        runs.append(run.to_json())
    return wire.respond(runs)


async def prune(request: web.Request) -> web.Response:
    """Deletes the threads named (those that exist) with their checkpoints and runs."""
    body = await bodies.parse(request, Prune)
    if body.strategy != "delete":
        raise Invalid("keep_latest is not supported: Sluice prunes by deleting threads (strategy 'delete')")
    manager: RunManager = request.app[MANAGER]
    pruned = 0
    for thread_id in dict.fromkeys(body.thread_ids):
        if not bodies.is_uuid(thread_id):
            raise Invalid(f"Invalid thread ID {thread_id!r}: must be a UUID")
    for thread_id in dict.fromkeys(body.thread_ids):
        try:
            await manager.delete_thread(thread_id)
        except NotFound:
            continue
        pruned += 1
    return wire.respond({"pruned_count": pruned})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/threads/prune", prune)
    app.router.add_post("/runs/cancel", cancel_many)
    app.router.add_post("/runs/batch", create_batch)
