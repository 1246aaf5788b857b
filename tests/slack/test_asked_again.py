"""A node that asks again after its first answer pauses at the same checkpoint (as on LangGraph):
each of its questions is its own message, decided in turn."""

from __future__ import annotations

import json

from bot.runs.requests import RunRequest
from tests.slack.harness import APPROVER, CHANNEL, Env, action_ids, button


async def test_each_question_of_one_node_is_posted_and_decided_in_turn(env: Env) -> None:
    thread = await env.start("asked_again", {})
    first = env.pause_message(thread)
    checkpoint = (await env.state(thread, "asked_again")).config["configurable"]["checkpoint_id"]
    posted = [first.ts]
    for n, how in ((1, "approve"), (2, "edit"), (3, "approve")):
        message = env.pause_message(thread)
        assert message.ts not in posted[:-1] and f"draft {n}" in json.dumps(message.blocks), message.blocks
        if how == "approve":
            await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        else:
            await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Edit"))
            await env.settle()
            view = env.slack.top_view(APPROVER)
            assert view is not None
            await env.slack.submit(APPROVER, view.id, {"part.0": "second, edited"})
        await env.settle()
        decided = env.slack.message(CHANNEL, message.ts)
        assert action_ids(decided) == [] and f"<@{APPROVER}>" in json.dumps(decided.blocks)
        state = await env.state(thread, "asked_again")
        if n < 3:  # still the same checkpoint, a new question: its own message, with buttons
            assert state.config["configurable"]["checkpoint_id"] == checkpoint and state.next == ("ask",)
            following = env.pause_message(thread)
            assert following.ts != message.ts and action_ids(following), following.blocks
            posted.append(following.ts)
            reply = [m for m in env.slack.thread(CHANNEL, message.ts) if m.ts != message.ts]
            assert reply and following.ts.replace(".", "") in json.dumps(reply[-1].blocks)  # linked there
    assert state.values == {"answers": ["draft 1", "second, edited", "draft 3"]} and state.next == ()
    assert [value for _, value in await env.resumes()] == ["draft 1", "second, edited", "draft 3"]


async def test_a_question_asked_at_a_breakpoint_it_continued_is_posted(env: Env) -> None:
    # stopped before `ask`, continued: `ask` asks at that same checkpoint, a pause of its own
    thread = (await env.runs.create_thread(metadata={})).thread_id
    config = {"configurable": {"slack_channel": CHANNEL}}
    await env.runs.submit(thread, RunRequest("question", {}, config=config, interrupt_before=["ask"]))
    await env.settle()
    stop = env.pause_message(thread)
    assert "Paused before" in json.dumps(stop.blocks)
    await env.slack.click(APPROVER, CHANNEL, stop.ts, button(stop, "Continue"))
    await env.settle()
    question = env.pause_message(thread)
    assert question.ts != stop.ts and action_ids(question) == [button(question, "Respond")], question.blocks
    await env.slack.say(APPROVER, CHANNEL, '{"pick": 1}', thread_ts=question.ts)
    await env.settle()
    assert (await env.state(thread, "question")).values == {"answer": {"pick": 1}}


async def test_a_next_question_slack_did_not_take_is_told_with_the_way_to_post_it_again(env: Env) -> None:
    thread = await env.start("asked_again", {})
    first = env.pause_message(thread)
    env.slack.fail("chat.postMessage", "channel_not_found")  # the next question's message is refused
    await env.slack.click(APPROVER, CHANNEL, first.ts, button(first, "Approve"))
    await env.settle()
    assert env.pause_message(thread).ts == first.ts  # not posted
    told = [m for m in env.slack.thread(CHANNEL, first.ts) if m.ts != first.ts][-1]
    shown = json.dumps(told.blocks)
    assert "did not take" in shown and "/sluice pending" in shown and "posted in the channel" not in shown, shown
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")  # as it says: posted again
    await env.settle()
    again = env.pause_message(thread)
    assert again.ts != first.ts and "draft 2" in json.dumps(again.blocks) and action_ids(again)
