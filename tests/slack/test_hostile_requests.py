"""Hostile and malformed requests to `POST /slack/events`: refused with a 4xx before anything is
parsed or changed, and never logged with their body."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack import blocks
from bot.slack.pause import Pause
from tests.processes import Serve
from tests.slack.harness import APPROVER, CHANNEL, SECRET, TOKEN, Env, action_ids, button, button_value

pytestmark = pytest.mark.e2e  # starts Sluice processes

MB = 1024 * 1024


@pytest.fixture
def serve(redis_url: str, tmp_path: Path) -> Iterator[Serve]:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": "http://127.0.0.1:9/api/",
           "SLUICE_APPROVERS": APPROVER, "REDIS_URL": redis_url}
    server = Serve(env, tmp_path / "serve.log").start()
    yield server
    server.stop()


async def _raw_post(port: int, headers: dict[str, str], body: bytes, *, send: int | None = None) -> int:
    """POSTs over a plain socket, sending at most `send` bytes of the body; returns the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
    writer.write(body[:send] if send is not None else body)
    try:
        await writer.drain()
    except ConnectionError:
        pass
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.transport.abort()
    return int(status_line.split()[1])


async def test_unsigned_large_bodies_are_refused_unread_and_not_logged(serve: Serve) -> None:
    marker = b"BODY-MARKER-" * 10
    big = marker + b"x" * (8 * MB)
    before = len(serve.log())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(5):  # announced size over the cap: refused before a byte of the body is read
        status = await _raw_post(serve.port, {**form, "Content-Length": str(len(big))}, big, send=64 * 1024)
        assert status == 413
    # chunked (no length given): refused as soon as the cap is passed
    chunked = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in (big[i : i + MB] for i in range(0, 3 * MB, MB)))
    assert await _raw_post(serve.port, {**form, "Transfer-Encoding": "chunked"}, chunked) == 413
    # small but unsigned, or signed with a timestamp that is not a number: refused, not parsed
    small = marker + b"&payload=%7B%7D"
    assert await _raw_post(serve.port, {**form, "Content-Length": str(len(small))}, small) == 401
    ts_abc = {"X-Slack-Request-Timestamp": "abc",
              "X-Slack-Signature": "v0=" + hmac.new(SECRET.encode(), b"v0:abc:" + small, hashlib.sha256).hexdigest()}
    assert await _raw_post(serve.port, {**form, **ts_abc, "Content-Length": str(len(small))}, small) == 401
    await asyncio.sleep(0)  # the server logs before it answers: nothing more to wait for
    grown = serve.log()[before:]
    assert "BODY-MARKER" not in grown and "xxxx" not in grown
    assert len(grown.encode()) < 8 * 400, grown  # one short line per refusal
    assert grown.count("refused a Slack request") == 8, grown
    assert "Traceback" not in grown


def _signed(env: Env, body: bytes, content_type: str, timestamp: str | None = None) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def _form(payload: Any) -> bytes:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return urllib.parse.urlencode({"payload": raw}).encode()


async def _pending(env: Env, thread: str) -> dict[str, Any]:
    pause_id = await env.bot.deps.store.current(thread)
    assert pause_id is not None
    return {
        "status": await env.bot.deps.store.status(thread, pause_id),
        "decided": await env.bot.deps.store.decided(thread, pause_id),
        "resumes": await env.resumes(),
        "ephemerals": len(env.slack.ephemerals()),
    }


async def test_malformed_signed_requests_get_a_4xx_and_change_nothing(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "original text"})
    message = env.pause_message(thread)
    approve = button(message, "Approve")
    good = env.slack.block_actions_payload(APPROVER, approve, channel=CHANNEL, ts=message.ts)
    before = await _pending(env, thread)
    form = "application/x-www-form-urlencoded"

    slot_minus_one = json.loads(json.dumps(good))
    ref = button_value(message, "Approve").split("|")
    slot_minus_one["actions"][0]["action_id"] = "sluice.approve.-1.0"
    slot_minus_one["actions"][0]["value"] = "|".join([*ref[:3], "-1.0", ""])
    no_user = {k: v for k, v in good.items() if k != "user"}
    cases: list[tuple[str, bytes, str]] = [
        ("non-JSON payload", _form("{not json"), form),
        ("payload not an object", _form([1, 2]), form),
        ("actions: []", _form({**good, "actions": []}), form),
        ("missing user", _form(no_user), form),
        ("slot -1.0", _form(slot_minus_one), form),
        ("event body not JSON", b"{", "application/json"),
        ("app_mention without user", json.dumps(env.slack.event_payload(
            {"type": "app_mention", "channel": CHANNEL, "ts": "1.0", "text": "<@U0BOT> hi"})).encode(),
         "application/json"),
        ("command without channel", urllib.parse.urlencode({"command": "/sluice", "user_id": APPROVER}).encode(), form),
        # each of these was a 500 (a listener or bolt read a field of another type), or a traceback after the ack
        ("message not an object", _form({**good, "message": "x"}), form),
        ("outcome button without a string value", _form({**good, "actions": [
            {**good["actions"][0], "action_id": "sluice_outcome.retry", "value": {"thread": thread}}]}), form),
        ("app_mention text not a string", json.dumps(env.slack.event_payload(
            {"type": "app_mention", "user": APPROVER, "channel": CHANNEL, "ts": "1.0", "text": ["<@U0BOT>"]})).encode(),
         "application/json"),
        ("app_home_opened user not a string", json.dumps(env.slack.event_payload(
            {"type": "app_home_opened", "user": 5, "tab": "home"})).encode(), "application/json"),
    ]
    for label, body, content_type in cases:
        answer = await env.slack.deliver(body, _signed(env, body, content_type))
        assert answer.status == 400, (label, answer.status, answer.body)
    timestamp_abc = _form(good)
    assert (await env.slack.deliver(timestamp_abc, _signed(env, timestamp_abc, form, "abc"))).status == 401
    await env.settle()
    assert await _pending(env, thread) == before  # nothing recorded, resumed or told

    # a modal submission whose block id is not one of ours
    await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Edit"))
    await env.settle()
    view = env.slack.top_view(APPROVER)
    assert view is not None
    submission = env.slack.view_submission_payload(APPROVER, view.id, {"part.0": "edited"})
    submission["view"]["state"]["values"]["part.x"] = {"value": {"type": "plain_text_input", "value": "boo"}}
    body = _form(submission)
    assert (await env.slack.deliver(body, _signed(env, body, form))).status == 400
    await env.settle()
    assert await _pending(env, thread) == before

    # and the pause is not stuck: a real click still decides it
    assert (await env.slack.click(APPROVER, CHANNEL, message.ts, approve)).status == 200
    await env.settle()
    assert (await env.state(thread, "text_revision")).next == ()
    assert action_ids(env.slack.message(CHANNEL, message.ts)) == []


async def test_a_button_decides_only_from_its_own_pause_message(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "original text"}, channel="C0OTHER")
    message = env.pause_message(thread, "C0OTHER")
    approve = button(message, "Approve")
    value = button_value(message, "Approve")
    decoy, _ = await env.slack.say(APPROVER, CHANNEL, "a message in another channel")
    forged = env.slack.block_actions_payload(APPROVER, approve, channel=CHANNEL, ts=decoy.ts, value=value)
    body = _form(forged)
    answer = await env.slack.deliver(body, _signed(env, body, "application/x-www-form-urlencoded"))
    assert answer.status == 200  # well-formed: acked, then refused privately
    await env.settle()
    assert await env.resumes() == []
    told = env.slack.ephemerals(APPROVER)
    assert told and "does not belong to this message" in told[-1].text
    # the same channel, another message: refused too
    other, _ = await env.slack.say(APPROVER, "C0OTHER", "another message here")
    forged = env.slack.block_actions_payload(APPROVER, approve, channel="C0OTHER", ts=other.ts, value=value)
    body = _form(forged)
    await env.slack.deliver(body, _signed(env, body, "application/x-www-form-urlencoded"))
    await env.settle()
    assert await env.resumes() == []
    # from its own message it decides
    await env.slack.click(APPROVER, "C0OTHER", message.ts, approve)
    await env.settle()
    assert await env.resumes() == [(thread, "original text")]


def test_identifiers_are_escaped_where_they_are_rendered() -> None:
    hostile = "<!channel> <https://evil.example|https://bank.example>"
    pause = Pause(thread_id=hostile, checkpoint_id="<!here>", assistant_id="a<b>", run_id="r", summary="")
    rendered = json.dumps(blocks.pause_blocks(pause)) + blocks.pause_text(pause)
    assert "<!channel>" not in rendered and "<!here>" not in rendered and "<https://" not in rendered
    assert "&lt;!channel&gt;" in rendered
