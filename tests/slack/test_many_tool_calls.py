"""A tool-call review with more calls than one Slack message holds (50 blocks: about 24 calls) is
posted as several messages, so every call keeps its own buttons; the decisions made across them
resume LangChain's `HumanInTheLoopMiddleware` (batched, real, on LangGraph) with one decision per
call, in order. Also escalation re-posts every message of such a pause."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from freezegun import freeze_time
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from bot.playground.block_kit import block_errors
from bot.slack import limits
from bot.slack.pause import PAGE_SLOTS
from engine import START, StateGraph, interrupt
from tests.slack.harness import APPROVER, CHANNEL, GROUPIE, action_ids, make_env
from tests.slack.langchain_pauses import _ScriptedModel

CALLS = 40
ONCALL = "C0ONCALL"


@tool
def archive(path: str) -> str:
    """Archive a file."""
    return f"archived {path}"


class Agent:
    """A real LangChain agent asking for 40 `archive` calls at once (the middleware's batched mode)."""

    def __init__(self) -> None:
        calls = [{"name": "archive", "args": {"path": f"logs/{i}.txt"}, "id": f"c{i}"} for i in range(CALLS)]
        script = iter([AIMessage(content="", tool_calls=calls), AIMessage(content="Done.")])
        self.graph = create_agent(_ScriptedModel(messages=script), tools=[archive], checkpointer=InMemorySaver(),
                                  middleware=[HumanInTheLoopMiddleware(interrupt_on={"archive": True})])
        self.config: dict[str, Any] = {"configurable": {"thread_id": "t"}}
        result = self.graph.invoke({"messages": [{"role": "user", "content": "go"}]}, self.config)
        (self.pause,) = result["__interrupt__"]

    def resume(self, value: Any) -> dict[str, str]:
        """Resumes with `value`; what each tool call ended as, by call id."""
        result = self.graph.invoke(Command(resume=value), self.config)
        return {m.tool_call_id: str(m.content) for m in result["messages"] if isinstance(m, ToolMessage)}


AGENT = Agent()


class State(TypedDict, total=False):
    review: Any


def review(state: State) -> State:
    return {"review": interrupt(AGENT.pause.value)}  # what the middleware published, replayed on our engine


review_graph = StateGraph(State).add_node("review", review).add_edge(START, "review").compile()


def _button(message: Any, label: str, call: int) -> str:
    """The `label` button of tool call `call` (0-based) in its message."""
    for block in message.blocks:
        if block["type"] == "actions" and block["block_id"].endswith(f".0.{call}"):
            return next(e["action_id"] for e in block["elements"] if e["text"]["text"] == label)
    raise AssertionError(f"call {call} has no {label!r} button in this message")


async def test_every_call_of_a_long_review_is_decidable_and_resumes_in_order(redis_client: Any) -> None:
    assert len(AGENT.pause.value["action_requests"]) == CALLS
    env, close = await make_env(redis_client, extra_graphs={"review": review_graph})
    try:
        thread = await env.start("review", {})
        messages = [m for m in env.slack.channel_messages(CHANNEL) if thread in json.dumps(m.blocks)]
        assert len(messages) == -(-CALLS // PAGE_SLOTS)  # 3 messages: 14, 14 and 12 calls
        for m in messages:
            assert len(m.blocks) <= limits.MESSAGE_BLOCKS and block_errors(m.blocks) == []
        per_message = [len([a for a in action_ids(m) if ".approve." in a]) for m in messages]
        assert per_message == [14, 14, 12] and sum(per_message) == CALLS

        for call in range(CALLS):  # reject call 17 (in the second message), approve the rest
            m = messages[call // PAGE_SLOTS]
            if call == 17:
                continue
            await env.slack.click(APPROVER, CHANNEL, m.ts, _button(env.slack.message(CHANNEL, m.ts), "Approve", call))
            await env.settle()
        assert await env.resumes() == []  # one call is still open
        second = env.slack.message(CHANNEL, messages[1].ts)
        assert [a for a in action_ids(second) if ".approve." in a] == [_button(second, "Approve", 17)]
        await env.slack.click(APPROVER, CHANNEL, messages[1].ts, _button(second, "Reject", 17))
        await env.settle()
        view = env.slack.top_view(APPROVER)
        assert view is not None
        await env.slack.submit(APPROVER, view.id, {"part.0": "keep it"})
        await env.settle()

        ((_, value),) = await env.resumes()
        decisions = value["decisions"]
        assert [d["type"] for d in decisions] == ["reject" if i == 17 else "approve" for i in range(CALLS)]
        assert decisions[17]["message"] == "keep it"
        results = AGENT.resume(value)  # the middleware takes it: each call got its own decision, in order
        assert len(results) == CALLS and "keep it" in results["c17"]
        assert all(results[f"c{i}"] == f"archived logs/{i}.txt" for i in range(CALLS) if i != 17)
        for m in messages:  # every message says it was decided; no buttons anywhere
            assert action_ids(env.slack.message(CHANNEL, m.ts)) == []
    finally:
        await close()


async def test_escalation_reposts_every_message_of_a_long_review(redis_client: Any) -> None:
    await redis_client.flushdb()
    escalate = {"deadline_seconds": 2, "on_timeout": "escalate",
                "escalate_to": {"slack_channel": ONCALL, "approvers": [GROUPIE], "deadline_seconds": 600}}
    env, close = await make_env(redis_client, approvers=APPROVER, extra_graphs={"review": review_graph})
    try:
        with freeze_time("2030-01-01 12:00:00", real_asyncio=True) as clock:
            thread = await env.runs.start("review", {}, metadata={},
                                          config={"configurable": {"slack_channel": CHANNEL, "sluice": escalate}})
            await env.settle()
            originals = [m for m in env.slack.channel_messages(CHANNEL) if thread in json.dumps(m.blocks)]
            assert len(originals) == 3
            clock.tick(2)
            assert await env.bot.deadlines.tick() == 1
            await env.settle()
            copies = [m for m in env.slack.channel_messages(ONCALL) if thread in json.dumps(m.blocks)]
            assert len(copies) == 3  # every message of the pause, not only the first
            assert [len([a for a in action_ids(m) if ".approve." in a]) for m in copies] == [14, 14, 12]
            for m in originals:
                assert f"Escalated to <#{ONCALL}>" in json.dumps(env.slack.message(CHANNEL, m.ts).blocks)

            # the escalation's approver decides a call only the third message shows, there
            await env.slack.click(GROUPIE, ONCALL, copies[2].ts, _button(copies[2], "Approve", 39))
            await env.settle()
            for channel, m in ((ONCALL, copies[2]), (CHANNEL, originals[2])):  # both copies of it say so
                shown = env.slack.message(channel, m.ts)
                assert f"<@{GROUPIE}>" in json.dumps(shown.blocks) and len(action_ids(shown)) == 11 * 4  # 4 decisions a call
            for call in range(CALLS - 1):
                m = copies[call // PAGE_SLOTS]
                await env.slack.click(GROUPIE, ONCALL, m.ts, _button(env.slack.message(ONCALL, m.ts), "Approve", call))
                await env.settle()
        ((_, value),) = await env.resumes()
        assert value == {"decisions": [{"type": "approve"}] * CALLS}
        for channel, m in [*((CHANNEL, o) for o in originals), *((ONCALL, c) for c in copies)]:
            assert action_ids(env.slack.message(channel, m.ts)) == []
    finally:
        await close()
