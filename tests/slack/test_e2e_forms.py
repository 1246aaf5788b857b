"""End to end, typed answers: pauses with a `response_schema` answered through forms, and LangChain's
per-call tool approvals, with the bot on a real port, real Redis, slack-bolt talking HTTP to the
local Slack and every click and submission a signed request."""

from __future__ import annotations

import json
from typing import Any

from bot.playground.workspace import Message
from tests.slack.harness import APPROVER, CHANNEL, GROUPIE, Env, action_ids, button
from tests.slack.langchain_pauses import Agent
from tests.slack.modals import filled, inputs


def messages_of(env: Env, thread_id: str) -> list[Message]:
    return [m for m in env.slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)]


def about(env: Env, thread_id: str, text: str) -> Message:
    found = [m for m in messages_of(env, thread_id) if text in json.dumps(m.blocks)]
    assert len(found) == 1, f"{len(found)} messages of {thread_id} mention {text!r}"
    return env.slack.message(CHANNEL, found[0].ts)


async def open_form(env: Env, user: str, message: Message, label: str) -> Any:
    await env.slack.click(user, CHANNEL, message.ts, button(message, label))
    await env.settle()
    view = env.slack.top_view(user)
    assert view is not None, "no modal opened"
    return view


async def test_a_typed_question_is_a_form_checked_on_submit_that_resumes_with_the_typed_value(env: Env) -> None:
    thread = await env.start("release_decision", {"version": "2.4.0", "changes": ["Faster search"]})
    message = env.pause_message(thread)
    shown = json.dumps(message.blocks, ensure_ascii=False)
    assert "Ship 2.4.0?" in shown and "Faster search" in shown and [b for b in action_ids(message)] == [
        button(message, "Answer")
    ]
    view = await open_form(env, APPROVER, message, "Answer")
    fields = inputs(view.view)
    assert [b["element"]["type"] for b in fields.values()] == [
        "radio_buttons", "number_input", "plain_text_input", "plain_text_input"
    ]
    assert (fields["Risk (1-5)"]["element"]["min_value"], fields["Risk (1-5)"]["element"]["max_value"]) == ("1", "5")
    assert fields["Reason"]["optional"] and not fields["Decision"]["optional"]
    bad = await env.slack.submit(
        APPROVER, view.id, filled(view.view, Decision="ship", **{"Risk (1-5)": "7", "Change ticket": "42"})
    )
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"field.1": "Must be at most 5.", "field.3": "Must match the pattern ^REL-[0-9]+$."},
    }
    assert env.slack.top_view(APPROVER) is not None and await env.resumes() == []
    answer = filled(view.view, Decision="ship", **{"Risk (1-5)": "2", "Reason": "All checks green"})
    ok = await env.slack.submit(APPROVER, view.id, answer)
    assert ok.status == 200 and env.slack.top_view(APPROVER) is None
    await env.settle()
    assert await env.resumes() == [(thread, {"decision": "ship", "risk": 2, "reason": "All checks green", "ticket": None})]
    state = await env.state(thread, "release_decision")
    assert state.values["outcome"] == "Shipping 2.4.0 (risk 2/5)." and state.values["risk"] == 2
    final = env.slack.message(CHANNEL, message.ts)
    text = json.dumps(final.blocks, ensure_ascii=False)
    assert action_ids(final) == [] and "Answered" in text and f"<@{APPROVER}>" in text
    assert "*Decision:* ship" in text and "*Risk (1-5):* 2" in text and "*Reason:* All checks green" in text


async def test_an_answer_the_graph_refuses_is_told_and_the_pause_stays_open(env: Env) -> None:
    thread = await env.start("release_decision", {"version": "2.5.0"})
    message = env.pause_message(thread)
    view = await open_form(env, APPROVER, message, "Answer")
    # The schema lets the reason be empty; the model's own rule (holding needs a reason) does not.
    await env.slack.submit(APPROVER, view.id, filled(view.view, Decision="hold", **{"Risk (1-5)": "4"}))
    await env.settle()
    told = env.slack.ephemerals(APPROVER)[-1].text
    assert "refused your answer" in told and "say why the release is held" in told
    still = env.slack.message(CHANNEL, message.ts)
    assert action_ids(still) == [button(still, "Answer")] and "refused" in json.dumps(still.blocks)
    state = await env.state(thread, "release_decision")
    assert state.next == ("decide",) and "decision" not in state.values
    view = await open_form(env, GROUPIE, still, "Answer")
    await env.slack.submit(
        GROUPIE, view.id, filled(view.view, Decision="hold", **{"Risk (1-5)": "4", "Reason": "Error rate doubled"})
    )
    await env.settle()
    state = await env.state(thread, "release_decision")
    assert state.values["outcome"] == "Holding 2.5.0: Error rate doubled" and state.next == ()
    assert action_ids(env.slack.message(CHANNEL, message.ts)) == []


async def test_per_call_approvals_are_one_message_each_resumed_alone_by_interrupt_id(env: Env) -> None:
    thread = await env.start("per_call_approval", {"request": "Send the Q3 report to ana@example.com, delete q3.txt"})
    assert len(messages_of(env, thread)) == 2
    email, delete = about(env, thread, "send_email"), about(env, thread, "delete_file")
    labels = [e["text"]["text"] for b in email.blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Approve", "Edit", "Reject", "Respond"]
    assert [e["text"]["text"] for b in delete.blocks if b["type"] == "actions" for e in b["elements"]] == [
        "Approve", "Reject"
    ]
    pending = {i.value["name"]: i.id for i in (await env.state(thread, "per_call_approval")).interrupts}
    await env.slack.click(APPROVER, CHANNEL, delete.ts, button(delete, "Approve"))
    await env.settle()
    assert await env.resumes() == [(thread, {pending["delete_file"]: {"type": "approve"}})]
    state = await env.state(thread, "per_call_approval")
    assert state.values["results"] == ["Deleted q3.txt"] and [i.value["name"] for i in state.interrupts] == [
        "send_email"
    ]
    assert action_ids(env.slack.message(CHANNEL, delete.ts)) == []
    assert "once the other pauses of this step are answered" in json.dumps(env.slack.message(CHANNEL, delete.ts).blocks)
    assert len(action_ids(env.slack.message(CHANNEL, email.ts))) == 4  # still open
    # Edit: a typed form of send_email's arguments, pre-filled with the agent's; a bad address first
    view = await open_form(env, APPROVER, email, "Edit")
    fields = inputs(view.view)
    assert fields["To"]["element"] == {"type": "email_text_input", "initial_value": "ana@example.com", "action_id": "value"}
    assert fields["Priority"]["element"]["initial_option"]["text"]["text"] == "normal"
    bad = await env.slack.submit(APPROVER, view.id, filled(view.view, To="ana at example"))
    assert bad.json()["errors"] == {"field.0": "Must be a valid email."}
    await env.slack.submit(APPROVER, view.id, filled(view.view, To="bo@example.com", Priority="high"))
    await env.settle()
    edited = (await env.resumes())[-1]
    args = edited[1][pending["send_email"]]["edited_action"]["args"]
    assert args["to"] == "bo@example.com" and args["priority"] == "high" and args["subject"] == "Q3 report"
    state = await env.state(thread, "per_call_approval")
    assert state.next == () and state.values["results"] == [  # the step's writes land in task order
        "Email sent to bo@example.com: 'Q3 report' (high)", "Deleted q3.txt"
    ]
    text = json.dumps(env.slack.message(CHANNEL, email.ts).blocks)
    assert "Edited" in text and "*To:* bo@example.com" in text and "the run finished" in text
    told = json.dumps(env.slack.message(CHANNEL, delete.ts).blocks)
    assert "the run finished" in told  # told too, still saying when it was decided
    assert "Decided by" in told and "<!date^" in told


async def test_real_langchain_pauses_get_their_decisions_and_langchain_accepts_what_slack_sent(env: Env) -> None:
    thread = await env.start("langchain_per_call", {})
    email = about(env, thread, "send_email")
    delete = about(env, thread, "delete_file")
    meeting = about(env, thread, "schedule_meeting")
    assert [e["text"]["text"] for b in meeting.blocks if b["type"] == "actions" for e in b["elements"]] == [
        "Approve", "Edit"
    ]
    # Reject with a reason
    view = await open_form(env, APPROVER, delete, "Reject")
    await env.slack.submit(APPROVER, view.id, {"part.0": "keep the draft"})
    await env.settle()
    # Edit the meeting: typed fields (a number, one attendee per line)
    view = await open_form(env, APPROVER, meeting, "Edit")
    assert [b["element"]["type"] for b in inputs(view.view).values()] == [
        "plain_text_input", "number_input", "plain_text_input"
    ]
    bad = await env.slack.submit(APPROVER, view.id, filled(view.view, Minutes="half an hour"))
    assert bad.json()["errors"] == {"field.1": "Must be a number."}
    await env.slack.submit(APPROVER, view.id, filled(view.view, Minutes="45", Attendees="ana\ncy"))
    await env.settle()
    # Respond instead of sending the email
    view = await open_form(env, GROUPIE, email, "Respond")
    await env.slack.submit(GROUPIE, view.id, {"part.0": "Already sent by hand."})
    await env.settle()
    sent = [value for _, value in await env.resumes()]
    assert len(sent) == 3 and all(len(v) == 1 for v in sent)  # three resumes, each of one interrupt, by id
    assert len({next(iter(v)) for v in sent}) == 3
    decisions = (await env.state(thread, "langchain_per_call")).values["decisions"]
    assert decisions == {
        "delete_file": {"type": "reject", "message": "keep the draft"},
        "schedule_meeting": {
            "type": "edit",
            "edited_action": {
                "name": "schedule_meeting",
                "args": {"title": "Q3 review", "minutes": 45, "attendees": ["ana", "cy"]},
            },
        },
        "send_email": {"type": "respond", "message": "Already sent by hand."},
    }
    agent = Agent()  # the same decisions, given to LangChain's own agent: it accepts and applies them
    real = agent.pauses()
    results = agent.resume({real[name].id: decision for name, decision in decisions.items()})
    assert results["send_email"] == "Already sent by hand."
    assert "keep the draft" in results["delete_file"]
    assert results["schedule_meeting"].endswith("Meeting 'Q3 review', 45 min, with ana, cy")
