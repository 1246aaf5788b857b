"""The local Slack's Web API: the methods the bot calls, answered the way Slack answers them.

`SlackWebApi` serves its workspace at `<url>/api/<method>`: `auth.test`, `chat.postMessage`,
`chat.update`, `chat.delete`, `chat.postEphemeral`, `views.open`/`update`/`push`, `users.info`,
`usergroups.users.list`, `conversations.replies` and `apps.connections.open`, with Slack's errors
and its Block Kit checks (`bot.playground.block_kit`). It also serves `response_url`s and the
Socket Mode WebSocket the bot connects to. Standalone (`await start()`, own port) for tests and
benchmarks, or mounted (`app()` as a sub-application) by the playground.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from bot.playground.block_kit import block_errors, view_errors
from bot.playground.socket_mode import SocketModeLink
from bot.playground.workspace import LocalSlackError, Message, Workspace

MAX_TEXT = 40_000
TRIGGER_TTL_S = 3.0
MAX_VIEW_STACK = 3


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


Method = Callable[[dict[str, Any], str], Any]


class SlackWebApi(Workspace):
    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str | None = None,
        team_id: str = "T0LOCAL",
        app_id: str = "A0SLUICE",
        bot_user_id: str = "U0SLUICE",
        bot_id: str = "B0SLUICE",
        channels: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(
            team_id=team_id,
            app_id=app_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            channels=channels,
            users=users,
            usergroups=usergroups,
        )
        self.bot_token = bot_token
        self.app_token = app_token
        self.public_url: str | None = None  # where this API is reached, e.g. http://127.0.0.1:8123
        # Where a permalink leads: the playground's page (which scrolls to the message), else a
        # Slack-shaped link that leads nowhere.
        self.page_url: str | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.observers: list[Callable[[str, dict[str, Any]], None]] = []  # told of every Web API call
        self._failures: dict[str, list[tuple[str, int, float | None]]] = {}
        self.socket_mode = SocketModeLink(app_id)
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "api.test": lambda args, token: {"args": args},
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
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
        app.router.add_get("/socket", self.socket_mode.handle)
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
        await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def socket_connected(self) -> bool:
        return self.socket_mode.connected

    # --- faults and call counts for tests -------------------------------------------------

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, retry_after: float | None = None
    ) -> None:
        """Makes the next `times` calls of `method` fail as Slack would (e.g. 429 ratelimited)."""
        self._failures.setdefault(method, []).extend([(error, status, retry_after)] * times)

    # --- the methods ----------------------------------------------------------------------

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

    def _channel(self, args: Mapping[str, Any], *, by_name: bool = False) -> str:
        """The channel's id. chat.postMessage also finds a channel by its name (`#general` or
        `general`) and answers with the id; the other methods know a channel by id only."""
        channel = str(args.get("channel") or "")
        if channel in self.channels:
            return channel
        if by_name:
            for channel_id, name in self.channels.items():
                if channel.removeprefix("#") == name:
                    return channel_id
        raise _ApiError("channel_not_found")

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

    async def _post_message(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args, by_name=True)
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

    def _permalink(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("message_ts") or "")
        try:
            self.message(channel, ts)
        except LocalSlackError as exc:
            raise _ApiError("message_not_found") from exc
        path = f"archives/{channel}/p{ts.replace('.', '')}"
        link = f"{self.page_url}#/{path}" if self.page_url else f"https://local.slack/{path}"
        return {"channel": channel, "permalink": link}

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

    def _use_trigger(self, args: Mapping[str, Any]) -> tuple[str, str | None]:
        """The user and client of a fresh, unused trigger id."""
        trigger = str(args.get("trigger_id") or "")
        issued = self._triggers.pop(trigger, None)
        if issued is None:
            raise _ApiError("invalid_trigger_id")
        user, at, client = issued
        if time.monotonic() - at > TRIGGER_TTL_S:
            raise _ApiError("expired_trigger_id")
        return user, client

    async def _views_open(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        view = self._view_arg(args)
        user, client = self._use_trigger(args)
        opened = self._new_view(user, view, client=client)
        # The modal opens on the client the gesture came from, replacing what that client showed.
        self.views[user] = [v for v in self.views.get(user, []) if v.client != client] + [opened]
        await self._bump()
        return {"view": opened.payload(self.team_id, self.app_id)}

    async def _views_push(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        view = self._view_arg(args)
        user, client = self._use_trigger(args)
        stack = [v for v in self.views.get(user, []) if v.client == client]
        if not stack:
            raise _ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise _ApiError("push_limit_reached")
        self.views[user].append(self._new_view(user, view, stack[0].id, client))
        await self._bump()
        return {"view": self.views[user][-1].payload(self.team_id, self.app_id)}

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

    async def _views_publish(self, args: dict[str, Any], url: str) -> dict[str, Any]:
        """A user's App Home tab (`type: home`), replaced whole."""
        view = self._view_arg(args)
        user = str(args.get("user_id") or "")
        if view.get("type") != "home" or user not in self.users:
            raise _ApiError("invalid_arguments" if user in self.users else "user_not_found")
        self.homes[user] = view
        await self._bump()
        return {"view": {**view, "id": "VHOME" + user}}

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

    # --- response_url ---------------------------------------------------------------------

    def _response_url(self, channel: str, user: str, message_ts: str | None) -> str:
        token = secrets.token_hex(10)
        self._responses[token] = (channel, user, message_ts)
        return f"{(self.public_url or 'http://local.slack').rstrip('/')}/response/{token}"

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
