"""The playground's page and the small JSON API its script talks to.

GET  /                         the page (static/index.html)
GET  /static/*                 its script and styles
GET  /playground/api/config    examples and the SDK snippet
GET  /playground/api/state     the channel as the local Slack holds it (messages; ?tab=: that tab's modals)
GET  /playground/api/events    server-sent events: `change` whenever that state changes
POST /playground/api/click     a button press -> a signed block_actions payload to the bot
POST /playground/api/submit    a modal submission -> a signed view_submission payload
POST /playground/api/close     the modal's Cancel / x
POST /playground/api/send      the message box: `/sluice ...` is the slash command
POST /playground/api/start     one click on an example: a thread and a run over the HTTP API
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.playground.bridge import Bridge, BridgeError
from bot.playground.examples import Example, sdk_snippet
from bot.playground.launcher import Launcher, LaunchError

STATIC = Path(__file__).parent / "static"
BRIDGE_KEY: web.AppKey[Bridge] = web.AppKey("playground_bridge", Bridge)
LAUNCHER_KEY: web.AppKey[Launcher] = web.AppKey("playground_launcher", Launcher)
BASE_URL_KEY: web.AppKey[str] = web.AppKey("playground_base_url", str)
STOPPING_KEY: web.AppKey[asyncio.Event] = web.AppKey("playground_stopping", asyncio.Event)
EXAMPLES_KEY: web.AppKey[tuple[Example, ...]] = web.AppKey("playground_examples", tuple)
HEARTBEAT_S = 15.0


def add_routes(
    app: web.Application, bridge: Bridge, launcher: Launcher, base_url: str, examples: tuple[Example, ...]
) -> None:
    app[BRIDGE_KEY] = bridge
    app[EXAMPLES_KEY] = examples
    app[LAUNCHER_KEY] = launcher
    app[BASE_URL_KEY] = base_url
    app[STOPPING_KEY] = asyncio.Event()
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, name="playground_static")
    app.router.add_get("/playground/api/config", config)
    app.router.add_get("/playground/api/state", state)
    app.router.add_get("/playground/api/events", events)
    app.router.add_post("/playground/api/click", click)
    app.router.add_post("/playground/api/submit", submit)
    app.router.add_post("/playground/api/close", close)
    app.router.add_post("/playground/api/send", send)
    app.router.add_post("/playground/api/start", start)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def config(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "examples": [e.to_json() for e in request.app[EXAMPLES_KEY]],
            "snippet": sdk_snippet(request.app[BASE_URL_KEY], api_key=request.app[LAUNCHER_KEY].has_api_key),
        }
    )


async def state(request: web.Request) -> web.Response:
    return web.json_response(request.app[BRIDGE_KEY].snapshot(request.query.get("tab") or None))


async def _end_streams(app: web.Application) -> None:
    """Open event streams end at shutdown instead of holding it up until aiohttp's timeout."""
    app[STOPPING_KEY].set()


async def _next_change(bridge: Bridge, seen: int, stopping: asyncio.Event) -> int | None:
    """The next version; `seen` again after a quiet heartbeat period; None when the server stops."""
    change = asyncio.ensure_future(bridge.wait_for_change(seen))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((change, stop), timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (change, stop):
            task.cancel()
    if stopping.is_set():
        return None
    return change.result() if change.done() and not change.cancelled() else seen


async def events(request: web.Request) -> web.StreamResponse:
    """One `change` event per state change (coalesced), and a comment every 15 s to keep it open."""
    bridge, stopping = request.app[BRIDGE_KEY], request.app[STOPPING_KEY]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    seen = bridge.version
    await response.write(f"event: change\ndata: {seen}\n\n".encode())
    with contextlib.suppress(ConnectionResetError):
        while (version := await _next_change(bridge, seen, stopping)) is not None:
            if version == seen:
                await response.write(b": heartbeat\n\n")
                continue
            seen = version
            await response.write(f"event: change\ndata: {seen}\n\n".encode())
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    # JSON only: a browser sends that cross-site only after a CORS preflight we never grant, so
    # another web page cannot press buttons here (a text/plain or form POST would need none).
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send application/json"}), content_type="application/json"
        )
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be JSON"}), content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be an object"}), content_type="application/json"
        )
    return body


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


async def click(request: web.Request) -> web.Response:
    body = await _body(request)
    action_id = _str(body, "action_id")
    if action_id is None:
        return _error(400, "action_id is required")
    try:
        await request.app[BRIDGE_KEY].click(
            channel=_str(body, "channel"),
            ts=_str(body, "ts"),
            view_id=_str(body, "view_id"),
            action_id=action_id,
            block_id=_str(body, "block_id") or "",
            value=_str(body, "value"),
            tab=_str(body, "tab"),
            values=body["values"] if isinstance(body.get("values"), dict) else None,
        )
    except BridgeError as exc:
        return _error(exc.status, str(exc))
    return web.json_response({"ok": True})


async def submit(request: web.Request) -> web.Response:
    body = await _body(request)
    view_id, values = _str(body, "view_id"), body.get("values")
    if view_id is None or not isinstance(values, dict):
        return _error(400, "view_id and values are required")
    try:
        errors = await request.app[BRIDGE_KEY].submit(view_id, values)
    except BridgeError as exc:
        return _error(exc.status, str(exc))
    return web.json_response({"ok": not errors, "errors": errors})


async def close(request: web.Request) -> web.Response:
    body = await _body(request)
    view_id = _str(body, "view_id")
    if view_id is None:
        return _error(400, "view_id is required")
    await request.app[BRIDGE_KEY].close(view_id)
    return web.json_response({"ok": True})


async def send(request: web.Request) -> web.Response:
    body = await _body(request)
    text = (_str(body, "text") or "").strip()
    if not text:
        return _error(400, "text is required")
    bridge = request.app[BRIDGE_KEY]
    try:
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            await bridge.slash_command(command, rest.strip(), _str(body, "tab"))
        else:
            await bridge.say(text)
    except BridgeError as exc:
        return _error(exc.status, str(exc))
    return web.json_response({"ok": True})


async def start(request: web.Request) -> web.Response:
    examples, wanted = request.app[EXAMPLES_KEY], _str(await _body(request), "example")
    chosen = next((e for e in examples if e.id == wanted), None)
    if chosen is None:
        served = ", ".join(e.id for e in examples) or "none: this server's graphs are not the bundled ones"
        return _error(404, f"no such example; choose one of {served}")
    try:
        thread_id = await request.app[LAUNCHER_KEY].start(chosen)
    except LaunchError as exc:
        return _error(502, str(exc))
    return web.json_response({"ok": True, "thread_id": thread_id})
