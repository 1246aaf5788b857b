"""The local Slack Web API answers like Slack: real HTTP, the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from freezegun import freeze_time
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.playground.slack_user import LocalSlack
from bot.slack.pause import Placement
from bot.slack.web import SlackCalls, make_client
from tests.conftest import free_port

SECRET = "local-signing-secret"
TOKEN = "xoxb-local"
CHANNEL = "C0GENERAL"


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = LocalSlack(signing_secret=SECRET, bot_token=TOKEN, users={"U1": "ana"}, usergroups={"S1": ["U1"]})
    await local.start()
    yield local
    await local.close()


@pytest.fixture
def client(slack: LocalSlack) -> AsyncWebClient:
    return make_client(TOKEN, slack.api_url)


async def test_post_update_and_validation(slack: LocalSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(
        channel=CHANNEL, text="hi", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    )
    ts = posted["ts"]
    await client.chat_update(channel=CHANNEL, ts=ts, text="bye", blocks=[])
    assert slack.message(CHANNEL, ts).text == "bye" and slack.message(CHANNEL, ts).edited
    with pytest.raises(SlackApiError) as too_long:
        await client.chat_postMessage(
            channel=CHANNEL, text="t", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        )
    assert too_long.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as many:
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=[{"type": "divider"}] * 51)
    assert many.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as msg:
        await client.chat_postMessage(channel=CHANNEL, text="y" * 40_001)
    assert msg.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as nochan:
        await client.chat_postMessage(channel="CNOPE", text="x")
    assert nochan.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as auth:
        await make_client("xoxb-wrong", slack.api_url).auth_test()
    assert auth.value.response["error"] == "invalid_auth"
    assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U1"]
    assert (await client.users_info(user="U1"))["user"]["name"] == "ana"


async def test_rate_limit_is_retried_after_retry_after(slack: LocalSlack, client: AsyncWebClient) -> None:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=0, times=2)
    calls = SlackCalls(client)
    ts = await calls.post(Placement(CHANNEL), "hello", [], "thread-1")
    await calls.aclose()
    assert ts is not None and slack.count("chat.postMessage") == 3


async def test_the_calls_a_click_makes_are_retried_after_retry_after(slack: LocalSlack, client: AsyncWebClient) -> None:
    calls = SlackCalls(client)
    ts = await calls.post(Placement(CHANNEL, None), "hello", [{"type": "divider"}], "thread-1")
    assert ts is not None
    for method in ("chat.update", "chat.postEphemeral", "chat.getPermalink"):
        slack.fail(method, "ratelimited", status=429, retry_after=0, times=2)
    assert await calls.update(CHANNEL, ts, "bye", [], "thread-1")
    await calls.ephemeral(CHANNEL, "U1", "psst", "thread-1", thread_ts=ts)
    link = await calls.permalink(CHANNEL, ts, "thread-1")
    await calls.aclose()
    assert slack.message(CHANNEL, ts).text == "bye" and link
    assert [slack.count(m) for m in ("chat.update", "chat.postEphemeral", "chat.getPermalink")] == [3, 3, 3]
    slack.fail("chat.update", "ratelimited", status=429, retry_after=0, times=4)  # past the 3 retries: refused
    calls = SlackCalls(client)
    assert not await calls.update(CHANNEL, ts, "again", [], "thread-1")
    await calls.aclose()
    assert slack.message(CHANNEL, ts).text == "bye"


async def test_an_unreachable_slack_is_logged_after_the_retries(caplog: pytest.LogCaptureFixture) -> None:
    calls = SlackCalls(make_client(TOKEN, f"http://127.0.0.1:{free_port()}/api/"))  # nothing listens there
    assert await calls.post(Placement(CHANNEL), "hello", [], "thread-7") is None
    assert await calls.permalink(CHANNEL, "1.2", "thread-7") is None
    await calls.aclose()
    assert caplog.text.count("thread-7") == 2 and "ConnectionRefusedError" in caplog.text


async def test_a_refused_post_is_logged_with_the_thread_id(
    slack: LocalSlack, client: AsyncWebClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls = SlackCalls(client)
    assert await calls.post(Placement("CGONE"), "hello", [], "thread-42") is None
    await calls.aclose()
    assert "thread-42" in caplog.text and "channel_not_found" in caplog.text


async def test_requests_are_signed_as_slack_signs_them(slack: LocalSlack) -> None:
    posted = await make_client(TOKEN, slack.api_url).chat_postMessage(
        channel=CHANNEL,
        text="x",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Go"}, "value": "v"}
                ],
            }
        ],
    )
    payload = slack.block_actions_payload("U1", "a", channel=CHANNEL, ts=posted["ts"])
    body, headers = slack.interaction_request(payload)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body.decode(), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert payload["actions"][0]["value"] == "v" and payload["container"]["message_ts"] == posted["ts"]
    with freeze_time("2020-01-01"):
        old_body, old_headers = slack.interaction_request(payload)
    assert not verifier.is_valid(
        old_body.decode(), old_headers["X-Slack-Request-Timestamp"], old_headers["X-Slack-Signature"]
    )


async def test_trigger_ids_are_single_use(slack: LocalSlack, client: AsyncWebClient) -> None:
    slack.channels[CHANNEL] = "general"
    payload = slack.slash_command_payload("U1", CHANNEL, "/sluice", "")
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    await client.views_open(trigger_id=payload["trigger_id"], view=view)
    with pytest.raises(SlackApiError) as again:
        await client.views_open(trigger_id=payload["trigger_id"], view=view)
    assert again.value.response["error"] == "invalid_trigger_id"
    with pytest.raises(SlackApiError) as bad:
        await client.views_open(
            trigger_id=slack.slash_command_payload("U1", CHANNEL, "/s", "")["trigger_id"],
            view={**view, "title": {"type": "plain_text", "text": "t" * 25}},
        )
    assert bad.value.response["error"] == "invalid_arguments"
