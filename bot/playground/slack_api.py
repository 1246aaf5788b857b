"""A local Slack: the Web API methods the bot calls, and the requests Slack sends the bot.

`LocalSlack` keeps one workspace in memory (messages, ephemerals, open modals), answers
`auth.test`, `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `views.open`/`update`/`push`,
`users.info`, `usergroups.users.list`, `conversations.replies` and `apps.connections.open` at
`<url>/api/<method>` the way Slack does (the same errors, Block Kit limits checked), and plays the
user: `click`, `submit`, `slash_command`, `say` send the bot signed requests exactly as Slack
would (form-encoded `payload=` for interactivity, an HMAC-SHA256 `v0` signature) over HTTP, or
over Socket Mode when the bot connected that way.

Standalone (`await slack.start()`, own port) for tests and benchmarks, or mounted
(`slack.app()` as a sub-application) by the playground. `version` / `wait_for_change` is the
change feed the playground page follows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

# --- Block Kit limits, as Slack checks them ---------------------------------------------------

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
TRIGGER_TTL_S = 3.0
MAX_VIEW_STACK = 3


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, where: str = "blocks") -> list[str]:
    """What Slack would say is wrong with `blocks` (empty when they are valid)."""
    if not isinstance(blocks, list):
        return [f"{where} must be an array"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"must provide at most {max_blocks} items [json-pointer:/{where}]")
    seen: set[str] = set()

    def text_obj(obj: Any, limit: int, ptr: str, plain: bool = False) -> None:
        if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
            errors.append(f"must be a text object [json-pointer:{ptr}]")
            return
        if plain and obj.get("type") != "plain_text":
            errors.append(f"must be plain_text [json-pointer:{ptr}/type]")
        if len(obj["text"]) > limit:
            errors.append(f"must be less than {limit + 1} characters [json-pointer:{ptr}/text]")
        if obj["type"] not in ("plain_text", "mrkdwn"):
            errors.append(f"unknown text type [json-pointer:{ptr}/type]")

    def element(el: Any, ptr: str) -> None:
        if not isinstance(el, Mapping):
            errors.append(f"must be an object [json-pointer:{ptr}]")
            return
        if len(str(el.get("action_id", ""))) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{ptr}/action_id]")
        if el.get("type") == "button":
            text_obj(el.get("text"), 75, ptr + "/text", plain=True)
            if len(str(el.get("value", ""))) > 2000:
                errors.append(f"must be less than 2001 characters [json-pointer:{ptr}/value]")
        elif el.get("type") == "plain_text_input":
            max_length = el.get("max_length", 3000)
            if not isinstance(max_length, int) or max_length > 3000:
                errors.append(f"must be at most 3000 [json-pointer:{ptr}/max_length]")
            elif len(str(el.get("initial_value", ""))) > max_length:
                errors.append(f"must be less than {max_length + 1} characters [json-pointer:{ptr}/initial_value]")

    for i, block in enumerate(blocks):
        ptr = f"/{where}/{i}"
        if not isinstance(block, Mapping) or "type" not in block:
            errors.append(f"must be a block object [json-pointer:{ptr}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{ptr}/block_id]")
            if block_id in seen:
                errors.append(f"duplicate block_id [json-pointer:{ptr}/block_id]")
            seen.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" in block:
                text_obj(block["text"], 3000, ptr + "/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                errors.append(f"must provide at most 10 items [json-pointer:{ptr}/fields]")
            for j, f in enumerate(fields):
                text_obj(f, 2000, f"{ptr}/fields/{j}")
            if "text" not in block and not fields:
                errors.append(f"must provide text or fields [json-pointer:{ptr}]")
            if "accessory" in block:
                element(block["accessory"], ptr + "/accessory")
        elif kind == "header":
            text_obj(block.get("text"), 150, ptr + "/text", plain=True)
        elif kind == "actions":
            els = block.get("elements") or []
            if not els or len(els) > 25:
                errors.append(f"must provide 1 to 25 items [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                element(el, f"{ptr}/elements/{j}")
        elif kind == "context":
            els = block.get("elements") or []
            if not els or len(els) > 10:
                errors.append(f"must provide 1 to 10 items [json-pointer:{ptr}/elements]")
            for j, el in enumerate(els):
                if isinstance(el, Mapping) and el.get("type") in ("mrkdwn", "plain_text"):
                    text_obj(el, 3000, f"{ptr}/elements/{j}")
        elif kind == "input":
            text_obj(block.get("label"), 2000, ptr + "/label", plain=True)
            element(block.get("element"), ptr + "/element")
        elif kind == "markdown":
            if len(str(block.get("text", ""))) > 12000:
                errors.append(f"must be less than 12001 characters [json-pointer:{ptr}/text]")
        elif kind not in ("divider", "image", "rich_text", "file", "video"):
            errors.append(f"unsupported type `{kind}` [json-pointer:{ptr}/type]")
    return errors


def view_errors(view: Any) -> list[str]:
    if not isinstance(view, Mapping):
        return ["view must be an object"]
    errors: list[str] = []
    if view.get("type") not in ("modal", "home"):
        errors.append("must be modal or home [json-pointer:/view/type]")
    for key in ("title", "submit", "close"):
        obj = view.get(key)
        if obj is None:
            if key == "title" and view.get("type") == "modal":
                errors.append("title is required [json-pointer:/view/title]")
            continue
        if not isinstance(obj, Mapping) or obj.get("type") != "plain_text" or len(str(obj.get("text", ""))) > 24:
            errors.append(f"must be plain_text of at most 24 characters [json-pointer:/view/{key}]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    errors += [
        e.replace("/blocks", "/view/blocks") for e in block_errors(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS)
    ]
    if any(b.get("type") == "input" for b in view.get("blocks", []) if isinstance(b, Mapping)) and "submit" not in view:
        errors.append("a view with inputs needs submit [json-pointer:/view/submit]")
    if len(json.dumps(view)) > 250_000:
        errors.append("view is larger than 250 KB")
    return errors


# --- workspace state --------------------------------------------------------------------------


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    bot_id: str | None = None
    ephemeral_to: str | None = None  # the only user who sees it
    edited: bool = False
    updates: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "channel": self.channel,
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.ephemeral_to:
            out["ephemeral"] = True
            out["ephemeral_to"] = self.ephemeral_to
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class OpenView:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "view": self.view, "hash": self.hash, "errors": self.errors}

    def payload(self, team_id: str, app_id: str, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "type": self.view.get("type", "modal"),
            "blocks": self.view.get("blocks", []),
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            "state": {"values": dict(values or {})},
            "hash": self.hash,
            "title": self.view.get("title"),
            "close": self.view.get("close"),
            "submit": self.view.get("submit"),
            "root_view_id": self.root_view_id,
            "app_id": app_id,
            "external_id": self.view.get("external_id", ""),
            "bot_id": "B0SLUICE",
        }


@dataclass(frozen=True)
class Delivery:
    """What the bot answered to one request Slack sent it."""

    status: int
    body: str
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


class LocalSlackError(Exception):
    """A gesture the local Slack cannot carry out (unknown message, view or button; bot unreachable)."""


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


Method = Callable[[dict[str, Any], str], Any]


class LocalSlack:
    def __init__(
        self,
        *,
        signing_secret: str,
        bot_token: str,
        app_token: str | None = None,
        events_url: str | None = None,
        team_id: str = "T0LOCAL",
        app_id: str = "A0SLUICE",
        bot_user_id: str = "U0SLUICE",
        bot_id: str = "B0SLUICE",
        channels: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.events_url = events_url
        self.team_id, self.app_id, self.bot_user_id, self.bot_id = team_id, app_id, bot_user_id, bot_id
        self.channels: dict[str, str] = dict(channels or {"C0GENERAL": "general"})
        self.users: dict[str, str] = dict(users or {"U0HUMAN": "you"})
        self.users.setdefault(bot_user_id, "sluice")
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.public_url: str | None = None  # where this API is reached, e.g. http://127.0.0.1:8123
        self.messages: list[Message] = []
        self.views: dict[str, list[OpenView]] = {}  # user -> modal stack
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.observers: list[Callable[[str, dict[str, Any]], None]] = []  # told of every Web API call
        self.version = 0
        self._changed = asyncio.Condition()
        self._seq = itertools.count(1)
        self._triggers: dict[str, tuple[str, float]] = {}  # trigger id -> (user, issued at)
        self._responses: dict[str, tuple[str, str, str | None]] = {}  # token -> (channel, user, message ts)
        self._failures: dict[str, list[tuple[str, int, float | None]]] = {}
        self._socket: web.WebSocketResponse | None = None
        self._socket_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "api.test": lambda args, token: {"args": args},
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroup_users,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
        }

    # --- serving --------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The API as an aiohttp (sub-)application: /api/<method>, /response/<token>, /socket."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{token}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        return app

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL (slack_sdk's base_url)."""
        if self.public_url is None:
            raise LocalSlackError("the local Slack is not started: call start() or set public_url")
        return self.public_url.rstrip("/") + "/api/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serves on its own port; returns its URL."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.public_url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.public_url

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- change feed ----------------------------------------------------------------------

    async def _bump(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def wait_for_change(self, seen: int) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self.version != seen)
            return self.version

    def snapshot(self, channel: str | None = None, user: str | None = None) -> dict[str, Any]:
        """Messages (with the ephemerals `user` sees) and `user`'s open modals, as JSON."""
        messages = [
            m.to_json()
            for m in self.messages
            if (channel is None or m.channel == channel)
            and (m.ephemeral_to is None or user is None or m.ephemeral_to == user)
        ]
        views = (
            [v.to_json() for v in self.views.get(user, [])]
            if user
            else [v.to_json() for s in self.views.values() for v in s]
        )
        return {"version": self.version, "messages": messages, "views": views, "users": dict(self.users)}

    # --- queries for tests ----------------------------------------------------------------

    def message(self, channel: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel and m.ts == ts and m.ephemeral_to is None:
                return m
        raise LocalSlackError(f"no message {ts} in {channel}")

    def channel_messages(self, channel: str, *, ephemeral: bool = False) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and (m.ephemeral_to is not None) == ephemeral]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.channel == channel and m.ephemeral_to is None and (m.ts == ts or m.thread_ts == ts)
        ]

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to is not None and (user is None or m.ephemeral_to == user)]

    def top_view(self, user: str) -> OpenView | None:
        stack = self.views.get(user)
        return stack[-1] if stack else None

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, retry_after: float | None = None
    ) -> None:
        """Makes the next `times` calls of `method` fail as Slack would (e.g. 429 ratelimited)."""
        self._failures.setdefault(method, []).extend([(error, status, retry_after)] * times)

    # --- the Web API ----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    return web.json_response({"ok": False, "error": "invalid_json"})
                if isinstance(body, dict):
                    args.update(body)
            else:
                args.update(await request.post())  # type: ignore[arg-type]
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else str(args.pop("token", ""))
        self.calls.append((method, args))
        for observe in self.observers:
            observe(method, args)
        queued = self._failures.get(method)
        if queued:
            error, status, retry_after = queued.pop(0)
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
            return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        try:
            result = handler(args, str(request.url))
            if asyncio.iscoroutine(result):
                result = await result
        except _ApiError as exc:
            return web.json_response({"ok": False, "error": exc.error, **exc.extra})
        return web.json_response({"ok": True, **result})

    def _auth_test(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        return {
            "url": "https://local.slack/",
            "team": "Local",
            "user": self.users[self.bot_user_id],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _channel(self, args: Mapping[str, Any]) -> str:
        channel = str(args.get("channel") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        if channel not in self.channels:
            raise _ApiError("channel_not_found")
        return channel

    @staticmethod
    def _blocks(args: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        raw = args.get("blocks")
        if raw is None:
            return None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _ApiError("invalid_blocks_format") from exc
        errors = block_errors(raw)
        if errors:
            raise _ApiError("invalid_blocks", errors=errors, response_metadata={"messages": errors})
        return list(raw)

    def _content(self, args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        blocks = self._blocks(args)
        text = str(args.get("text") or "")
        if not text and not blocks:
            raise _ApiError("no_text")
        if len(text) > MAX_TEXT:
            raise _ApiError("msg_too_long")
        return text, blocks or []

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq) % 1_000_000:06d}"

    async def _post_message(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        text, blocks = self._content(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not any(m.ts == thread_ts and m.channel == channel for m in self.messages):
            raise _ApiError("thread_not_found")
        message = Message(channel, self._ts(), self.bot_user_id, text, blocks, thread_ts, bot_id=self.bot_id)
        self.messages.append(message)
        await self._bump()
        return {"channel": channel, "ts": message.ts, "message": message.to_json()}

    async def _update(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        try:
            message = self.message(channel, str(args.get("ts")))
        except LocalSlackError as exc:
            raise _ApiError("message_not_found") from exc
        if message.user != self.bot_user_id:
            raise _ApiError("cant_update_message")
        text, blocks = self._content(args)
        message.text, message.blocks, message.edited = text, blocks, True
        message.updates += 1
        await self._bump()
        return {"channel": channel, "ts": message.ts, "text": text, "message": message.to_json()}

    async def _delete(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        try:
            message = self.message(channel, str(args.get("ts")))
        except LocalSlackError as exc:
            raise _ApiError("message_not_found") from exc
        self.messages.remove(message)
        await self._bump()
        return {"channel": channel, "ts": message.ts}

    async def _post_ephemeral(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        user = str(args.get("user") or "")
        if user not in self.users:
            raise _ApiError("user_not_found")
        text, blocks = self._content(args)
        message = Message(
            channel, self._ts(), self.bot_user_id, text, blocks, args.get("thread_ts") or None, self.bot_id, user
        )
        self.messages.append(message)
        await self._bump()
        return {"message_ts": message.ts}

    def _view_arg(self, args: Mapping[str, Any]) -> dict[str, Any]:
        raw = args.get("view")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _ApiError("invalid_arguments") from exc
        errors = view_errors(raw)
        if errors:
            raise _ApiError("invalid_arguments", response_metadata={"messages": errors})
        return dict(raw)  # type: ignore[arg-type]

    def _use_trigger(self, args: Mapping[str, Any]) -> str:
        trigger = str(args.get("trigger_id") or "")
        issued = self._triggers.pop(trigger, None)
        if issued is None:
            raise _ApiError("invalid_trigger_id")
        user, at = issued
        if time.monotonic() - at > TRIGGER_TTL_S:
            raise _ApiError("expired_trigger_id")
        return user

    def _new_view(self, user: str, view: dict[str, Any], root: str | None = None) -> OpenView:
        view_id = "V" + secrets.token_hex(5).upper()
        return OpenView(view_id, user, view, secrets.token_hex(8), root or view_id)

    async def _views_open(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        view = self._view_arg(args)
        user = self._use_trigger(args)
        opened = self._new_view(user, view)
        self.views[user] = [opened]
        await self._bump()
        return {"view": opened.payload(self.team_id, self.app_id)}

    async def _views_push(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        view = self._view_arg(args)
        user = self._use_trigger(args)
        stack = self.views.get(user) or []
        if not stack:
            raise _ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise _ApiError("push_limit_reached")
        opened = self._new_view(user, view, stack[0].id)
        stack.append(opened)
        await self._bump()
        return {"view": opened.payload(self.team_id, self.app_id)}

    async def _views_update(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        view = self._view_arg(args)
        target = self._find_view(str(args.get("view_id") or ""), str(args.get("external_id") or ""))
        if target is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != target.hash:
            raise _ApiError("hash_conflict")
        target.view, target.hash, target.errors = view, secrets.token_hex(8), {}
        await self._bump()
        return {"view": target.payload(self.team_id, self.app_id)}

    def _find_view(self, view_id: str, external_id: str = "") -> OpenView | None:
        for stack in self.views.values():
            for v in stack:
                if (view_id and v.id == view_id) or (external_id and v.view.get("external_id") == external_id):
                    return v
        return None

    def _users_info(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        user = str(args.get("user") or "")
        if user not in self.users:
            raise _ApiError("user_not_found")
        name = self.users[user]
        return {
            "user": {
                "id": user,
                "team_id": self.team_id,
                "name": name,
                "real_name": name,
                "is_bot": user == self.bot_user_id,
                "profile": {"display_name": name, "real_name": name},
            }
        }

    def _usergroup_users(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self.usergroups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _replies(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        messages = [m.to_json() for m in self.thread(channel, ts)]
        if not messages:
            raise _ApiError("thread_not_found")
        return {"messages": messages, "has_more": False}

    def _connections_open(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        parsed = urllib.parse.urlsplit(url)
        base = parsed.path.rsplit("/api/", 1)[0]
        scheme = "wss" if parsed.scheme == "https" else "ws"
        return {"url": f"{scheme}://{parsed.netloc}{base}/socket?ticket={secrets.token_hex(8)}"}

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        target = self._responses.get(request.match_info["token"])
        if target is None:
            return web.Response(status=404, text="expired_url")
        channel, user, message_ts = target
        body = await request.json()
        text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
        if block_errors(blocks):
            return web.Response(status=400, text="invalid_blocks")
        if body.get("delete_original") and message_ts:
            self.messages = [m for m in self.messages if not (m.channel == channel and m.ts == message_ts)]
        elif body.get("replace_original") and message_ts:
            m = self.message(channel, message_ts)
            m.text, m.blocks, m.edited = text, blocks, True
        elif body.get("response_type") == "in_channel":
            self.messages.append(
                Message(channel, self._ts(), self.bot_user_id, text, blocks, body.get("thread_ts"), self.bot_id)
            )
        else:
            self.messages.append(
                Message(channel, self._ts(), self.bot_user_id, text, blocks, body.get("thread_ts"), self.bot_id, user)
            )
        await self._bump()
        return web.Response(text="ok")

    # --- Socket Mode ----------------------------------------------------------------------

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": self.app_id}})
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            future = self._socket_acks.pop(str(data.get("envelope_id")), None)
            if future is not None and not future.done():
                future.set_result(data)
        if self._socket is ws:
            self._socket = None
        return ws

    @property
    def socket_connected(self) -> bool:
        return self._socket is not None and not self._socket.closed

    async def _over_socket(self, kind: str, payload: dict[str, Any]) -> Delivery:
        assert self._socket is not None
        envelope_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = future
        started = time.perf_counter()
        await self._socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        ack = await asyncio.wait_for(future, 3.0)
        return Delivery(
            200, json.dumps(ack.get("payload")) if ack.get("payload") is not None else "", time.perf_counter() - started
        )

    # --- sending the bot what Slack sends ---------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's request signature headers for `body` (at `timestamp`, default now)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def interaction_request(self, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """An interactivity request as Slack sends it: form-encoded `payload=<json>`, signed now."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return body, {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}

    async def deliver(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """POSTs a prepared request to the bot's events URL (as Slack does) and returns its answer."""
        if not self.events_url:
            raise LocalSlackError("no events_url to send requests to")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        started = time.perf_counter()
        try:
            async with self._session.post(self.events_url, data=body, headers=dict(headers)) as response:
                text = await response.text()
                return Delivery(response.status, text, time.perf_counter() - started)
        except aiohttp.ClientError as exc:
            raise LocalSlackError(f"the bot at {self.events_url} did not answer: {exc}") from exc

    async def _send(self, kind: str, payload: dict[str, Any], form: bool) -> Delivery:
        if self.socket_connected and not self.events_url:
            return await self._over_socket(kind, payload)
        if kind == "interactive":
            body, headers = self.interaction_request(payload)
        elif form:
            body = urllib.parse.urlencode(payload).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}
        else:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **self.sign(body)}
        return await self.deliver(body, headers)

    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._seq)}.{secrets.token_hex(6)}"
        self._triggers[trigger] = (user, time.monotonic())
        return trigger

    def _response_url(self, channel: str, user: str, message_ts: str | None) -> str:
        token = secrets.token_hex(10)
        self._responses[token] = (channel, user, message_ts)
        return f"{(self.public_url or 'http://local.slack').rstrip('/')}/response/{token}"

    def _user(self, user: str) -> dict[str, Any]:
        if user not in self.users:
            raise LocalSlackError(f"unknown user {user}; known: {', '.join(self.users)}")
        return {"id": user, "username": self.users[user], "name": self.users[user], "team_id": self.team_id}

    @staticmethod
    def _find_button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
        for block in blocks:
            elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
            for el in elements or []:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return str(block.get("block_id", "")), el
        return None

    def block_actions_payload(
        self,
        user: str,
        action_id: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        block_id: str | None = None,
        value: str | None = None,
    ) -> dict[str, Any]:
        """The block_actions payload of `user` pressing button `action_id` of a message or a modal.

        A button no longer shown can still be pressed by passing its `value` (a stale client).
        """
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": "local-verification-token",
            "trigger_id": self._trigger(user),
            "team": {"id": self.team_id, "domain": "local"},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
        }
        if view_id is not None:
            view = self._find_view(view_id)
            if view is None:
                raise LocalSlackError(f"no open view {view_id}")
            blocks = view.view.get("blocks", [])
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = view.payload(self.team_id, self.app_id)
        else:
            if channel is None or ts is None:
                raise LocalSlackError("a click needs a message (channel and ts) or a view_id")
            message = self.message(channel, ts)
            blocks = message.blocks
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
            payload["channel"] = {"id": channel, "name": self.channels.get(channel, channel)}
            payload["message"] = message.to_json()
            payload["response_url"] = self._response_url(channel, user, ts)
        found = self._find_button(blocks, action_id)
        if found is None and value is None:
            raise LocalSlackError(f"no button {action_id} there")
        shown_block, element = (
            found if found else (block_id or "", {"type": "button", "text": {"type": "plain_text", "text": action_id}})
        )
        payload["actions"] = [
            {
                "action_id": action_id,
                "block_id": block_id or shown_block,
                "text": element.get("text"),
                "value": value if value is not None else element.get("value"),
                "type": element.get("type", "button"),
                "action_ts": f"{time.time():.6f}",
            }
        ]
        return payload

    async def click(self, user: str, channel: str, ts: str, action_id: str, *, value: str | None = None) -> Delivery:
        """`user` presses a button of message `ts`: block_actions to the bot."""
        return await self._send(
            "interactive", self.block_actions_payload(user, action_id, channel=channel, ts=ts, value=value), False
        )

    async def click_in_view(self, user: str, view_id: str, action_id: str, *, value: str | None = None) -> Delivery:
        return await self._send(
            "interactive", self.block_actions_payload(user, action_id, view_id=view_id, value=value), False
        )

    def view_submission_payload(self, user: str, view_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values`: {block_id: text} for plain inputs, or Slack's own {block_id: {action_id: {...}}}."""
        view = self._find_view(view_id)
        if view is None:
            raise LocalSlackError(f"no open view {view_id}")
        state: dict[str, Any] = {}
        for block in view.view.get("blocks", []):
            if block.get("type") != "input":
                continue
            block_id, element = block.get("block_id", ""), block.get("element", {})
            given = values.get(block_id)
            if isinstance(given, Mapping):
                state[block_id] = dict(given)
            else:
                text = given if given is not None else element.get("initial_value")
                state[block_id] = {
                    element.get("action_id", "value"): {"type": element.get("type", "plain_text_input"), "value": text}
                }
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "local"},
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": "local-verification-token",
            "trigger_id": self._trigger(user),
            "view": view.payload(self.team_id, self.app_id, state),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    async def submit(self, user: str, view_id: str, values: Mapping[str, Any]) -> Delivery:
        """`user` submits modal `view_id`; the bot's response_action is applied as Slack does."""
        delivery = await self._send("interactive", self.view_submission_payload(user, view_id, values), False)
        if delivery.status != 200:
            return delivery
        answer = delivery.json() or {}
        stack = self.views.get(user, [])
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            view = self._find_view(view_id)
            if view is not None:
                view.errors = dict(answer.get("errors") or {})
        elif action == "update" and stack:
            stack[-1].view, stack[-1].errors = answer["view"], {}
        elif action == "push":
            stack.append(self._new_view(user, answer["view"], stack[0].id if stack else None))
        elif action == "clear":
            self.views.pop(user, None)
        else:
            self.views[user] = [v for v in stack if v.id != view_id]
        await self._bump()
        return delivery

    async def close_view(self, user: str, view_id: str) -> None:
        """The modal's Cancel: Slack sends view_closed only when notify_on_close is set."""
        stack = self.views.get(user, [])
        view = self._find_view(view_id)
        self.views[user] = [v for v in stack if v.id != view_id]
        await self._bump()
        if view is not None and view.view.get("notify_on_close"):
            payload = {
                "type": "view_closed",
                "user": self._user(user),
                "team": {"id": self.team_id},
                "view": view.payload(self.team_id, self.app_id),
                "is_cleared": False,
            }
            await self._send("interactive", payload, False)

    def slash_command_payload(self, user: str, channel: str, command: str, text: str) -> dict[str, str]:
        return {
            "token": "local-verification-token",
            "team_id": self.team_id,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": self.channels.get(channel, channel),
            "user_id": user,
            "user_name": self._user(user)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(channel, user, None),
            "trigger_id": self._trigger(user),
        }

    async def slash_command(self, user: str, channel: str, command: str, text: str) -> Delivery:
        return await self._send("slash_commands", self.slash_command_payload(user, channel, command, text), True)

    def event_payload(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "local-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True, "is_enterprise_install": False}
            ],
            "is_ext_shared_channel": False,
        }

    async def say(
        self, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> tuple[Message, list[Delivery]]:
        """`user` posts in `channel` (or a thread): Slack sends `message`, and `app_mention` when the bot is named."""
        self._user(user)
        if channel not in self.channels:
            raise LocalSlackError(f"unknown channel {channel}")
        message = Message(channel, self._ts(), user, text, [], thread_ts)
        self.messages.append(message)
        await self._bump()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": "channel",
            "team": self.team_id,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        deliveries = [await self._send("events_api", self.event_payload(event), False)]
        if f"<@{self.bot_user_id}>" in text:
            mention = {**event, "type": "app_mention"}
            mention.pop("channel_type", None)
            deliveries.append(await self._send("events_api", self.event_payload(mention), False))
        return message, deliveries
