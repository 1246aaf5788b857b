"""What Slack ids look like, checked at start-up so a typo is an error, not a silently refused click.

Kept apart from `bot.slack` (which pulls in slack-bolt) so settings and the registry can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# User ids start with U (W on Enterprise Grid), user-group ids with S; `*` allows anyone.
APPROVER_ID = re.compile(r"^(?:[UWS][A-Z0-9]+|\*)$")
HOW_TO_FIND = (
    "a user's id: their profile → ⋮ → Copy member ID; a user group's id: the usergroups.list API "
    "(see the README, 'Finding user and group ids')"
)


def split_ids(raw: str | Iterable[str] | None) -> list[str]:
    """`U1,S2 U3;U4` (or a list) as its entries, blanks dropped."""
    if raw is None:
        return []
    items = raw.replace(";", ",").replace(" ", ",").split(",") if isinstance(raw, str) else list(raw)
    return [i.strip() for i in items if isinstance(i, str) and i.strip()]


def approver_problem(raw: str | Iterable[str] | None) -> str | None:
    """Why the approver list is malformed (naming the bad entries), or None."""
    if raw is not None and not isinstance(raw, str) and any(not isinstance(i, str) for i in raw):
        return "entries must be strings (Slack user or user-group ids)"
    bad = [i for i in split_ids(raw) if not APPROVER_ID.match(i)]
    if not bad:
        return None
    shown = ", ".join(repr(b[:40]) for b in bad[:5])
    what = "is not a Slack user id (U…/W…) or user-group id (S…)" if len(bad) == 1 else (
        "are not Slack user ids (U…/W…) or user-group ids (S…)"
    )
    return f"{shown} {what}, nor `*` for anyone; {HOW_TO_FIND}"


# A channel is named by its id (C… public and most private channels, G… older private ones, D… direct
# messages) or by its name (`#general` or `general`: Slack answers a post with the id, which the
# pause keeps, since clicks and chat.update know a channel by id only).
CHANNEL = re.compile(r"^(?:[CGD][A-Z0-9]+|#?[^\s#,<>@]{1,80})$")
CHANNEL_HOW_TO = "use the channel's id (C…: the channel's name → About → the id at the bottom) or its name"


def channel_problem(value: object) -> str | None:
    """Why `value` names no Slack channel (blank, spaces, a mention's markup), or None."""
    if isinstance(value, str) and CHANNEL.match(value):
        return None
    shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
    return f"{shown} is not a Slack channel id or name; {CHANNEL_HOW_TO}"


def bot_token_problem(token: str) -> str | None:
    """Why `token` cannot be a bot token; never repeats the token itself."""
    if token.startswith("xapp-"):
        return (
            "this is an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN; the bot token starts with "
            "xoxb- (OAuth & Permissions → Bot User OAuth Token)"
        )
    if token.startswith("xoxp-"):
        return "this is a user token (xoxp-…); use the bot token, xoxb-… (OAuth & Permissions → Bot User OAuth Token)"
    return None


def app_token_problem(token: str) -> str | None:
    if token.startswith("xox"):
        return (
            "this is not an app-level token: it starts with xapp- (Basic Information → App-Level Tokens, "
            "scope connections:write)"
        )
    return None
