"""The Slack bot on a real port, a local Slack on another, a real Redis: what the end-to-end tests drive."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.assistants_view import SlackAssistants
from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from bot.registry import Registry
from bot.runs import RunManager
from bot.runs.store_memory import MemoryRecords
from bot.slack import SlackBot, build
from bot.slack.transport import mount
from engine import InMemorySaver

REPO = Path(__file__).resolve().parents[2]
SECRET = "e2e-signing-secret"
TOKEN = "xoxb-e2e"
CHANNEL = "C0GENERAL"
APPROVER = "U0ANA"
GROUPIE = "U0CY"  # an approver through the user group S0REVIEW
OUTSIDER = "U0BOB"
USERS = {APPROVER: "ana", GROUPIE: "cy", OUTSIDER: "bob"}


@dataclass
class Env:
    slack: LocalSlack
    bot: SlackBot
    runs: RunManager
    url: str

    async def settle(self) -> None:
        """Waits until the runs and everything the bot spawned have finished."""
        await self.runs.drain()

    async def resumes(self) -> list[tuple[str, Any]]:
        """Every resume the runs layer received, as (thread id, value), oldest first."""
        found: list[tuple[str, Any]] = []
        for thread in await self.runs.search_threads(limit=1000):
            for run in reversed(await self.runs.list_runs(thread.thread_id, limit=1000)):
                command = run.kwargs.get("command")
                if command and "resume" in command:
                    found.append((run.created_at, (thread.thread_id, command["resume"])))
                elif not command and run.kwargs.get("input") is None:
                    found.append((run.created_at, (thread.thread_id, None)))
        return [item for _, item in sorted(found, key=lambda pair: pair[0])]

    async def start(self, assistant_id: str, input: Any, channel: str = CHANNEL) -> str:
        thread_id = await self.runs.start(
            assistant_id, input, config={"configurable": {"slack_channel": channel}}, metadata={}
        )
        await self.settle()
        return thread_id

    def pause_message(self, thread_id: str, channel: str = CHANNEL) -> Message:
        found = [m for m in self.slack.channel_messages(channel) if thread_id in json.dumps(m.blocks)]
        assert found, f"no message for thread {thread_id}"
        return found[-1]

    async def state(self, thread_id: str, assistant_id: str) -> Any:
        graph = self.runs.graph(self.runs.assistant(assistant_id))
        return await graph.aget_state({"configurable": {"thread_id": thread_id}})


def action_ids(message: Message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def button(message: Message, label: str, nth: int = 0) -> str:
    found = [
        e["action_id"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == label
    ]
    assert len(found) > nth, f"no {label!r} button in {action_ids(message)}"
    return found[nth]


async def make_env(
    redis: Any,
    approvers: str | None = f"{APPROVER},S0REVIEW",
    extra_graphs: dict[str, Any] | None = None,
    graphs_file: Path = REPO / "tests" / "slack" / "langgraph.json",
) -> tuple[Env, Callable[[], Coroutine[Any, Any, None]]]:
    slack = LocalSlack(
        signing_secret=SECRET,
        bot_token=TOKEN,
        channels={CHANNEL: "general", "C0OTHER": "other", "C0ONCALL": "oncall"},
        users=USERS,
        usergroups={"S0REVIEW": [GROUPIE]},
    )
    await slack.start()
    registry = Registry.load(graphs_file)
    if extra_graphs:
        registry = Registry.from_graphs({**{a.graph_id: a.graph for a in registry}, **extra_graphs})
    runs = RunManager(registry, InMemorySaver(), MemoryRecords())
    bot = build(
        bot_token=TOKEN,
        signing_secret=SECRET,
        runs=runs,
        assistants=SlackAssistants(registry),
        spawn=runs.spawn,
        api_url=slack.api_url,
        approvers=approvers,
        redis=redis,
    )
    runs.add_listener(bot.on_run_event)
    app = web.Application()
    mount(app, bot.bolt, SECRET, gate=bot.gate, clicks=bot.clicks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    slack.events_url = url + "/slack/events"

    async def close() -> None:
        await runs.drain()
        await runner.cleanup()
        await bot.deps.calls.aclose()
        await slack.close()

    return Env(slack, bot, runs, url), close


def button_value(message: Message, label: str) -> str:
    return next(
        e["value"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == label
    )
