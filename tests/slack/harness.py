"""The Slack bot on a real port, a local Slack on another, a real Redis: what the end-to-end tests drive."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.playground.slack_api import LocalSlack, Message
from bot.slack import SlackBot, build
from bot.slack.ports import ResumeConflict, RunEvent
from bot.slack.transport import mount
from engine import Command, InMemorySaver
from engine.errors import CheckpointConflict

REPO = Path(__file__).resolve().parents[2]
SECRET = "e2e-signing-secret"
TOKEN = "xoxb-e2e"
CHANNEL = "C0GENERAL"
APPROVER = "U0ANA"
GROUPIE = "U0CY"  # an approver through the user group S0REVIEW
OUTSIDER = "U0BOB"
USERS = {APPROVER: "ana", GROUPIE: "cy", OUTSIDER: "bob"}


class Background:
    """Tracks the tasks the bot spawns after its acks; `drain` waits for all of them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def load_graphs() -> dict[str, Any]:
    import importlib.util
    import sys

    graphs: dict[str, Any] = {}
    for name, ref in json.loads((REPO / "langgraph.json").read_text())["graphs"].items():
        path, attr = ref.split(":")
        spec = importlib.util.spec_from_file_location(f"sluice_test_graph_{Path(path).stem}", REPO / path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # the engine resolves string annotations (reducers) through it
        spec.loader.exec_module(module)
        graphs[name] = getattr(module, attr)
    return graphs


@dataclass
class EngineRuns:
    """Starts and resumes runs on the engine and reports pauses and ends, in order."""

    graphs: dict[str, Any]
    listener: Callable[[RunEvent], Coroutine[Any, Any, None]] | None = None
    saver: Any = field(default_factory=InMemorySaver)
    resumes: list[tuple[str, Any]] = field(default_factory=list)

    def graph(self, assistant_id: str) -> Any:
        return self.graphs[assistant_id].with_checkpointer(self.saver)

    async def _run(
        self, thread_id: str, assistant_id: str, input: Any, config: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        graph = self.graph(assistant_id)
        cfg = {"configurable": {**(config.get("configurable") or {}), "thread_id": thread_id}}
        run_id = str(uuid.uuid4())
        try:
            values = await graph.ainvoke(input, cfg)
        except CheckpointConflict:
            raise
        except Exception as exc:
            await self._emit(
                RunEvent(
                    "failed",
                    thread_id,
                    run_id,
                    assistant_id,
                    config=config,
                    metadata=metadata,
                    error_type=type(exc).__name__,
                    message=str(exc),
                )
            )
            return
        state = await graph.aget_state({"configurable": {"thread_id": thread_id}})
        checkpoint_id = state.config["configurable"]["checkpoint_id"]
        if state.interrupts:
            event = RunEvent(
                "paused",
                thread_id,
                run_id,
                assistant_id,
                checkpoint_id,
                tuple(i.to_json() for i in state.interrupts),
                None,
                state.values,
                config,
                metadata,
            )
        elif state.next:
            event = RunEvent(
                "paused",
                thread_id,
                run_id,
                assistant_id,
                checkpoint_id,
                (),
                ("before", tuple(state.next)),
                state.values,
                config,
                metadata,
            )
        else:
            values.pop("__interrupt__", None)
            event = RunEvent(
                "finished",
                thread_id,
                run_id,
                assistant_id,
                checkpoint_id,
                values=values,
                config=config,
                metadata=metadata,
            )
        await self._emit(event)

    async def _emit(self, event: RunEvent) -> None:
        if self.listener is not None:
            await self.listener(event)

    async def start(self, assistant_id: str, input: Any, *, config: dict[str, Any], metadata: dict[str, Any]) -> str:
        thread_id = str(uuid.uuid4())
        await self._run(thread_id, assistant_id, input, config, metadata)
        return thread_id

    async def resume(
        self,
        thread_id: str,
        assistant_id: str,
        value: Any,
        *,
        is_breakpoint: bool,
        config: dict[str, Any],
        metadata: dict[str, Any],
        checkpoint_id: str | None = None,
    ) -> None:
        self.resumes.append((thread_id, value))
        try:
            await self._run(thread_id, assistant_id, None if is_breakpoint else Command(resume=value), config, metadata)
        except CheckpointConflict as exc:
            raise ResumeConflict(str(exc)) from exc


class TestAssistants:
    def __init__(self, graphs: dict[str, Any]) -> None:
        self.graphs = graphs

    def names(self) -> list[str]:
        return sorted(self.graphs)

    def default_channel(self, assistant_id: str) -> str | None:
        return None

    def approvers(self, assistant_id: str) -> frozenset[str]:
        return frozenset()

    def input_for(self, assistant_id: str, text: str) -> Any:
        from bot.slack.inputs import input_for

        return input_for(self.graphs[assistant_id], text)


@dataclass
class Env:
    slack: LocalSlack
    bot: SlackBot
    runs: EngineRuns
    background: Background
    url: str

    async def settle(self) -> None:
        """Waits until the bot has finished everything it spawned."""
        await self.background.drain()

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
        return await self.runs.graph(assistant_id).aget_state({"configurable": {"thread_id": thread_id}})


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
    redis: Any, approvers: str | None = f"{APPROVER},S0REVIEW"
) -> tuple[Env, Callable[[], Coroutine[Any, Any, None]]]:
    graphs = load_graphs()
    slack = LocalSlack(
        signing_secret=SECRET,
        bot_token=TOKEN,
        channels={CHANNEL: "general", "C0OTHER": "other"},
        users=USERS,
        usergroups={"S0REVIEW": [GROUPIE]},
    )
    await slack.start()
    background = Background()
    runs = EngineRuns(graphs)
    bot = build(
        bot_token=TOKEN,
        signing_secret=SECRET,
        runs=runs,
        assistants=TestAssistants(graphs),
        spawn=background.spawn,
        api_url=slack.api_url,
        approvers=approvers,
        redis=redis,
    )
    runs.listener = bot.on_run_event
    app = web.Application()
    mount(app, bot.bolt)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    slack.events_url = url + "/slack/events"

    async def close() -> None:
        await background.drain()
        await runner.cleanup()
        await slack.close()

    return Env(slack, bot, runs, background, url), close


def button_value(message: Message, label: str) -> str:
    return next(
        e["value"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == label
    )
