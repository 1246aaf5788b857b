"""A Slack decision overtaken by a resume over the API at the same moment (the API's run holds the
thread when the click comes, so the click's resume queues behind it and then finds the pause gone):
the clicker is told clearly, privately, and the message ends up showing what really happened."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypedDict

from bot.playground.workspace import Message
from bot.runs import RunRequest
from engine import START, StateGraph, interrupt
from tests.slack.harness import APPROVER, CHANNEL, Env, action_ids, button, make_env

GATE: dict[str, asyncio.Event] = {}


class State(TypedDict, total=False):
    some_text: str


async def ask(state: State) -> State:
    answer = interrupt({"text_to_revise": state["some_text"]})
    await GATE["open"].wait()  # the API's resume holds the thread here until the click is queued behind it
    return {"some_text": answer}


gated = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()


async def ask_twice(state: State) -> State:
    first = interrupt({"text_to_revise": state["some_text"]})
    await GATE["open"].wait()  # answered over the API: held here until the click is queued behind it
    return {"some_text": interrupt({"text_to_revise": f"{first}, checked again"})}


asks_twice = StateGraph(State).add_node("ask", ask_twice).add_edge(START, "ask").compile()


async def _until(predicate: Any) -> None:
    for _ in range(400):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def _click_behind_an_api_resume(env: Env, graph: str) -> tuple[str, Message]:
    """Starts `graph` to its pause, resumes it over the API (held at the gate), clicks Approve on the
    pause's message while that run holds the thread, and opens the gate once the click's run is
    queued behind it; returns the thread and the message clicked, everything settled."""
    thread = await env.start(graph, {"some_text": "draft"})
    message = env.pause_message(thread)
    api_run = await env.runs.submit(thread, RunRequest(assistant_id=graph, input=None,
                                                       command={"resume": "from the API"}))

    async def api_running() -> bool:
        return (await env.runs.get_run(thread, api_run.run_id)).status == "running"

    await _until(api_running)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))

    async def click_queued() -> bool:
        return len(await env.runs.records.list_runs(thread)) == 3  # the first run, the API's, the click's

    await _until(click_queued)
    GATE["open"].set()
    await env.settle()
    return thread, message


async def test_a_click_overtaken_by_an_api_resume_is_told_and_the_message_shows_the_outcome(redis_client: Any) -> None:
    GATE["open"] = asyncio.Event()
    env, close = await make_env(redis_client, extra_graphs={"gated": gated})
    try:
        thread, message = await _click_behind_an_api_resume(env, "gated")

        assert [v for _, v in await env.resumes()][0] == "from the API"
        assert (await env.state(thread, "gated")).values == {"some_text": "from the API"}
        told = env.slack.ephemerals(APPROVER)
        assert len(told) == 1 and "not applied" in told[0].text and "answered elsewhere" in told[0].text
        shown = env.slack.message(CHANNEL, message.ts)
        text = json.dumps(shown.blocks)
        assert action_ids(shown) == []
        assert "was answered elsewhere" in text and "is waiting for you" not in text
        assert "was not applied" in text and "then finished" in text, text
        assert "Approved" not in text  # the decision made here did not count
    finally:
        await close()


async def test_a_click_on_a_question_the_api_answered_does_not_answer_the_nodes_next_one(redis_client: Any) -> None:
    """The node asks again at the same checkpoint (new interrupt id) after the API answered its first
    question: the click queued meanwhile on that first question must not answer the second one."""
    GATE["open"] = asyncio.Event()
    env, close = await make_env(redis_client, extra_graphs={"asks_twice": asks_twice})
    try:
        thread, message = await _click_behind_an_api_resume(env, "asks_twice")

        state = await env.state(thread, "asks_twice")
        assert state.next == ("ask",) and [i.value for i in state.interrupts] == [
            {"text_to_revise": "from the API, checked again"}
        ]  # the second question still waits
        assert state.values == {"some_text": "draft"}  # the node has not finished with the click's answer
        told = env.slack.ephemerals(APPROVER)
        assert len(told) == 1 and "not applied" in told[0].text
        shown = env.slack.message(CHANNEL, message.ts)
        assert action_ids(shown) == [] and "was answered elsewhere" in json.dumps(shown.blocks)
    finally:
        await close()
