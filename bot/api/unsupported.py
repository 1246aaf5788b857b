"""What the LangGraph server offers and Sluice does not: each answers a JSON error saying so, never an
HTML page or a 500, so a `langgraph_sdk` call fails with a message a user can act on.

`answer` also turns the router's own 404/405 on API paths into `{"detail": ...}` bodies, as the
LangGraph server answers them.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.api import auth, wire

ASSISTANTS_FIXED = (
    "Sluice's assistants are the graphs of its graphs file (SLUICE_GRAPHS), one per graph: they cannot be "
    "created, changed or deleted over the API. Edit the graphs file and restart instead."
)
# (method or "*", path pattern, why): first match wins; only paths no route of ours answers get here.
FEATURES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("*", re.compile(r"^(/threads/[^/]+)?/runs/crons(/.*)?$"),
     "Sluice does not run crons (scheduled runs): start runs from your own scheduler with runs.create."),
    ("*", re.compile(r"^/store(/.*)?$"),
     "Sluice does not provide the long-term memory store (/store) on this server."),
    ("POST", re.compile(r"^/assistants$"), ASSISTANTS_FIXED),
    ("PATCH", re.compile(r"^/assistants/[^/]+$"), ASSISTANTS_FIXED),
    ("DELETE", re.compile(r"^/assistants/[^/]+$"), ASSISTANTS_FIXED),
    ("POST", re.compile(r"^/threads/[^/]+/copy$"),
     "Sluice does not copy threads: start a new thread and update its state, or fork with a checkpoint_id."),
)


def unsupported(method: str, path: str) -> str | None:
    """Why Sluice does not answer `method path`, when it is a LangGraph server feature it leaves out."""
    for allowed, pattern, why in FEATURES:
        if allowed in ("*", method) and pattern.match(path):
            return why
    return None


def answer(request: web.Request, exc: web.HTTPNotFound | web.HTTPMethodNotAllowed) -> web.Response:
    """The JSON answer to the router's 404/405 on an API path (`bot.api.gate`); elsewhere it stands."""
    if not auth.is_api_path(request.path):
        raise exc
    why = unsupported(request.method, request.path)
    if why is not None:
        return wire.problem(501, why)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return wire.respond({"detail": "Method Not Allowed"}, status=405, headers={"Allow": exc.headers["Allow"]})
    return wire.problem(404, "Not Found")
