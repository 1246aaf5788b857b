"""The audit trail over HTTP: `GET /threads/{thread_id}/audit`, and the resumes the API makes.

Behind the same key check as every route (`bot.api.auth`). A resume sent over the API
(`command.resume`) is recorded with actor `api`, one entry per interrupt it answers.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from aiohttp import web

from bot.api import wire
from bot.api.assistants import MANAGER
from bot.audit import AuditEntry
from bot.runs import NotFound, RunManager, RunRecord

log = logging.getLogger("sluice.api")


async def get(request: web.Request) -> web.Response:
    manager: RunManager = request.app[MANAGER]
    thread_id = request.match_info["thread_id"]
    entries = await manager.audit.entries(thread_id)
    if not entries:
        await manager.thread(thread_id)  # 404 for a thread that does not exist
    return wire.respond([e.to_json() for e in entries])


async def pending_ids(manager: RunManager, thread_id: str | None, command: dict[str, Any] | None) -> list[str]:
    """The interrupts a resume about to be sent answers (read before it runs)."""
    if not thread_id or not command or "resume" not in command:
        return []
    with contextlib.suppress(NotFound):
        snapshot = await manager.state(thread_id)
        ids = [i.id for i in snapshot.interrupts]
        resume = command["resume"]
        if isinstance(resume, dict) and resume and set(resume) <= set(ids):
            return [i for i in ids if i in resume]
        return ids
    return []


async def record_resume(manager: RunManager, run: RunRecord, ids: list[str], command: dict[str, Any]) -> None:
    resume = command.get("resume")
    for interrupt_id in ids:
        value = resume[interrupt_id] if isinstance(resume, dict) and interrupt_id in resume else resume
        entry = AuditEntry(run.thread_id, manager.assistant(run.assistant_id).graph_id, interrupt_id, "resume", "api", after=value,
                           detail=f"run {run.run_id}")
        try:
            await manager.audit.append(entry)
        except Exception:
            log.exception("audit of an API resume on thread %s failed", run.thread_id)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/threads/{thread_id}/audit", get)
