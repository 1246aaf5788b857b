"""`python -m bot serve`: the API and the Slack bot on $PORT until SIGTERM, then a graceful drain."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import build_app
from bot.settings import Settings

log = logging.getLogger("sluice")


def serve(settings: Settings) -> None:
    app = build_app(settings)
    log.info("Sluice listening on http://%s:%d", settings.host, settings.port)
    # run_app handles SIGINT/SIGTERM: it stops accepting, then runs the cleanup context (drain).
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None, shutdown_timeout=30)
