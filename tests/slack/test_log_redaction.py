"""Secrets never reach the logs: a `python -m bot serve` process with every secret set (Slack bot
token and signing secret, API key, a password in REDIS_URL) serves a run that fails with an error
quoting them (as a library that puts its connection URL or token in an exception does), refused
requests (a wrong API key, a bad Slack signature), then a Retry that succeeds; nothing it wrote to
stdout/stderr holds a secret's value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.api.conftest import REPO, server_process
from tests.conftest import RedisProcess
from tests.slack.harness import APPROVER, CHANNEL, USERS, button
from tests.slack.serve_flows import RETRY, pause_message, thread_replies, until

pytestmark = pytest.mark.e2e  # starts Sluice processes

BOT_TOKEN = "xoxb-1111-2222-redactme0bottoken"
SIGNING_SECRET = "redactme-signing-secret-5c2f9a"
API_KEY = "redactme-api-key-41d7e0c3"
REDIS_PASSWORD = "redactme-redis-pw-8b6e"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, API_KEY, REDIS_PASSWORD)


async def test_no_secret_is_logged_by_a_failing_then_succeeding_flow(
    start_redis: Callable[..., RedisProcess], tmp_path: Path
) -> None:
    redis_url = start_redis(password=REDIS_PASSWORD).url
    slack = LocalSlack(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, channels={CHANNEL: "general"}, users=USERS)
    await slack.start()
    outage = tmp_path / "outage"
    outage.write_text(f"connecting to {redis_url} with token {BOT_TOKEN}, key {API_KEY}, secret {SIGNING_SECRET}")
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLUICE_API_KEY": API_KEY,
        "SLUICE_SLACK_CHANNEL": CHANNEL,
        "SLUICE_APPROVERS": APPROVER,
        "REDIS_URL": redis_url,
        "SLUICE_GRAPHS": str(REPO / "tests" / "slack" / "outcomes.json"),
        "SLUICE_TEST_OUTAGE": str(outage),
    }
    try:
        with server_process(**env) as (url, proc):
            slack.events_url = url + "/slack/events"
            client = get_client(url=url, api_key=API_KEY)
            thread_id = (await client.threads.create())["thread_id"]
            assert "__interrupt__" in await client.runs.wait(thread_id, "flaky", input={"text": "the Q3 report"})
            message = await until(lambda: pause_message(slack, thread_id), "the pause is posted")
            await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
            failure = (await until(lambda: [m for m in thread_replies(slack, message) if "failed" in m.text], "failed"))[-1]
            assert "[redacted]" in json.dumps(failure.blocks)  # the error quoted them all

            async with aiohttp.ClientSession() as http:  # refused requests carrying a wrong key or signature
                headers = {"X-Api-Key": API_KEY[::-1], "Authorization": f"Bearer {API_KEY}"}
                async with http.get(f"{url}/threads/{thread_id}", headers=headers) as response:
                    assert response.status == 401
                bad = {"X-Slack-Signature": f"v0={SIGNING_SECRET}", "X-Slack-Request-Timestamp": "1"}
                async with http.post(f"{url}/slack/events", data=f"token={BOT_TOKEN}", headers=bad) as response:
                    assert response.status >= 400

            outage.unlink()
            await slack.click(APPROVER, CHANNEL, failure.ts, RETRY)

            async def finished() -> bool:
                return bool((await client.threads.get(thread_id))["status"] == "idle")

            await until(finished, "the retried run finishes")
        assert proc.stdout is not None
        logged = proc.stdout.read().decode(errors="replace")
    finally:
        await slack.close()
    assert "raised ConnectionError" in logged  # the failure was logged, with its traceback
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} was logged:\n{logged}"
