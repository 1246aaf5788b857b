"""A Retry on a failure whose thread has since moved on (continued over the API) changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.runs import RunRequest
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button, make_env
from tests.slack.outcome_graphs import flaky_graph

RETRY = "sluice_outcome.retry"


async def test_retry_after_the_thread_moved_on_is_refused(
    redis_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("down")
    monkeypatch.setenv("SLUICE_TEST_OUTAGE", str(outage))
    env, close = await make_env(redis_client, extra_graphs={"flaky": flaky_graph})
    try:
        thread = await env.start("flaky", {"text": "hi"})
        message = env.pause_message(thread)
        await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await env.settle()
        failure = next(m for m in env.slack.thread(CHANNEL, message.ts) if m.ts != message.ts and "failed" in m.text)
        assert action_ids(failure) == [RETRY, "sluice_outcome.details"]

        outage.unlink()  # someone continues the thread over the API instead
        run = await env.runs.submit(thread, RunRequest(assistant_id="flaky", input=None))
        await env.runs.join(thread, run.run_id)
        await env.settle()
        runs_before = len(await env.runs.records.list_runs(thread))

        await env.slack.click(APPROVER, CHANNEL, failure.ts, RETRY)
        await env.settle()
        assert len(await env.runs.records.list_runs(thread)) == runs_before
        assert "No longer retryable" in env.slack.ephemerals(APPROVER)[-1].text
        updated = env.slack.message(CHANNEL, failure.ts)
        assert RETRY not in action_ids(updated) and "moved on" in json.dumps(updated.blocks)
        assert (await env.state(thread, "flaky")).values["sent"] == "sent: hi"
    finally:
        await close()
