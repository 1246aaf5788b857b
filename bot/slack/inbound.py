"""What `POST /slack/events` accepts, checked before bolt sees a byte of it.

In this order, each cheap step before the next: the body's size (Slack's payloads are small, so
anything over `MAX_BODY` is refused unread), the signature (so an unsigned body is never parsed
or logged), then the payload's shape: every field a listener reads must be there with its type.
A refusal is a 4xx with a one-line reason and one log line without the body.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from bot.slack.blocks import PART_BLOCK
from bot.slack.form_blocks import FIELD_BLOCK
from bot.slack.outcome_blocks import OUTCOME_PREFIX
from bot.slack.pause import ButtonRef
from bot.slack.prompts import DECISIONS

MAX_BODY = 1024 * 1024  # a full modal (100 inputs of 3,000 characters, form-encoded) fits with room
MAX_AGE_S = 5 * 60
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
DECISION_ACTION = re.compile(rf"^sluice\.({'|'.join(DECISIONS)})\.([0-9]+\.[0-9]+)$")
MODAL_CALLBACK = "sluice.modal"


class Refused(Exception):
    """A request answered with `status` and `reason` before bolt runs."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_capped(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The body, or Refused(413) as soon as it is known to exceed `limit` (without reading the rest)."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, f"body of {request.content_length} bytes is over {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body over {limit} bytes")
        chunks.append(chunk)


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
    """Slack's v0 signature over `v0:<timestamp>:<body>`, timestamp within five minutes."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not TIMESTAMP.match(timestamp):
        raise Refused(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_S:
        raise Refused(401, "request timestamp is more than five minutes away")
    if not SIGNATURE.match(signature):
        raise Refused(401, "missing or malformed X-Slack-Signature")
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={expected}", signature):
        raise Refused(401, "bad signature")


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The payload as bolt will read it: a form (with a JSON `payload` for interactivity) or JSON."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            quick = _interaction(body)
            if quick is not None:
                return _object(_loads(quick))
            form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
            fields = {k: v[0] for k, v in form.items()}
            if "payload" in fields:
                return _object(_loads(fields["payload"]))
            return fields
        data = _loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused(400, f"unreadable body ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise Refused(400, "body is not a JSON object")
    return data


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise Refused(400, "payload is not a JSON object")
    return payload


def _loads(text: str) -> Any:
    """orjson's parser (a few kB a click: half the stdlib's time), the stdlib's for what it refuses
    (NaN, integers past 64 bits, nesting past 1024), so what is accepted stays what json accepts."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _interaction(body: bytes) -> str | None:
    """An interaction's `payload=<URL-encoded JSON>` (the whole body), decoded as `parse_qs` would
    but at C speed: the stdlib's unquote is a Python loop over every `%XX` (~150 µs for a click's
    3 kB, the costliest step of an ack's own work). `%XX` become `\\xXX` for `codecs.escape_decode`
    (other backslashes doubled, so only those are escapes). None, for the general path, unless the
    body is ASCII with well-formed escapes of UTF-8 text: then both give the same string."""
    if not body.startswith(b"payload=") or b"&" in body or not body.isascii():
        return None
    raw = body[8:].replace(b"\\", b"\\\\").replace(b"+", b" ").replace(b"%", b"\\x")
    try:
        return codecs.escape_decode(raw)[0].decode("utf-8")  # type: ignore[attr-defined,no-any-return]
    except (ValueError, UnicodeDecodeError):
        return None


def is_decision_click(payload: Mapping[str, Any]) -> bool:
    """A decision button's click (its shape checked already: `check_shape`)."""
    if payload.get("type") != "block_actions":
        return False
    action_id = payload["actions"][0]["action_id"]
    return DECISION_ACTION.match(action_id) is not None


def check_shape(payload: Mapping[str, Any]) -> None:
    """Refused(400) unless every field the listeners read is present with its type."""
    kind = payload.get("type")
    if "command" in payload:
        _strings(payload, "command", "user_id", "channel_id")
        if not isinstance(payload.get("text", ""), str):
            raise Refused(400, "text is not a string")
    elif kind == "block_actions":
        _block_actions(payload)
    elif kind in ("view_submission", "view_closed"):
        _view(payload)
    elif kind == "event_callback":
        _event(payload)
    elif kind == "url_verification":
        _strings(payload, "challenge")


def _block_actions(payload: Mapping[str, Any]) -> None:
    _user(payload)
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
        raise Refused(400, "actions is not a non-empty list of objects")
    action = actions[0]
    action_id = action.get("action_id")
    if not isinstance(action_id, str):
        raise Refused(400, "action_id is not a string")
    for name in ("message", "channel", "container"):  # read by the listeners when there
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            raise Refused(400, f"{name} is not an object")
    if action_id.startswith(OUTCOME_PREFIX) and not isinstance(action.get("value"), str):
        raise Refused(400, "not a button of Sluice's")
    if not action_id.startswith("sluice."):
        return
    matched = DECISION_ACTION.match(action_id)
    ref = ButtonRef.decode(action.get("value")) if isinstance(action.get("value"), str) else None
    if matched is None or ref is None or ref.slot != matched.group(2):
        raise Refused(400, "not a button of Sluice's")
    container = payload.get("container")
    channel = payload.get("channel")
    if not (isinstance(container, dict) and isinstance(container.get("message_ts"), str)):
        raise Refused(400, "a decision button outside a message")
    if not (isinstance(channel, dict) and isinstance(channel.get("id"), str)):
        raise Refused(400, "a decision button without its channel")


def _view(payload: Mapping[str, Any]) -> None:
    _user(payload)
    view = payload.get("view")
    if not isinstance(view, dict):
        raise Refused(400, "view is not an object")
    state = view.get("state", {})
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise Refused(400, "view.state.values is not an object of objects")
    if view.get("callback_id") == MODAL_CALLBACK and payload.get("type") == "view_submission":
        meta = view.get("private_metadata")
        if not isinstance(meta, str) or ButtonRef.decode(meta) is None:
            raise Refused(400, "private_metadata is not one of Sluice's")
        if any(
            (b.startswith("part.") and not PART_BLOCK.match(b)) or (b.startswith("field.") and not FIELD_BLOCK.match(b))
            for b in values
        ):
            raise Refused(400, "a block id that is not one of Sluice's")


def _event(payload: Mapping[str, Any]) -> None:
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Refused(400, "event is not an object with a type")
    if event["type"] == "app_mention":
        _strings(event, "user", "channel", "ts")
        if not isinstance(event.get("text", ""), str):
            raise Refused(400, "event.text is not a string")
    elif event["type"] == "app_home_opened":
        _strings(event, "user")
    elif event["type"] == "message":
        _strings(event, "channel")
        for name in ("user", "thread_ts", "text"):
            if event.get(name) is not None and not isinstance(event[name], str):
                raise Refused(400, f"event.{name} is not a string")


def _user(payload: Mapping[str, Any]) -> None:
    user = payload.get("user")
    if not (isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]):
        raise Refused(400, "user.id is missing")


def _strings(data: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if not isinstance(data.get(name), str):
            raise Refused(400, f"{name} is missing or not a string")
