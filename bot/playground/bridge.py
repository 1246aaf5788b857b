"""What the page needs from the local Slack: a view of the channel, and the user's gestures.

`Bridge` is the page's whole dependency on the local Slack; `SlackApiBridge` (in
`bot.playground.local`) implements it on top of `bot.playground.slack_user.LocalSlack`.
"""

from __future__ import annotations

from typing import Any, Protocol


class BridgeError(Exception):
    """A gesture the local Slack could not carry out (unknown message or view, bot unreachable)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Bridge(Protocol):
    @property
    def version(self) -> int:
        """Grows by one on every change the page should show."""
        ...

    async def wait_for_change(self, seen: int) -> int:
        """Returns the version as soon as it differs from `seen`."""
        ...

    def snapshot(self, tab: str | None) -> dict[str, Any]:
        """The page's JSON: version, channel, channel_name, me, users, messages, and the views of `tab`."""
        ...

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
        """A button press in a message (channel + ts) or in a modal (view_id): block_actions to the bot.

        A modal the bot opens in answer belongs to `tab` (the browser tab that pressed); a press in
        a modal carries what its inputs hold (`values`, as for `submit`)."""
        ...

    async def submit(self, view_id: str, values: dict[str, Any]) -> dict[str, str]:
        """A modal submission: view_submission to the bot; returns field errors the bot answered."""
        ...

    async def close(self, view_id: str) -> None: ...

    async def slash_command(self, command: str, text: str, tab: str | None) -> None:
        """`/command text`; an unknown command gets Slackbot's note instead of reaching the bot."""
        ...

    async def say(self, text: str) -> None:
        """A plain message from the user in the channel (message event to the bot)."""
        ...
