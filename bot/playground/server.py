"""Assembles and serves the playground: API + bot + local Slack + page, one process, one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys

from aiohttp import web
from pydantic import SecretStr

from bot.api.assistants import MANAGER
from bot.api.auth import is_loopback
from bot.app import build_app
from bot.playground import page
from bot.playground.examples import sdk_snippet, served_examples
from bot.playground.launcher import Launcher
from bot.playground.local import SlackApiBridge
from bot.playground.slack_user import LocalSlack
from bot.registry import Registry
from bot.settings import Settings
from bot.slack.transport import EVENTS_PATH

log = logging.getLogger("sluice.playground")

DEFAULT_HOST = "127.0.0.1"
SLACK_API_PREFIX = "/slack-api/"
CHANNEL_ID, CHANNEL_NAME = "C0PLAYGROUND", "sluice-playground"
USER_ID, USER_NAME = "U0YOU", "you"
SLASH_COMMAND = "/sluice"  # the command manifest.yml declares and the bot listens to



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
        f"  Slack: a local Slack Web API at {url}{SLACK_API_PREFIX}, channel #{CHANNEL_NAME}",
        "  deciders: "
        + (
            f"SLUICE_APPROVERS={settings.sluice_approvers}"
            if settings.sluice_approvers
            else "anyone who opens the page (SLUICE_APPROVERS=*)"
        ),
    ]
    if is_loopback(host):
        lines.append(
            f"  listening on {host} only (this machine): whoever opens the page can decide; HOST=0.0.0.0 shares it"
        )
    else:
        lines.append(
            f"  WARNING: listening on {host or 'all interfaces'}: anyone who can reach this address can start runs "
            "and decide pauses"
        )
    lines += [
        "",
        "Try the HTTP API with the langgraph_sdk client:",
        "",
        sdk_snippet(url, api_key=bool(settings.sluice_api_key)),
    ]
    return "\n".join(lines)


async def serve(settings: Settings) -> None:
    # Not Settings.host's 0.0.0.0 (for `serve`): the playground lets anyone who reaches it decide.
    host = settings.host if "host" in settings.model_fields_set else DEFAULT_HOST
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
        # Drain while still listening: decisions in flight update messages through the local Slack.
        await app[MANAGER].drain()
        await runner.cleanup()


def playground_settings(settings: Settings, url: str) -> tuple[Settings, str, str]:
    """`settings` with the Slack part pointing at this process's local Slack; also its secret and token."""
    signing_secret, bot_token = generated_secrets()
    update = {
        "slack_bot_token": SecretStr(bot_token),
        "slack_signing_secret": SecretStr(signing_secret),
        "slack_app_token": None,  # the local Slack is reached over HTTP, not Socket Mode
        "slack_api_url": url + SLACK_API_PREFIX + "api/",
        "sluice_slack_channel": CHANNEL_ID,
        # Anyone who opens the page decides, unless SLUICE_APPROVERS says otherwise.
        "sluice_approvers": settings.sluice_approvers or "*",
    }
    return settings.model_copy(update=update), signing_secret, bot_token


def build(settings: Settings, url: str) -> web.Application:
    """The service's own app (API + bot) with the local Slack under /slack-api/ and the page at /."""
    settings, signing_secret, bot_token = playground_settings(settings, url)
    registry = Registry.load(settings.sluice_graphs)
    app = build_app(settings, registry)
    slack = LocalSlack(
        signing_secret=signing_secret,
        bot_token=bot_token,
        events_url=url + EVENTS_PATH,
        channels={CHANNEL_ID: CHANNEL_NAME},
        users={USER_ID: USER_NAME},
        commands=(SLASH_COMMAND,),
    )
    slack.public_url = url + SLACK_API_PREFIX.rstrip("/")
    slack.page_url = url + "/"
    app.add_subapp(SLACK_API_PREFIX, slack.app())
    launcher = Launcher(url, CHANNEL_ID, settings.api_key_value)
    bridge = SlackApiBridge(slack, channel=CHANNEL_ID, user=USER_ID)
    page.add_routes(app, bridge, launcher, url, served_examples(registry.names()))

    async def close_clients(_: web.Application) -> None:
        await launcher.close()
        await slack.close()

    app.on_cleanup.append(close_clients)
    return app


def generated_secrets() -> tuple[str, str]:
    """A signing secret and a bot token for this process only; nothing outside it knows them."""
    return secrets.token_hex(16), "xoxb-playground-" + secrets.token_hex(12)


__all__ = ["serve", "build", "banner", "Launcher", "page"]
