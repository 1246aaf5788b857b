"""Assembles the service: checkpointer, records, runs layer, HTTP API and Slack bot in one app.

`build_app(settings)` is all `python -m bot serve` and the playground need; start-up and
shutdown (draining runs and decisions in flight, closing Redis) hang on the app's cleanup
context, so whoever serves the app gets them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.api import add_api
from bot.assistants_view import SlackAssistants
from bot.audit import MemoryAuditLog, RedisAuditLog
from bot.registry import Registry
from bot.runs import RunManager
from bot.runs.store import Records
from bot.runs.store_memory import MemoryRecords
from bot.runs.store_redis import RedisRecords
from bot.settings import Settings, SettingsError
from engine import Checkpointer, InMemorySaver
from engine.checkpoint.redis import redact

log = logging.getLogger("sluice")

SLACK_BOT = web.AppKey("sluice_slack_bot", object)


def _storage(settings: Settings) -> tuple[Checkpointer, Records, Any]:
    url = settings.redis_url_value
    if not url:
        log.warning("REDIS_URL is not set: threads live in memory and nothing survives a restart")
        return InMemorySaver(), MemoryRecords(), None  # one process: no lease to lose
    from redis import Redis
    from redis.exceptions import RedisError

    from bot.redis_client import cluster_client, single_server_client
    from engine.checkpoint.redis import RedisSaver

    try:  # one blocking INFO at start-up: fail fast when Redis is unreachable, and pick the client kind
        with Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5) as probe:
            cluster = probe.info("cluster").get("cluster_enabled") in (1, "1")
    except (RedisError, OSError) as exc:
        raise SettingsError(f"REDIS_URL: cannot reach Redis at {redact(url)}: {type(exc).__name__}: {exc}") from None
    # Under a burst (a hundred clicks at once) more commands are in flight than redis-py's default
    # pool of 100 connections allows, and its default pool then fails them: a single server's pool
    # waits for a connection; a cluster (whose pools cannot block) allows more per node.
    client: Any = cluster_client(url) if cluster else single_server_client(url)
    log.info("checkpoints and runs in Redis%s at %s", " Cluster" if cluster else "", redact(url))
    lease_ms = int(settings.sluice_run_lease * 1000)
    return RedisSaver(client, ttl=settings.sluice_thread_ttl), RedisRecords(client, lease_ms, settings.sluice_thread_ttl), client


def build_app(settings: Settings, registry: Registry | None = None) -> web.Application:
    missing = settings.missing_slack()
    if missing:
        raise SettingsError(
            f"Slack is half configured: {', '.join(missing)} missing. Set it, or unset the other Slack "
            "variables to run the API alone."
        )
    registry = registry or Registry.load(settings.sluice_graphs)
    saver, records, client = _storage(settings)
    maxlen = settings.sluice_audit_maxlen
    audit = RedisAuditLog(client, maxlen, settings.sluice_thread_ttl) if client is not None else MemoryAuditLog(maxlen)
    manager = RunManager(registry, saver, records, audit)
    app = web.Application(client_max_size=8 * 1024 * 1024)
    add_api(app, manager, settings.api_key_value)
    slack_bot = _slack(settings, app, manager, registry, client)

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        if slack_bot is not None:
            await slack_bot.start()
        # Shared Redis: take over the runs of processes that died (their lease lapsed).
        recovery = asyncio.get_running_loop().create_task(manager.recover()) if client is not None else None
        yield
        if recovery is not None:
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)
        if slack_bot is not None:
            await slack_bot.stop()
        await manager.drain()
        if client is not None:
            await client.aclose()

    app.cleanup_ctx.append(lifecycle)
    return app


def _slack(settings: Settings, app: web.Application, manager: RunManager, registry: Registry, client: Any) -> Any:
    if not settings.slack_enabled:
        log.info("Slack is off (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set): serving the HTTP API alone")
        return None
    from bot.slack import build, mount

    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    slack_bot = build(
        bot_token=settings.slack_bot_token.get_secret_value(),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        runs=manager,
        assistants=SlackAssistants(registry),
        spawn=manager.spawn,
        api_url=settings.slack_api_url,
        app_token=settings.slack_app_token.get_secret_value() if settings.slack_app_token else None,
        default_channel=settings.sluice_slack_channel,
        approvers=settings.sluice_approvers,
        redis=client,
        audit=manager.audit,
    )
    secret = settings.slack_signing_secret.get_secret_value()
    mount(app, slack_bot.bolt, secret, gate=slack_bot.gate, clicks=slack_bot.clicks)
    manager.add_listener(slack_bot.on_run_event)
    manager.add_deletion_listener(slack_bot.on_thread_deleted)
    app[SLACK_BOT] = slack_bot
    return slack_bot
