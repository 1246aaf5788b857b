"""The replies told after a decision stay within Block Kit's limits, escaped, whatever the error says."""

from __future__ import annotations

import json

from bot.playground.block_kit import block_errors, view_errors
from bot.slack import outcome_blocks as ob
from bot.slack.failures import Failure

HUGE = Failure(
    thread_id="t-1", run_id="r-1", assistant_id="agent<&>", checkpoint_id="c-1", pause_checkpoint="p-1",
    node="send<x>", error_type="Weird<Error>", message="<@U0ANA> & ```" + "m" * 20_000,
    traceback="Traceback (most recent call last):\n" + "  frame\n" * 5_000 + "Weird<Error>: the end",
    channel="C1", thread_ts="1.000001", reply_ts="2.000002",
)


def test_a_huge_error_fits_escaped_with_retry_and_details() -> None:
    blocks = ob.failure_blocks(HUGE)
    assert block_errors(blocks) == []
    shown = json.dumps(blocks)
    assert "&lt;@U0ANA&gt; &amp;" in shown and "<@U0ANA>" not in shown  # no mention smuggled in
    assert "`send&lt;x&gt;`" in shown and "Weird&lt;Error&gt;" in shown and "truncated" in shown
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [ob.RETRY, ob.DETAILS]
    assert len(ob.failure_text(HUGE)) <= 3900
    # the notification text is parsed by Slack as well: no mention there either
    assert "<@U0ANA>" not in ob.failure_text(HUGE) and "&lt;@U0ANA&gt;" in ob.failure_text(HUGE)


def test_after_a_retry_only_details_remain_and_who_retried_is_shown() -> None:
    blocks = ob.failure_blocks(HUGE, retried_by="U0ANA", at=1_700_000_000)
    assert block_errors(blocks) == []
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [ob.DETAILS]
    assert "Retried by <@U0ANA>" in json.dumps(blocks)


def test_the_details_modal_keeps_the_end_of_a_huge_traceback() -> None:
    view = ob.details_modal(HUGE)
    assert view_errors(view) == []
    assert "Weird&lt;Error&gt;: the end" in json.dumps(view)


def test_finished_and_paused_again_replies() -> None:
    finished = ob.finished_blocks("agent", {"answer": "x" * 10_000}, with_answer=True)
    assert block_errors(finished) == [] and "truncated" in json.dumps(finished)
    assert ob.finished_blocks("agent", {"answer": "x"}, with_answer=False) == [finished[0]]
    linked = ob.paused_again_blocks("agent", "https://example.slack.com/archives/C1/p1")
    assert block_errors(linked) == [] and "<https://example.slack.com/archives/C1/p1|" in json.dumps(linked)
