"""Who may decide: SLUICE_APPROVERS (or an assistant's own list) of user ids, user-group ids, or `*`.

Deny by default: with nobody configured every decision is refused, with a reply saying how to
set it. User groups (`S…` ids) are resolved with `usergroups.users.list`, cached briefly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger("sluice.slack")

GROUP_TTL_S = 60.0
HOW_TO = (
    "Nobody is allowed to decide pauses yet. Set `SLUICE_APPROVERS` to Slack user ids and user-group ids "
    "(e.g. `SLUICE_APPROVERS=U012ABC,S034DEF`, or `*` for anyone in the channel) and restart the bot."
)

GroupLookup = Callable[[str], Awaitable[list[str]]]


def parse(raw: str | Iterable[str] | None) -> frozenset[str]:
    if raw is None:
        return frozenset()
    items = raw.replace(";", ",").replace(" ", ",").split(",") if isinstance(raw, str) else list(raw)
    return frozenset(i.strip() for i in items if i and i.strip())


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


class Approvers:
    def __init__(
        self,
        default: frozenset[str],
        per_assistant: dict[str, frozenset[str]],
        lookup_group: GroupLookup,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._per_assistant = per_assistant
        self._lookup = lookup_group
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    def allowed_ids(self, assistant_id: str) -> frozenset[str]:
        return self._per_assistant.get(assistant_id) or self._default

    async def check(self, user_id: str, assistant_id: str) -> Verdict:
        ids = self.allowed_ids(assistant_id)
        if not ids:
            return Verdict(False, HOW_TO)
        if "*" in ids or user_id in ids:
            return Verdict(True)
        for group in sorted(i for i in ids if i.startswith("S")):
            if user_id in await self._members(group):
                return Verdict(True)
        return Verdict(
            False, f"<@{user_id}>, you are not one of the approvers of `{assistant_id}`, so nothing was changed."
        )

    async def among(self, user_id: str, ids: Iterable[str]) -> bool:
        """Whether `user_id` is one of `ids` (users, or members of its groups)."""
        ids = frozenset(ids)
        if "*" in ids or user_id in ids:
            return True
        for group in sorted(i for i in ids if i.startswith("S")):
            if user_id in await self._members(group):
                return True
        return False

    async def _members(self, group: str) -> frozenset[str]:
        now = self._clock()
        cached = self._groups.get(group)
        if cached and now - cached[0] < GROUP_TTL_S:
            return cached[1]
        try:
            members = frozenset(await self._lookup(group))
        except Exception as exc:  # a failed lookup denies; it is retried on the next click
            log.warning("usergroups.users.list %s failed: %s", group, exc)
            return cached[1] if cached else frozenset()
        self._groups[group] = (now, members)
        return members
