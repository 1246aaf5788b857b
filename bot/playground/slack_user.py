"""The local Slack's user side: a person's gestures become the requests Slack sends the bot.

`LocalSlack` is the whole local Slack: its workspace and Web API (`SlackWebApi`) plus the person
using it. `click`, `submit`, `close_view`, `slash_command` and `say` send the bot what Slack would
send: form-encoded `payload=` for interactivity, signed with slack_sdk's `SignatureVerifier`
(the same `v0` HMAC the bot checks), over HTTP to `events_url`, or over Socket Mode when the bot
connected that way. After a submission the bot's `response_action` is applied as Slack does.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.playground.block_kit import view_errors
from bot.playground.view_state import state_values
from bot.playground.web_api import MAX_VIEW_STACK, SlackWebApi
from bot.playground.workspace import LocalSlackError, Message, OpenView


@dataclass(frozen=True)
class Delivery:
    """What the bot answered to one request Slack sent it."""

    status: int
    body: str
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


class UnknownCommandError(LocalSlackError):
    """A slash command no app declares: Slack does not send it anywhere."""


def unknown_command_note(command: str, known: Iterable[str]) -> str:
    """What Slackbot says about an unknown command, as Slack's client does."""
    listed = ", ".join(f"`{c}`" for c in sorted(known))
    return (
        f"`{command}` is not a valid command. In Slack, all messages that start with the `/` character are "
        f"interpreted as commands. The commands here: {listed} (try `{min(known, default='/sluice')} help`)."
    )


class LocalSlack(SlackWebApi):
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
        commands: Iterable[str] | None = None,
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            app_token=app_token,
            team_id=team_id,
            app_id=app_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            channels=channels,
            users=users,
            usergroups=usergroups,
        )
        self.signing_secret = signing_secret
        self.events_url = events_url
        # The app's slash commands (its manifest's); None: every command is sent to the app.
        self.commands: frozenset[str] | None = frozenset(commands) if commands is not None else None
        self._signer = SignatureVerifier(signing_secret)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().close()

    # --- signing and delivering -----------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's request signature headers for `body` (at `timestamp`, default now)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._signer.generate_signature(timestamp=ts, body=body)
        assert signature is not None  # None only without a timestamp
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

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

    async def _over_socket(self, kind: str, payload: dict[str, Any]) -> Delivery:
        started = time.perf_counter()
        ack = await self.socket_mode.send(kind, payload)
        answer = ack.get("payload")
        return Delivery(200, json.dumps(answer) if answer is not None else "", time.perf_counter() - started)

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

    @staticmethod
    def _find_button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
        for block in blocks:
            elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
            for el in elements or []:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return str(block.get("block_id", "")), el
        return None

    # --- gestures -------------------------------------------------------------------------

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
        client: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The block_actions payload of `user` pressing button `action_id` of a message or a modal.

        A button no longer shown can still be pressed by passing its `value` (a stale client).
        `client` is where the press happened (a modal it opens shows there); a modal's own.
        In a modal, `values` (as for `submit`) is what its inputs hold: Slack sends their state too.
        """
        view = self._find_view(view_id) if view_id is not None else None
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": "local-verification-token",
            "trigger_id": self._trigger(user, view.client if view else client),
            "team": {"id": self.team_id, "domain": "local"},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
        }
        if view_id is not None:
            if view is None:
                raise LocalSlackError(f"no open view {view_id}")
            blocks = view.view.get("blocks", [])
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = view.payload(self.team_id, self.app_id, state_values(blocks, values or {}))
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

    async def click(
        self, user: str, channel: str, ts: str, action_id: str, *, value: str | None = None, client: str | None = None
    ) -> Delivery:
        """`user` presses a button of message `ts` (on `client`): block_actions to the bot."""
        payload = self.block_actions_payload(user, action_id, channel=channel, ts=ts, value=value, client=client)
        return await self._send("interactive", payload, False)

    async def click_in_view(
        self,
        user: str,
        view_id: str,
        action_id: str,
        *,
        value: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Delivery:
        """`user` presses a button of modal `view_id` whose inputs hold `values`."""
        payload = self.block_actions_payload(user, action_id, view_id=view_id, value=value, values=values)
        return await self._send("interactive", payload, False)

    def view_submission_payload(self, user: str, view_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` by block_id: the short form (text, option value(s), date...) or Slack's {action_id: entry}."""
        view = self._find_view(view_id)
        if view is None:
            raise LocalSlackError(f"no open view {view_id}")
        state = state_values(view.view.get("blocks", []), values)
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "local"},
            "user": self._user(user),
            "api_app_id": self.app_id,
            "token": "local-verification-token",
            "trigger_id": self._trigger(user, view.client),
            "view": view.payload(self.team_id, self.app_id, state),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    async def submit(self, user: str, view_id: str, values: Mapping[str, Any]) -> Delivery:
        """`user` submits modal `view_id`; the bot's response_action is applied as Slack does.

        An answer Slack would refuse (errors for blocks that are not inputs of the view, an invalid
        view to update or push) is a `LocalSlackError`: Slack shows the person an error instead.
        """
        delivery = await self._send("interactive", self.view_submission_payload(user, view_id, values), False)
        if delivery.status != 200:
            return delivery
        answer = delivery.json() or {}
        submitted = self._find_view(view_id)
        client = submitted.client if submitted else None
        stack = [v for v in self.views.get(user, []) if v.client == client]
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors" and submitted is not None:
            submitted.errors = self._field_errors(submitted, answer.get("errors"))
        elif action in ("update", "push"):
            problems = view_errors(answer.get("view"))
            if problems:
                raise LocalSlackError(f"the bot answered {action} with a view Slack refuses: {'; '.join(problems)}")
            if action == "update" and stack:
                stack[-1].view, stack[-1].errors = answer["view"], {}
            elif action == "push":
                if len(stack) >= MAX_VIEW_STACK:
                    raise LocalSlackError("the bot pushed a fourth view: Slack keeps at most 3")
                root = stack[0].id if stack else None
                self.views.setdefault(user, []).append(self._new_view(user, answer["view"], root, client))
        elif action == "clear":
            self.views[user] = [v for v in self.views.get(user, []) if v.client != client]
        else:
            self.views[user] = [v for v in self.views.get(user, []) if v.id != view_id]
        await self._bump()
        return delivery

    @staticmethod
    def _field_errors(view: OpenView, errors: Any) -> dict[str, str]:
        """`response_action: errors` as Slack checks it: a message for input blocks of the view."""
        inputs = {b.get("block_id") for b in view.view.get("blocks", []) if b.get("type") == "input"}
        if not isinstance(errors, Mapping) or not errors:
            raise LocalSlackError("the bot answered response_action errors without errors")
        unknown = [str(k) for k in errors if k not in inputs]
        if unknown:
            raise LocalSlackError(f"the bot answered errors for blocks that are not inputs of the view: {unknown}")
        return {str(k): str(v) for k, v in errors.items()}

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

    def slash_command_payload(
        self, user: str, channel: str, command: str, text: str, client: str | None = None
    ) -> dict[str, str]:
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
            "trigger_id": self._trigger(user, client),
        }

    async def slash_command(
        self, user: str, channel: str, command: str, text: str, client: str | None = None
    ) -> Delivery:
        """`/command text` typed by `user`. A command the app does not declare never reaches it:
        Slackbot tells the user so (only they see it) and this raises `UnknownCommandError`."""
        if self.commands is not None and command not in self.commands:
            await self.slackbot_note(user, channel, unknown_command_note(command, self.commands))
            raise UnknownCommandError(f"{command} is not a valid command")
        payload = self.slash_command_payload(user, channel, command, text, client)
        return await self._send("slash_commands", payload, True)

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

    async def open_home(self, user: str) -> Delivery:
        """`user` opens the app's Home tab: Slack sends `app_home_opened`."""
        self._user(user)
        event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                 "event_ts": f"{time.time():.6f}"}
        return await self._send("events_api", self.event_payload(event), False)

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
