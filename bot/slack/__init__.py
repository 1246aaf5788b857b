"""The Slack approval bot: pauses become interactive messages, decisions become resumes.

`build(...)` assembles the bot from its parts (a Web API client, a pause store, approvers, the
runs layer and the graphs registry seen through `bot.slack.ports`); `setup(...)` is what
`bot.app` calls: it builds the bot from the service's own objects, mounts `POST /slack/events`,
registers the run listener and starts Socket Mode with the app when `SLACK_APP_TOKEN` is set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.audit import AuditLog, MemoryAuditLog, RedisAuditLog
from bot.slack import approvers as approvers_mod
from bot.slack.approvers import Approvers
from bot.slack.commands import Commands
from bot.slack.decisions import Decisions
from bot.slack.dedupe import MemorySeen, RedisSeen, Seen
from bot.slack.deps import Deps
from bot.slack.failures import FailureStore, MemoryFailureStore, RedisFailureStore
from bot.slack.lanes import Lanes
from bot.slack.lifecycle.deadlines import Deadlines
from bot.slack.lifecycle.quorum import MemoryQuorum, Quorum, RedisQuorum
from bot.slack.lifecycle.timers import MemoryTimers, RedisTimers, Timers
from bot.slack.listeners import Clicks, register
from bot.slack.notifier import Notifier
from bot.slack.outcomes import Outcomes
from bot.slack.ports import Assistants, RunEvent, Runs, Spawn
from bot.slack.resumption import MemoryResumptions, RedisResumptions, Resumptions, sweep_forever
from bot.slack.store import MemoryPauseStore, PauseStore, RedisPauseStore
from bot.slack.transport import EVENTS_PATH, AckFirst, SocketMode, mount
from bot.slack.web import SlackCalls, tune

log = logging.getLogger("sluice.slack")

__all__ = ["SlackBot", "build", "mount", "EVENTS_PATH", "RunEvent"]


@dataclass
class SlackBot:
    bolt: AsyncApp
    deps: Deps
    notifier: Notifier
    decisions: Decisions
    commands: Commands
    gate: AckFirst
    deadlines: Deadlines
    clicks: Clicks | None = None  # decision buttons, handled without bolt's dispatch once it authorized (`mount`)
    socket: SocketMode | None = None
    shared: bool = False  # pauses in Redis, shared with other processes: sweep for their orphans
    _sweeper: asyncio.Task[None] | None = None
    _timers: asyncio.Task[None] | None = None  # this process's share of the pause timers
    forget_in_memory: Callable[[str], Awaitable[None]] | None = None  # memory stores only (see build)

    async def on_run_event(self, event: RunEvent) -> None:
        """The run listener: called by the runs layer, in order, for each pause and end of a run."""
        await self.notifier.handle(event)

    async def on_thread_deleted(self, thread_id: str) -> Callable[[], Awaitable[None]]:
        """The runs layer is deleting the thread: its pauses and what hangs on them go too (on Redis in
        the records' delete script, same hash tag; its timers are dropped when due). Its pause still
        waiting is read first: once the thread is gone, its messages say so and lose their buttons."""
        live = await self.decisions.live_pause(thread_id)

        async def gone() -> None:
            if self.forget_in_memory is not None:
                await self.forget_in_memory(thread_id)
            if live is not None and live.pause is not None:
                self.deps.spawn(self.decisions.show_gone(live.pause, live.decided, latest=live.pause))

        return gone

    async def start(self) -> None:
        if self.socket is not None:
            await self.socket.start()
        if self.shared:
            sweep = sweep_forever(self.decisions.resumptions, self.decisions.adopt)
            self._sweeper = asyncio.get_running_loop().create_task(sweep)
        if self._timers is None:
            self._timers = asyncio.get_running_loop().create_task(self.deadlines.run_forever())

    async def stop(self) -> None:
        for task in (self._sweeper, self._timers):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._timers = None
        if self.socket is not None:
            await self.socket.stop()
        await self.deps.calls.aclose()


def build(
    *,
    bot_token: str,
    signing_secret: str,
    runs: Runs,
    assistants: Assistants,
    spawn: Spawn,
    api_url: str | None = None,
    app_token: str | None = None,
    default_channel: str | None = None,
    approvers: str | None = None,
    redis: Any = None,
    command: str = "/sluice",
    audit: AuditLog | None = None,
) -> SlackBot:
    # Handlers ack first and hand their work to `spawn`, so bolt may answer Slack when the handler
    # returns; without this it polls for the ack every 10 ms, adding that much to every click.
    # Bolt makes its client from the token (given a client too, it warns that the token from
    # SLACK_BOT_TOKEN is unused); we only point that client at SLACK_API_URL and add retries.
    # The signature is checked once, before bolt (`bot.slack.inbound` via `mount`; Socket Mode has
    # none): bolt's own check would compute the same HMAC again on every request.
    bolt = AsyncApp(
        token=bot_token, signing_secret=signing_secret, process_before_response=True, request_verification_enabled=False
    )
    client = tune(bolt.client, api_url)
    calls = SlackCalls(client)
    store: PauseStore = RedisPauseStore(redis) if redis is not None else MemoryPauseStore()
    per_assistant = {name: assistants.approvers(name) for name in assistants.names() if assistants.approvers(name)}
    allowed = Approvers(approvers_mod.parse(approvers), per_assistant, calls.group_members)
    if not approvers_mod.parse(approvers) and not per_assistant:
        log.warning("SLUICE_APPROVERS is not set: every Slack decision will be refused. %s", approvers_mod.HOW_TO)
    gate = AckFirst()

    def spawn_after_acks(coro: Coroutine[Any, Any, Any]) -> Any:
        return spawn(gate.after_acks(coro))

    seen: Seen = RedisSeen(redis) if redis is not None else MemorySeen()
    if audit is None:
        audit = RedisAuditLog(redis) if redis is not None else MemoryAuditLog()
    timers: Timers = RedisTimers(redis) if redis is not None else MemoryTimers()
    lanes = Lanes(gate=gate)
    deps = Deps(calls, store, allowed, runs, assistants, spawn_after_acks, default_channel, seen, audit, timers, lanes)
    failures: FailureStore = RedisFailureStore(redis) if redis is not None else MemoryFailureStore()
    quorum: Quorum = RedisQuorum(redis) if redis is not None else MemoryQuorum(store)
    deadlines = Deadlines(deps)
    outcomes = Outcomes(deps, failures)
    notifier = Notifier(deps, outcomes, deadlines)
    resumptions: Resumptions = (
        RedisResumptions(redis) if isinstance(store, RedisPauseStore) else MemoryResumptions(store)  # type: ignore[arg-type]
    )
    deadlines.resumptions = resumptions  # a deadline's resume is claimed like a person's
    decisions = Decisions(deps, resumptions, deadlines, quorum)
    commands = Commands(deps, notifier, decisions)
    clicks = register(bolt, deps, decisions, commands, outcomes, command)
    socket = SocketMode(bolt, app_token) if app_token else None
    forget: Callable[[str], Awaitable[None]] | None = None
    if isinstance(store, MemoryPauseStore) and isinstance(failures, MemoryFailureStore) and isinstance(
            quorum, MemoryQuorum):
        memory_store, memory_failures, memory_quorum = store, failures, quorum

        async def forget_memory(thread_id: str) -> None:
            for checkpoint_id in memory_store.forget_thread(thread_id):
                await timers.cancel(thread_id, checkpoint_id)
            memory_failures.forget_thread(thread_id)
            memory_quorum.forget_thread(thread_id)

        forget = forget_memory

    return SlackBot(bolt, deps, notifier, decisions, commands, gate, deadlines, clicks, socket, shared=redis is not None,
                    forget_in_memory=forget)
