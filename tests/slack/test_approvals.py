"""N-of-M approval, no self-approval and escalation, through signed Slack requests to the real bot
(memory and a real Redis); the audit trail after each flow holds exactly its decisions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from freezegun import freeze_time

from tests.slack.harness import APPROVER, CHANNEL, GROUPIE, OUTSIDER, REPO, Env, action_ids, button, make_env

GRAPHS = REPO / "tests" / "slack" / "governance.json"
ONCALL = "C0ONCALL"


@pytest.fixture(params=["memory", "redis"])
async def gov(request: pytest.FixtureRequest, redis_client: Any) -> AsyncIterator[Env]:
    await redis_client.flushdb()
    environment, close = await make_env(
        redis_client if request.param == "redis" else None,
        approvers=f"{APPROVER},{GROUPIE},{OUTSIDER}",
        graphs_file=GRAPHS,
    )
    yield environment
    await close()


async def _start(env: Env, assistant: str, requested_by: str) -> str:
    thread_id = await env.runs.start(
        assistant, {"text": "prod"}, config={"configurable": {"slack_channel": CHANNEL}},
        metadata={"requested_by": requested_by},
    )
    await env.settle()
    return thread_id


async def _audit(env: Env, thread_id: str) -> list[tuple[str, str, str]]:
    return [(e.decision, e.actor, e.detail) for e in await env.bot.deps.audit.entries(thread_id)]


async def test_two_distinct_approvers_are_needed_and_the_requester_is_not_one(gov: Env) -> None:
    thread = await _start(gov, "two_keys", requested_by=OUTSIDER)
    message = gov.pause_message(thread)
    approve = button(message, "Approve")
    await gov.slack.click(OUTSIDER, CHANNEL, message.ts, approve)  # the requester
    await gov.settle()
    assert "does not allow approving your own request" in gov.slack.ephemerals(OUTSIDER)[-1].text
    await gov.slack.click(APPROVER, CHANNEL, message.ts, approve)
    await gov.settle()
    shown = json.dumps(gov.slack.message(CHANNEL, message.ts).blocks)
    assert f"1 of 2 approvals so far: <@{APPROVER}>" in shown and approve in action_ids(gov.slack.message(CHANNEL, message.ts))
    await gov.slack.click(APPROVER, CHANNEL, message.ts, approve)  # a repeat click does not count
    await gov.settle()
    assert "already approved" in gov.slack.ephemerals(APPROVER)[-1].text
    assert await gov.resumes() == []
    await gov.slack.click(GROUPIE, CHANNEL, message.ts, approve)
    await gov.settle()
    assert [v for _, v in await gov.resumes()] == [{"decisions": [{"type": "approve"}]}]
    final = json.dumps(gov.slack.message(CHANNEL, message.ts).blocks)
    assert f"<@{APPROVER}>" in final and f"<@{GROUPIE}>" in final and action_ids(gov.slack.message(CHANNEL, message.ts)) == []
    assert await _audit(gov, thread) == [
        ("approve", APPROVER, "approval 1 of 2"),
        ("approve", GROUPIE, "approval 2 of 2"),
    ]


async def test_an_edit_counts_as_its_authors_approval_and_resets_the_others(gov: Env) -> None:
    thread = await _start(gov, "two_keys", requested_by="U0NOBODY")
    message = gov.pause_message(thread)
    await gov.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    await gov.settle()
    await gov.slack.click(GROUPIE, CHANNEL, message.ts, button(message, "Edit"))
    await gov.settle()
    view = gov.slack.top_view(GROUPIE)
    assert view is not None
    await gov.slack.submit(GROUPIE, view.id, {"part.0": '{"service": "canary"}'})
    await gov.settle()
    assert await gov.resumes() == []  # the edit reset Ana's approval: one of two
    assert "1 of 2 approvals so far" in json.dumps(gov.slack.message(CHANNEL, message.ts).blocks)
    await gov.slack.click(APPROVER, CHANNEL, message.ts, button(gov.slack.message(CHANNEL, message.ts), "Approve"))
    await gov.settle()
    edited = {"type": "edit", "edited_action": {"name": "deploy", "args": {"service": "canary"}}}
    assert [v for _, v in await gov.resumes()] == [{"decisions": [edited]}]
    audit = await gov.bot.deps.audit.entries(thread)
    assert [(e.decision, e.actor) for e in audit] == [("approve", APPROVER), ("edit", GROUPIE), ("approve", APPROVER)]
    assert audit[1].before == {"service": "prod"} and audit[1].after == {"service": "canary"}


async def test_one_rejection_ends_it(gov: Env) -> None:
    thread = await _start(gov, "two_keys", requested_by="U0NOBODY")
    message = gov.pause_message(thread)
    await gov.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    await gov.settle()
    await gov.slack.click(GROUPIE, CHANNEL, message.ts, button(message, "Reject"))
    await gov.settle()
    view = gov.slack.top_view(GROUPIE)
    assert view is not None
    await gov.slack.submit(GROUPIE, view.id, {"part.0": "not today"})
    await gov.settle()
    assert [v for _, v in await gov.resumes()] == [{"decisions": [{"type": "reject", "message": "not today"}]}]
    assert [(d, a) for d, a, _ in await _audit(gov, thread)] == [("approve", APPROVER), ("reject", GROUPIE)]


async def test_escalation_reposts_for_the_other_approvers_who_decide_there(redis_client: Any) -> None:
    await redis_client.flushdb()
    env, close = await make_env(redis_client, approvers=APPROVER, graphs_file=GRAPHS)  # Cy decides only once escalated
    try:
        with freeze_time("2030-01-01 12:00:00", real_asyncio=True) as clock:
            thread = await _start(env, "escalating", requested_by="U0NOBODY")
            message = env.pause_message(thread)
            approve = button(message, "Approve")
            await env.slack.click(GROUPIE, CHANNEL, message.ts, approve)
            await env.settle()
            assert "not one of the approvers" in env.slack.ephemerals(GROUPIE)[-1].text
            clock.tick(1.5)
            assert await env.bot.deadlines.tick() == 1
            await env.settle()
            escalated = env.pause_message(thread, channel=ONCALL)
            assert f"nobody decided within 2 s in <#{CHANNEL}>" in json.dumps(escalated.blocks)
            assert f"Escalated to <#{ONCALL}>" in json.dumps(env.slack.message(CHANNEL, message.ts).blocks)
            assert any(f"<@{GROUPIE}>" in m.text for m in env.slack.thread(ONCALL, escalated.ts))
            await env.slack.click(GROUPIE, ONCALL, escalated.ts, button(escalated, "Approve"))
            await env.settle()
        assert [v for _, v in await env.resumes()] == [{"decisions": [{"type": "approve"}]}]
        for channel, ts in ((CHANNEL, message.ts), (ONCALL, escalated.ts)):
            assert action_ids(env.slack.message(channel, ts)) == []
        assert [(d, a) for d, a, _ in await _audit(env, thread)] == [("escalate", "timer"), ("approve", GROUPIE)]
    finally:
        await close()


async def test_the_home_tab_and_pending_list_what_the_viewer_may_decide_and_audit_shows_decisions(gov: Env) -> None:
    mine = await _start(gov, "two_keys", requested_by=OUTSIDER)  # Bob requested it: not his to decide
    timed = await _start(gov, "timed", requested_by="U0NOBODY")
    await gov.slack.open_home(APPROVER)
    await gov.settle()
    home = json.dumps(gov.slack.homes[APPROVER]["blocks"])
    assert "2 waiting for your decision" in home and home.index("two_keys") < home.index("timed")  # oldest first
    assert "deadline" in home and "open the message" in home
    await gov.slack.open_home(OUTSIDER)
    await gov.settle()
    theirs = json.dumps(gov.slack.homes[OUTSIDER]["blocks"])
    assert "1 waiting for your decision" in theirs and "timed" in theirs and "two_keys" not in theirs
    await gov.slack.slash_command(OUTSIDER, CHANNEL, "/sluice", "pending")
    await gov.settle()
    listed = gov.slack.ephemerals(OUTSIDER)[-1].text
    assert listed.startswith("1 waiting") and "timed" in listed and "deadline" in listed

    message = gov.pause_message(mine)
    for user in (APPROVER, GROUPIE):
        await gov.slack.click(user, CHANNEL, message.ts, button(message, "Approve"))
        await gov.settle()
    await gov.slack.slash_command(APPROVER, CHANNEL, "/sluice", f"audit {mine}")
    await gov.settle()
    shown = gov.slack.ephemerals(APPROVER)[-1].text
    assert f"<@{APPROVER}>: *approve*" in shown and f"<@{GROUPIE}>: *approve*" in shown
    assert shown.index(APPROVER + ">: *approve*") < shown.index(GROUPIE + ">: *approve*")
    await gov.slack.slash_command(APPROVER, CHANNEL, "/sluice", f"audit {timed}")
    await gov.settle()
    assert "No decisions recorded" in gov.slack.ephemerals(APPROVER)[-1].text


async def test_a_runs_own_settings_place_its_pause_silence_its_finish_and_hold_for_its_next_pause(gov: Env) -> None:
    run_settings = {"slack_channel": "C0OTHER", "notify_on_finish": False, "required_approvals": 2}
    thread = await gov.runs.start("auto_ok", {"text": "mine"}, config={"configurable": {"sluice": run_settings}},
                                  metadata={})
    await gov.settle()
    message = gov.pause_message(thread, channel="C0OTHER")  # the run's channel, not the default one
    pause = await gov.bot.deps.store.get(thread, await gov.bot.deps.store.current(thread) or "")
    assert pause is not None and pause.deadline_at is not None  # the assistant's deadline still holds
    for user in (APPROVER, GROUPIE):  # the run asks for two approvals
        await gov.slack.click(user, "C0OTHER", message.ts, button(message, "Approve"))
        await gov.settle()
    assert [v for _, v in await gov.resumes()] == ["mine"]
    assert [m for m in gov.slack.thread("C0OTHER", message.ts) if m.ts != message.ts] == []  # no "finished"


async def test_a_runs_own_approvers_replace_the_configured_ones(gov: Env) -> None:
    """README: a run's `config.configurable.sluice` keys win key by key, so its `approvers` are the
    only ones: a configured approver (SLUICE_APPROVERS) who is not among them is refused."""
    thread = await gov.runs.start("auto_ok", {"text": "mine"}, config={
        "configurable": {"slack_channel": CHANNEL, "sluice": {"approvers": [GROUPIE]}}}, metadata={})
    await gov.settle()
    message = gov.pause_message(thread)
    await gov.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    await gov.settle()
    assert "not one of this run's approvers" in gov.slack.ephemerals(APPROVER)[-1].text
    assert await gov.resumes() == [] and "Approve" in json.dumps(gov.slack.message(CHANNEL, message.ts).blocks)
    await gov.slack.click(GROUPIE, CHANNEL, message.ts, button(message, "Approve"))
    await gov.settle()
    assert [v for _, v in await gov.resumes()] == ["mine"]
