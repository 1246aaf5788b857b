"""How Slack reaches the bot: `POST /slack/events` (signed HTTP) and Socket Mode when an app token is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack import inbound

log = logging.getLogger("sluice.slack")

EVENTS_PATH = "/slack/events"


class AckFirst:
    """Holds background work back while Slack requests are being answered, so that under a burst
    of clicks every ack goes out before the resumes they started take the event loop."""

    MAX_WAIT_S = 0.25

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def idle(self) -> None:
        """Returns once no Slack request is being answered (or after MAX_WAIT_S)."""
        await asyncio.sleep(0)  # let requests the server has already read reach their handlers
        if not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.MAX_WAIT_S):
                    await self._idle.wait()

    async def after_acks(self, coro: Coroutine[Any, Any, Any]) -> Any:
        await self.idle()
        return await coro


class Clicks(Protocol):
    """A decision button's handler (`bot.slack.listeners.Clicks`)."""

    authorized: bool

    def __call__(self, body: dict[str, Any]) -> Awaitable[None]: ...


def mount(
    app: web.Application,
    bolt: AsyncApp,
    signing_secret: str,
    path: str = EVENTS_PATH,
    gate: AckFirst | None = None,
    clicks: Clicks | None = None,
) -> None:
    """Events, interactivity and slash commands, all at one URL.

    `bot.slack.inbound` checks size, signature and shape first, so bolt only ever sees signed,
    well-formed payloads (its own adapter would parse, and on a bad signature log, any body).
    A decision button's click goes to `clicks` directly once bolt has authorized (see there), and
    gets the answer bolt gives it: an empty 200 once the listener returns.
    """

    async def handle(request: web.Request) -> web.Response:
        try:
            body = await inbound.read_capped(request)
            inbound.verify(signing_secret, body, request.headers)
            payload = inbound.parse(body, request.content_type)
            inbound.check_shape(payload)
        except inbound.Refused as refused:
            log.warning("refused a Slack request from %s: %s (%s)", request.remote, refused.reason, refused.status)
            return web.json_response({"error": refused.reason}, status=refused.status)
        if gate is not None:
            gate.enter()
        try:
            if clicks is not None and clicks.authorized and inbound.is_decision_click(payload):
                return await _direct(clicks, payload, request)
            bolt_request = _bolt_request(body, payload, request)
            response = await bolt.async_dispatch(bolt_request)
        finally:
            if gate is not None:
                gate.leave()
        if request.headers.get("X-Slack-Retry-Num") and response.status == 200:
            response.headers["x-slack-no-retry"] = ["1"]  # already handled (or being handled): stop retrying
        return await to_aiohttp_response(response)

    app.router.add_post(path, handle)


async def _direct(clicks: Clicks, payload: dict[str, Any], request: web.Request) -> web.Response:
    """A decision click without bolt: bolt's answer to it (an empty text/plain 200, or 500 when
    the listener failed), with the same no-retry mark on a Slack retry."""
    try:
        await clicks(payload)
    except Exception:
        log.exception("a decision click failed before its ack")
        return web.Response(status=500, body="", content_type="text/plain")
    headers = {"x-slack-no-retry": "1"} if request.headers.get("X-Slack-Retry-Num") else None
    return web.Response(status=200, body="", content_type="text/plain", headers=headers)


def _bolt_request(body: bytes, payload: dict[str, Any], request: web.Request) -> AsyncBoltRequest:
    """bolt's request, given the payload parsed already (a click's is a few kB, URL-encoded JSON:
    parsing it is most of an ack's own work). bolt takes a parsed body in its "socket_mode" mode,
    which differs from "http" only in skipping bolt's signature check (ours ran; bolt's is off) and
    in what a lazy listener copies (there are none). A slash command's form is left to bolt (it
    drops blank fields)."""
    headers: Any = request.headers
    if "command" in payload:
        return AsyncBoltRequest(body=body.decode(), query=request.query_string, headers=headers)
    return AsyncBoltRequest(body=payload, query=request.query_string, headers=headers, mode="socket_mode")


class SocketMode:
    """Socket Mode: the bot dials out to Slack (no public URL needed); started and stopped with the app."""

    RETRY_S = (1, 2, 5, 10, 30)

    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        self._bolt = bolt
        self._app_token = app_token
        self._handler: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connects in the background, retrying: the API serves even while Slack is unreachable."""
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        attempt = 0
        while True:
            # Made here, not in __init__: its aiohttp session needs the running event loop.
            handler = AsyncSocketModeHandler(self._bolt, self._app_token)
            try:
                await handler.connect_async()
            except Exception as exc:
                await handler.close_async()
                delay = self.RETRY_S[min(attempt, len(self.RETRY_S) - 1)]
                log.warning("Slack Socket Mode: could not connect (%s); retrying in %ss", type(exc).__name__, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._handler = handler
            log.info("Slack Socket Mode connected")
            return

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._handler is not None:
            await self._handler.close_async()
            self._handler = None
