"""How Slack reaches the bot: `POST /slack/events` (signed HTTP) and Socket Mode when an app token is set."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

log = logging.getLogger("sluice.slack")

EVENTS_PATH = "/slack/events"


def mount(app: web.Application, bolt: AsyncApp, path: str = EVENTS_PATH) -> None:
    """Events, interactivity and slash commands, all at one URL; bolt verifies every signature."""

    async def handle(request: web.Request) -> web.Response:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        if request.headers.get("X-Slack-Retry-Num") and response.status == 200:
            response.headers["x-slack-no-retry"] = ["1"]  # already handled (or being handled): stop retrying
        return await to_aiohttp_response(response)

    app.router.add_post(path, handle)


class SocketMode:
    """Socket Mode: the bot dials out to Slack (no public URL needed); started and stopped with the app."""

    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        self._handler = AsyncSocketModeHandler(bolt, app_token)

    async def start(self) -> None:
        await self._handler.connect_async()
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        await self._handler.close_async()
