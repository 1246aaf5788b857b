"""The local Slack's Socket Mode end: the WebSocket a bot in Socket Mode connects to.

The bot gets the URL from `apps.connections.open` (`bot.playground.web_api`), connects, and is
greeted with `hello`; the user side (`bot.playground.slack_user`) then sends it envelopes, as
Slack does, and waits (3 s, Slack's limit) for the bot's acknowledgement of each.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiohttp
from aiohttp import web

ACK_TIMEOUT_S = 3.0


class SocketModeLink:
    def __init__(self, app_id: str) -> None:
        self._app_id = app_id
        self._socket: web.WebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._socket.closed

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The bot's connection, for as long as it stays open: acks settle what `send` waits on."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": self._app_id}})
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            future = self._acks.pop(str(data.get("envelope_id")), None)
            if future is not None and not future.done():
                future.set_result(data)
        if self._socket is ws:
            self._socket = None
        return ws

    async def send(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One envelope of `kind` (interactive, slash_commands, events_api); returns the bot's ack."""
        if self._socket is None:
            raise ConnectionError("no bot is connected over Socket Mode")
        envelope_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self._socket.send_json(envelope)
        return await asyncio.wait_for(future, ACK_TIMEOUT_S)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
