"""End to end: the bot on a real port, real Redis, real slack-bolt talking HTTP to the local Slack,
and every click, submission and command a signed request as Slack sends it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from freezegun import freeze_time

from bot.slack import limits
from tests.slack.harness import APPROVER, CHANNEL, GROUPIE, OUTSIDER, Env, action_ids, button, button_value


async def test_seed_text_revision_approved_as_is(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "original text"})
    message = env.pause_message(thread)
    assert "original text" in json.dumps(message.blocks)
    delivery = await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    assert delivery.status == 200
    await env.settle()
    state = await env.state(thread, "text_revision")
    assert state.values == {"some_text": "original text"} and state.next == ()
    updated = env.slack.message(CHANNEL, message.ts)
    assert (
        action_ids(updated) == []
        and f"<@{APPROVER}>" in json.dumps(updated.blocks)
        and "Approved" in json.dumps(updated.blocks)
    )
    # the notification text (what screen readers and notifications show) follows the blocks
    assert "waiting" not in updated.text and "finished" in updated.text, updated.text


async def test_seed_text_revision_edited_in_the_modal(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "original text"})
    message = env.pause_message(thread)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Edit"))
    await env.settle()
    view = env.slack.top_view(APPROVER)
    assert view is not None
    field = next(b for b in view.view["blocks"] if b["type"] == "input")
    assert field["element"]["initial_value"] == "original text" and field["element"]["multiline"]
    refused = await env.slack.submit(APPROVER, view.id, {"part.0": "   "})
    assert refused.json()["response_action"] == "errors" and "part.0" in refused.json()["errors"]
    assert env.slack.top_view(APPROVER) is not None  # still open, with the error
    ok = await env.slack.submit(APPROVER, view.id, {"part.0": "Edited text"})
    assert ok.status == 200 and env.slack.top_view(APPROVER) is None
    await env.settle()
    assert (await env.state(thread, "text_revision")).values == {"some_text": "Edited text"}
    shown = json.dumps(env.slack.message(CHANNEL, message.ts).blocks)
    assert "Edited" in shown and "Edited text" in shown and f"<@{APPROVER}>" in shown


async def test_tool_calls_approved_and_rejected_with_a_reason(env: Env) -> None:
    thread = await env.start("tool_approval", {"request": "Send the report to ana@example.com and delete old.txt"})
    message = env.pause_message(thread)
    assert [e for e in action_ids(message)] and json.dumps(message.blocks).count("Tool call") == 2
    # delete_file allows only approve and reject
    assert sum(1 for a in action_ids(message) if a.endswith(".0.1")) == 2
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve", 0))
    await env.settle()
    partly = env.slack.message(CHANNEL, message.ts)
    assert (await env.resumes()) == [] and "Approved" in json.dumps(partly.blocks)
    await env.slack.click(GROUPIE, CHANNEL, message.ts, button(partly, "Reject"))
    await env.settle()
    view = env.slack.top_view(GROUPIE)
    assert view is not None
    await env.slack.submit(GROUPIE, view.id, {"part.0": "keep the draft"})
    await env.settle()
    assert (await env.resumes()) == [
        (thread, {"decisions": [{"type": "approve"}, {"type": "reject", "message": "keep the draft"}]})
    ]
    state = await env.state(thread, "tool_approval")
    assert state.values["results"] == [
        "Email sent to ana@example.com: 'Q3 report'",
        "Rejected delete_file: keep the draft",
    ]
    final = json.dumps(env.slack.message(CHANNEL, message.ts).blocks)
    assert (
        action_ids(env.slack.message(CHANNEL, message.ts)) == []
        and "keep the draft" in final
        and f"<@{GROUPIE}>" in final
    )


async def test_tool_call_edited_as_json(env: Env) -> None:
    thread = await env.start("tool_approval", {"request": "mail ana@example.com, delete a.txt"})
    message = env.pause_message(thread)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Edit"))
    await env.settle()
    view = env.slack.top_view(APPROVER)
    assert view is not None
    bad = await env.slack.submit(APPROVER, view.id, {"part.0": "{not json"})
    assert "Not valid JSON" in bad.json()["errors"]["part.0"]
    args = {"to": "bo@example.com", "subject": "Hi", "body": "edited"}
    await env.slack.submit(APPROVER, view.id, {"part.0": json.dumps(args)})
    await env.settle()
    partly = env.slack.message(CHANNEL, message.ts)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(partly, "Approve"))
    await env.settle()
    state = await env.state(thread, "tool_approval")
    assert state.values["results"] == ["Email sent to bo@example.com: 'Hi'", "Deleted a.txt"]


async def test_static_breakpoint_continued(env: Env) -> None:
    thread = await env.start("notify", {"input": "x"})
    message = env.pause_message(thread)
    assert "Paused before `node_b`" in json.dumps(message.blocks) and action_ids(message) == [
        button(message, "Continue")
    ]
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Continue"))
    await env.settle()
    state = await env.state(thread, "notify")
    assert state.values["steps"] == ["a", "b", "c"] and state.next == ()
    assert "Continued" in json.dumps(env.slack.message(CHANNEL, message.ts).blocks)


async def test_double_click_and_outsider_make_exactly_one_resume(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    approve, value = button(message, "Approve"), button_value(message, "Approve")
    outsider = await env.slack.click(OUTSIDER, CHANNEL, message.ts, approve)
    assert outsider.status == 200
    await env.settle()
    assert (await env.resumes()) == [] and action_ids(env.slack.message(CHANNEL, message.ts)) != []
    assert "not one of the approvers" in env.slack.ephemerals(OUTSIDER)[-1].text
    import asyncio

    first, second = await asyncio.gather(
        env.slack.click(APPROVER, CHANNEL, message.ts, approve), env.slack.click(GROUPIE, CHANNEL, message.ts, approve)
    )
    assert first.status == second.status == 200
    await env.settle()
    assert len(await env.resumes()) == 1
    assert len(env.slack.ephemerals(APPROVER) + env.slack.ephemerals(GROUPIE)) == 1
    updates = env.slack.message(CHANNEL, message.ts).updates
    await env.slack.click(APPROVER, CHANNEL, message.ts, approve, value=value)
    await env.settle()
    assert len(await env.resumes()) == 1 and env.slack.message(CHANNEL, message.ts).updates == updates


async def test_stale_button_after_the_thread_moved_on(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    approve, value = button(message, "Approve"), button_value(message, "Approve")
    # the thread is answered elsewhere (the HTTP API): the message says so and loses its buttons
    await env.runs.resume(thread, "text_revision", "via the API", is_breakpoint=False, config={}, metadata={})
    await env.settle()
    assert action_ids(env.slack.message(CHANNEL, message.ts)) == []
    assert "waiting" not in env.slack.message(CHANNEL, message.ts).text  # nor does its notification text say so
    headline = env.slack.message(CHANNEL, message.ts).blocks[0]["text"]["text"]
    assert "waiting" not in headline and "answered elsewhere" in headline, headline  # nor its first line
    resumes = len(await env.resumes())
    await env.slack.click(APPROVER, CHANNEL, message.ts, approve, value=value)  # an old client still shows it
    await env.settle()
    assert len(await env.resumes()) == resumes
    assert "no longer pending" in env.slack.ephemerals(APPROVER)[-1].text
    assert (await env.state(thread, "text_revision")).values == {"some_text": "via the API"}


async def test_a_click_on_a_pause_whose_thread_was_deleted_closes_it(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    await env.runs.delete_thread(thread)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    await env.settle()
    told = env.slack.ephemerals(APPROVER)[-1].text
    assert "no longer exists" in told and "Click again" not in told, told
    assert action_ids(env.slack.message(CHANNEL, message.ts)) == []  # no button left that can never work
    headline = env.slack.message(CHANNEL, message.ts).blocks[0]["text"]["text"]
    assert "waiting" not in headline and "no longer exists" in headline, headline
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
    assert "Nothing" in env.slack.ephemerals(APPROVER)[-1].text  # and it is no longer listed


async def test_pending_lists_whole_lines_and_says_how_many_more_it_could_not(env: Env) -> None:
    for n in range(30):  # more than one private message holds: 3,900 characters
        await env.start("text_revision", {"some_text": f"draft {n}"})
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
    await env.settle()
    told = env.slack.ephemerals(APPROVER)[-1].text
    lines = told.split("\n")
    listed = [line for line in lines if line.startswith("• ")]
    assert len(told) <= limits.MESSAGE_TEXT and limits.TRUNCATED not in told, told[-300:]
    assert lines[0] == "30 waiting for your decision here:" and 0 < len(listed) < 30
    assert all(line.endswith("|open the message>") for line in listed), listed[-1]  # each link whole
    assert lines[-1].startswith(f"…and {30 - len(listed)} more"), lines[-1]


async def test_forged_and_stale_signatures_are_refused(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    payload = env.slack.block_actions_payload(APPROVER, button(message, "Approve"), channel=CHANNEL, ts=message.ts)
    body, headers = env.slack.interaction_request(payload)
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert (await env.slack.deliver(body, forged)).status == 401
    with freeze_time(datetime.now() - timedelta(minutes=6)):
        old_body, old_headers = env.slack.interaction_request(payload)
    assert (await env.slack.deliver(old_body, old_headers)).status == 401
    await env.settle()
    assert (await env.resumes()) == [] and env.slack.ephemerals() == []
    assert action_ids(env.slack.message(CHANNEL, message.ts)) != []
    assert (await env.state(thread, "text_revision")).next == ("human_node",)
    assert (await env.slack.deliver(body, headers)).status == 200  # the genuine one still works
    await env.settle()
    assert len(await env.resumes()) == 1


async def test_huge_payload_is_posted_without_a_slack_error(env: Env) -> None:
    huge = "word " * 10_000  # 50,000 chars: 17 inputs in the modal
    thread = await env.start("text_revision", {"some_text": huge})
    message = env.pause_message(thread)
    assert limits.TRUNCATED in json.dumps(message.blocks, ensure_ascii=False)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Edit"))
    await env.settle()
    view = env.slack.top_view(APPROVER)
    assert view is not None
    parts = [b for b in view.view["blocks"] if b["type"] == "input"]
    assert "".join(p["element"]["initial_value"] for p in parts) == huge  # whole, split across inputs
    await env.slack.submit(APPROVER, view.id, {})  # submitted unchanged
    await env.settle()
    assert (await env.state(thread, "text_revision")).values == {"some_text": huge}


async def test_slash_command_run_is_answered_in_its_thread(env: Env) -> None:
    delivery = await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "text_revision first draft")
    assert delivery.status == 200
    await env.settle()
    root = env.slack.channel_messages(CHANNEL)[0]
    assert "text_revision" in json.dumps(root.blocks)
    pause = env.slack.channel_messages(CHANNEL)[1]
    assert pause.thread_ts == root.ts and "first draft" in json.dumps(pause.blocks)
    await env.slack.click(APPROVER, CHANNEL, pause.ts, button(pause, "Approve"))
    await env.settle()
    replies = env.slack.thread(CHANNEL, root.ts)
    assert "finished" in json.dumps(replies[-1].blocks) and "first draft" in json.dumps(replies[-1].blocks)


async def test_a_reply_in_the_thread_answers_a_respond_pause(env: Env) -> None:
    thread = await env.start("question", {})
    message = env.pause_message(thread)
    assert action_ids(message) == [button(message, "Respond")]
    await env.slack.say(OUTSIDER, CHANNEL, '{"pick": 1}', thread_ts=message.ts)  # not an approver: ignored
    await env.settle()
    assert await env.resumes() == []
    await env.slack.say(APPROVER, CHANNEL, '{"pick": 2}', thread_ts=message.ts)
    await env.settle()
    assert await env.resumes() == [(thread, {"pick": 2})]
    assert (await env.state(thread, "question")).values == {"answer": {"pick": 2}}


async def test_a_reply_in_the_slack_thread_of_a_run_started_from_slack_answers_its_pause(env: Env) -> None:
    # its pause is a reply in the thread the command opened: a message there is its reply (it has no thread)
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "question")
    await env.settle()
    root, pause = env.slack.channel_messages(CHANNEL)[:2]
    assert pause.thread_ts == root.ts and action_ids(pause) == [button(pause, "Respond")]
    await env.slack.say(OUTSIDER, CHANNEL, '{"pick": 1}', thread_ts=root.ts)  # not an approver: refused privately
    await env.settle()
    assert await env.resumes() == [] and "not one of the approvers" in env.slack.ephemerals(OUTSIDER)[-1].text
    await env.slack.say(APPROVER, CHANNEL, '{"pick": 2}', thread_ts=root.ts)
    await env.settle()
    thread = (await env.runs.search_threads(limit=10))[0].thread_id
    assert await env.resumes() == [(thread, {"pick": 2})]
    assert (await env.state(thread, "question")).values == {"answer": {"pick": 2}}
    assert action_ids(env.slack.message(CHANNEL, pause.ts)) == []
    await env.slack.say(APPROVER, CHANNEL, "and a comment", thread_ts=root.ts)  # nothing waits for one: ignored
    await env.settle()
    assert len(await env.resumes()) == 1


async def test_a_mention_answers_the_pause_of_its_thread_and_runs_the_commands_its_usage_offers(env: Env) -> None:
    started, _ = await env.slack.say(APPROVER, CHANNEL, "<@U0SLUICE> question")
    await env.settle()
    pause = next(m for m in env.slack.thread(CHANNEL, started.ts) if m.ts != started.ts)
    assert action_ids(pause) == [button(pause, "Respond")]
    await env.slack.say(APPROVER, CHANNEL, "<@U0SLUICE> pending")  # the usage offers it: it lists, privately
    await env.settle()
    assert "1 waiting for your decision" in env.slack.ephemerals(APPROVER)[-1].text
    await env.slack.say(APPROVER, CHANNEL, "<@U0SLUICE>", thread_ts=started.ts)  # nothing after it: refused
    await env.settle()
    assert await env.resumes() == [] and "empty reply" in env.slack.ephemerals(APPROVER)[-1].text
    # naming the bot in the pause's thread answers it with what follows the mention, and says nothing else there
    await env.slack.say(APPROVER, CHANNEL, '<@U0SLUICE> {"pick": 3}', thread_ts=started.ts)
    await env.settle()
    thread = (await env.runs.search_threads(limit=10))[0].thread_id
    assert await env.resumes() == [(thread, {"pick": 3})]
    told = [m for m in env.slack.thread(CHANNEL, started.ts) if m.user == "U0SLUICE" and m.ts != pause.ts]
    assert not any("Usage" in m.text or "Usage" in json.dumps(m.blocks) for m in told), [m.text for m in told]


async def test_no_approvers_configured_refuses_every_decision(redis_client: object) -> None:
    from tests.slack.harness import make_env

    env, close = await make_env(redis_client, approvers=None)
    try:
        thread = await env.start("text_revision", {"some_text": "t"})
        message = env.pause_message(thread)
        await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await env.settle()
        assert (await env.resumes()) == [] and "SLUICE_APPROVERS" in env.slack.ephemerals(APPROVER)[-1].text
    finally:
        await close()


async def test_pending_lists_links_to_the_messages_without_posting_copies(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    before = len(env.slack.channel_messages(CHANNEL))
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
    await env.settle()
    assert len(env.slack.channel_messages(CHANNEL)) == before  # nothing posted again
    listed = env.slack.ephemerals(APPROVER)[-1].text
    assert f"https://local.slack/archives/{CHANNEL}/p{message.ts.replace('.', '')}" in listed
    assert "text_revision" in listed and listed.startswith("1 waiting")
    await env.slack.slash_command(OUTSIDER, CHANNEL, "/sluice", "pending")  # lists what the viewer may decide
    await env.settle()
    assert env.slack.ephemerals(OUTSIDER)[-1].text == "Nothing here is waiting for your decision."


async def test_pending_posts_a_pause_slack_refused_and_links_it(env: Env) -> None:
    env.slack.fail("chat.postMessage", "internal_error", times=1)
    thread = await env.start("text_revision", {"some_text": "refused at first"})
    assert not [m for m in env.slack.channel_messages(CHANNEL) if thread in json.dumps(m.blocks)]
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
    await env.settle()
    message = env.pause_message(thread)
    assert f"p{message.ts.replace('.', '')}" in env.slack.ephemerals(APPROVER)[-1].text


async def test_every_copy_of_a_pause_is_updated_when_it_is_decided(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "copied"})
    original = env.pause_message(thread)
    pause = await env.bot.deps.store.get(thread, await env.bot.deps.store.current(thread) or "")
    assert pause is not None
    await env.bot.notifier.post(pause)  # posted again (as `/sluice pending` used to): a live copy
    copy = env.pause_message(thread)
    assert copy.ts != original.ts and action_ids(copy) == action_ids(original)
    await env.slack.click(APPROVER, CHANNEL, copy.ts, button(copy, "Approve"))
    await env.settle()
    for message in (original, copy):
        updated = env.slack.message(CHANNEL, message.ts)
        assert action_ids(updated) == [] and f"<@{APPROVER}>" in json.dumps(updated.blocks), updated.blocks


async def test_audit_is_refused_to_a_non_approver_as_a_read_not_as_a_decision(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"})
    message = env.pause_message(thread)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    await env.settle()
    await env.slack.slash_command(OUTSIDER, CHANNEL, "/sluice", f"audit {thread}")
    await env.settle()
    refused = env.slack.ephemerals(OUTSIDER)[-1].text
    assert "Only the approvers of `text_revision`" in refused and "*approve*" not in refused, refused


async def test_usage_lists_the_assistants_one_can_start(env: Env) -> None:
    """`/sluice` alone, an unknown assistant, or a mention without one: the usage names every assistant."""
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "")
    await env.settle()  # each is answered after its ack, in the background: one at a time, so in order
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "no_such_graph some text")
    await env.settle()
    told = [e.text for e in env.slack.ephemerals(APPROVER)]
    assert len(told) == 2 and told[1].startswith("No assistant `no_such_graph`"), told
    for text in told:
        assert "`text_revision`" in text and "`tool_approval`" in text and "{" not in text, text


async def test_a_reply_of_null_is_refused_before_it_can_fail_the_run(env: Env) -> None:
    """A reply is sent as JSON when it parses; JSON null would resume with None, which a graph cannot
    be resumed with (an empty Command): the form says so instead of the run failing."""
    thread = await env.start("question", {})
    message = env.pause_message(thread)
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Respond"))
    await env.settle()
    view = env.slack.top_view(APPROVER)
    assert view is not None
    refused = await env.slack.submit(APPROVER, view.id, {"part.0": " null "})
    assert "null" in refused.json()["errors"]["part.0"], refused.json()
    await env.slack.say(APPROVER, CHANNEL, "null", thread_ts=message.ts)  # the same as a reply in its thread
    await env.settle()
    assert "null" in env.slack.ephemerals(APPROVER)[-1].text
    assert await env.resumes() == [] and action_ids(env.slack.message(CHANNEL, message.ts))
    await env.slack.submit(APPROVER, view.id, {"part.0": '"null"'})  # quoted: the text
    await env.settle()
    assert (await env.state(thread, "question")).values == {"answer": "null"}
