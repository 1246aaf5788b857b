"""A decision click's fast path: its form body read at C speed (the same payload the stdlib's
`parse_qs` reads), and, once bolt has authorized, handled without bolt's dispatch with the answer
bolt gives (`bot.slack.transport.mount`, `bot.slack.listeners.Clicks`)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack import inbound
from tests.slack.harness import APPROVER, CHANNEL, Env, button, make_env

FORM = "application/x-www-form-urlencoded"
PAYLOADS: list[Any] = [
    {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "sluice.approve.0.0", "value": "a|b"}]},
    {"text": "plus + percent % amp & eq = hash # quote \" backslash \\ slash / \\u0041 \\n"},
    {"text": "ünïcödé, emoji 💥, CJK 漢字, RTL עברית", "n": [1, 2.5, -3, None, True, False]},
    {"nested": {"deep": [[[{"x": "y"}]]]}, "empty": "", "space": "   "},
]


def _stdlib(body: bytes) -> Any:
    """What the general path reads: parse_qs, then the JSON."""
    form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
    return json.loads(form["payload"][0])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("quote", [urllib.parse.quote_plus, urllib.parse.quote])
@pytest.mark.parametrize("ascii_json", [True, False])
def test_an_interaction_body_reads_as_parse_qs_reads_it(payload: Any, quote: Any, ascii_json: bool) -> None:
    body = ("payload=" + quote(json.dumps(payload, ensure_ascii=ascii_json), safe="")).encode()
    assert inbound._interaction(body) is not None  # the fast path took it
    assert inbound.parse(body, FORM) == _stdlib(body) == payload


@pytest.mark.parametrize(
    "body",
    [b"payload=%ZZ", b"payload=%7", b"payload=%", b"payload=%E2%82", b"payload=%7B%22a%22%3A1%7D%E2%82",
     b"payload=", b"payload=%7Bnot+json", b"payload=%5B1%5D", 'payload={"a":"é"}'.encode(),
     b"payload=%7B%7D&other=1", b"payload=NaN", b"payload=%7B%22n%22%3A1e999%7D"],
)
def test_a_body_the_fast_path_cannot_read_exactly_is_read_as_before(body: bytes) -> None:
    def before(raw: bytes) -> Any:  # the general path: parse_qs, json, an object or refused
        try:
            payload = _stdlib(raw)
        except (ValueError, UnicodeDecodeError):
            return "refused"
        return payload if isinstance(payload, dict) else "refused"

    try:
        got: Any = inbound.parse(body, FORM)
    except inbound.Refused:
        got = "refused"
    assert got == before(body)


@pytest.fixture
async def env_seen(redis_client: Any) -> AsyncIterator[tuple[Env, list[str]]]:
    """The bot on Redis, and the action ids of the block_actions bolt dispatched (a bolt middleware)."""
    await redis_client.flushdb()
    environment, close = await make_env(redis_client)
    seen: list[str] = []

    async def record(req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]) -> Any:
        if isinstance(req.body, dict) and req.body.get("type") == "block_actions":
            seen.append(req.body["actions"][0]["action_id"])
        return await next()

    environment.bot.bolt.use(record)
    yield environment, seen
    await close()


async def _click(env: Env, thread_id: str, retry: bool = False) -> tuple[int, str, str, str | None]:
    message = env.pause_message(thread_id)
    payload = env.slack.block_actions_payload(APPROVER, button(message, "Approve"), channel=CHANNEL, ts=message.ts)
    body, headers = env.slack.interaction_request(payload)
    if retry:
        headers = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    async with aiohttp.ClientSession() as http, http.post(env.slack.events_url, data=body, headers=headers) as response:
        return response.status, await response.text(), response.headers["Content-Type"], \
            response.headers.get("x-slack-no-retry")


async def test_decision_clicks_skip_bolt_once_it_authorized_and_get_its_answer(env_seen: tuple[Env, list[str]]) -> None:
    env, seen = env_seen
    threads = [await env.start("agent", {"some_text": f"draft {n}"}) for n in range(4)]
    assert env.bot.clicks is not None and not env.bot.clicks.authorized
    through_bolt = await _click(env, threads[0], retry=True)
    assert seen == ["sluice.approve.0.0"] and env.bot.clicks.authorized  # bolt's auth.test passed
    direct = await _click(env, threads[1], retry=True)
    plain = [await _click(env, t) for t in threads[2:]]
    assert len(seen) == 1  # bolt saw none of them
    assert through_bolt == direct == (200, "", "text/plain", "1")  # a Slack retry: told not to retry again
    assert plain == [(200, "", "text/plain", None)] * 2
    await env.settle()
    assert sorted(await env.resumes()) == sorted((t, f"draft {n}") for n, t in enumerate(threads))


async def test_other_interactions_still_go_through_bolt(env_seen: tuple[Env, list[str]]) -> None:
    env, seen = env_seen
    first, second = [await env.start("agent", {"some_text": f"draft {n}"}) for n in range(2)]
    await _click(env, first)  # through bolt: authorized from now on
    message = env.pause_message(second)
    edit = button(message, "Edit")
    assert (await env.slack.click(APPROVER, CHANNEL, message.ts, edit)).status == 200  # a decision: direct
    payload = env.slack.block_actions_payload(APPROVER, edit, channel=CHANNEL, ts=message.ts)
    payload["actions"][0]["action_id"] = "someone_else.button"
    body, headers = env.slack.interaction_request(payload)
    await env.slack.deliver(body, headers)
    assert seen == ["sluice.approve.0.0", "someone_else.button"]
