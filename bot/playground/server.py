"""Assembles and serves the playground: API + bot + local Slack + page, one process, one port."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import signal
import sys

from aiohttp import web

from bot.playground import page
from bot.playground.examples import sdk_snippet
from bot.playground.launcher import Launcher
from bot.settings import Settings

log = logging.getLogger("sluice.playground")

DEFAULT_HOST = "127.0.0.1"
SLACK_API_PREFIX = "/slack-api/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_url(host: str, port: int) -> str:
    """The URL this process reaches itself at (a wildcard bind is reached over loopback)."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(settings: Settings, host: str, url: str) -> str:
    store = "Redis at REDIS_URL" if settings.redis_url else "in memory (set REDIS_URL to keep threads across restarts)"
    lines = [
        "",
        f"Sluice playground: {url}/",
        f"  checkpoints: {store}",
        f"  Slack: a local Slack Web API at {url}{SLACK_API_PREFIX}; anyone who opens the page may decide (SLUICE_APPROVERS=*)",
    ]
    if is_loopback(host):
        lines.append(
            f"  listening on {host} only: anyone who can reach it can decide pauses (HOST=0.0.0.0 to share it)"
        )
    else:
        lines.append(
            f"  WARNING: listening on {host or 'all interfaces'}: anyone who can reach this address can start runs "
            "and decide pauses"
        )
    lines += ["", "Try the HTTP API with the langgraph_sdk client:", "", sdk_snippet(url)]
    return "\n".join(lines)


async def serve(settings: Settings) -> None:
    host = os.environ.get("HOST", DEFAULT_HOST)
    port = settings.port
    url = local_url(host, port)
    app = build(settings, url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        sys.exit(f"cannot listen on {host}:{port}: {exc.strerror or exc}. Set PORT (or HOST) to another value.")
    print(banner(settings, host, url), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("Sluice playground: stopping (finishing decisions in flight)", flush=True)
        await runner.cleanup()


def build(settings: Settings, url: str) -> web.Application:
    raise NotImplementedError("waiting for bot.app.build_app and bot.playground.slack_api")


def generated_secrets() -> tuple[str, str]:
    """A signing secret and a bot token for this process only; nothing outside it knows them."""
    return secrets.token_hex(16), "xoxb-playground-" + secrets.token_hex(12)


__all__ = ["serve", "build", "banner", "Launcher", "page"]
