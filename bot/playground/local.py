"""`SlackApiBridge`: the page's `Bridge` on top of the local Slack (`bot.playground.slack_user`).

The page shows one channel as one user sees it (their ephemerals, their modals); every gesture
becomes the request Slack would send the bot, signed, through `LocalSlack`.
"""

from __future__ import annotations

import re
from typing import Any

from bot.playground.bridge import BridgeError
from bot.playground.slack_user import Delivery, LocalSlack, UnknownCommandError
from bot.playground.workspace import LocalSlackError

# "@sluice ..." typed in the message box is a mention, as Slack's composer turns it into one.
MENTION = re.compile(r"(?<![\w<])@sluice\b", re.IGNORECASE)


class SlackApiBridge:
    def __init__(self, slack: LocalSlack, *, channel: str, user: str) -> None:
        self._slack = slack
        self._channel = channel
        self._user = user

    @property
    def version(self) -> int:
        return self._slack.version

    async def wait_for_change(self, seen: int) -> int:
        return await self._slack.wait_for_change(seen)

    def snapshot(self, tab: str | None) -> dict[str, Any]:
        # Without a tab nothing opened on one is shown: a modal belongs to the tab that opened it.
        raw = self._slack.snapshot(self._channel, self._user, client=tab or "")
        users: dict[str, str] = raw["users"]
        return {
            "version": raw["version"],
            "channel": self._channel,
            "channel_name": self._slack.channels.get(self._channel, self._channel),
            "me": {"id": self._user, "name": users.get(self._user, self._user)},
            "users": users,
            "messages": [self._message(m, users) for m in raw["messages"]],
            "views": raw["views"],
        }

    @staticmethod
    def _message(message: dict[str, Any], users: dict[str, str]) -> dict[str, Any]:
        """What the page draws besides the Slack JSON: the author's name, bot or not, edited or not."""
        return {
            **message,
            "author": users.get(message["user"], message["user"]),
            "bot": "bot_id" in message,
            "updated": "edited" in message,
        }

    async def click(
        self,
        *,
        channel: str | None,
        ts: str | None,
        view_id: str | None,
        action_id: str,
        block_id: str,
        value: str | None,
        tab: str | None,
        values: dict[str, Any] | None = None,
    ) -> None:
        # The button's value as the page last saw it: a click on a message that changed since is
        # what a Slack client that has not refreshed yet sends, and the bot must cope with it.
        try:
            if view_id is not None:
                delivery = await self._slack.click_in_view(self._user, view_id, action_id, value=value, values=values)
            elif channel is not None and ts is not None:
                delivery = await self._slack.click(self._user, channel, ts, action_id, value=value, client=tab)
            else:
                raise BridgeError("a click needs a message (channel and ts) or a view_id")
        except LocalSlackError as exc:
            raise BridgeError(str(exc), 404) from exc
        _check(delivery, "the button")

    async def submit(self, view_id: str, values: dict[str, Any]) -> dict[str, str]:
        try:
            delivery = await self._slack.submit(self._user, view_id, values)
        except LocalSlackError as exc:
            raise BridgeError(str(exc), 404) from exc
        _check(delivery, "the form")
        answer = delivery.json()
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
        return {}

    async def close(self, view_id: str) -> None:
        try:
            await self._slack.close_view(self._user, view_id)
        except LocalSlackError as exc:
            raise BridgeError(str(exc), 404) from exc

    async def slash_command(self, command: str, text: str, tab: str | None) -> None:
        try:
            delivery = await self._slack.slash_command(self._user, self._channel, command, text, tab)
        except UnknownCommandError:
            return  # Slackbot's note in the channel says so
        except LocalSlackError as exc:
            raise BridgeError(str(exc), 502) from exc
        _check(delivery, command)

    async def say(self, text: str) -> None:
        text = MENTION.sub(f"<@{self._slack.bot_user_id}>", text)
        try:
            _, deliveries = await self._slack.say(self._user, self._channel, text)
        except LocalSlackError as exc:
            raise BridgeError(str(exc), 502) from exc
        for delivery in deliveries:
            _check(delivery, "the message")


def _check(delivery: Delivery, what: str) -> None:
    """Slack shows the user an error when the app does not ack with 200; so does the page."""
    if delivery.status != 200:
        raise BridgeError(f"the bot answered {delivery.status} to {what}: {delivery.body[:300]}", 502)
