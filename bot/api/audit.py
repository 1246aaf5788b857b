"""The audit trail over HTTP: `GET /threads/{thread_id}/audit`.

Behind the same key check as every route (`bot.api.auth`). A resume sent over the API
(`command.resume`) is recorded with actor `api`, one entry per interrupt it answers, by its run
as it starts (`RunRequest.audit_as`, bot.runs.execution).
"""

from __future__ import annotations

from aiohttp import web

from bot.api import wire
from bot.api.assistants import MANAGER
from bot.runs import RunManager


async def get(request: web.Request) -> web.Response:
    manager: RunManager = request.app[MANAGER]
    thread_id = request.match_info["thread_id"]
    entries = await manager.audit.entries(thread_id)
    if not entries:
        await manager.thread(thread_id)  # 404 for a thread that does not exist
    return wire.respond([e.to_json() for e in entries])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/threads/{thread_id}/audit", get)
