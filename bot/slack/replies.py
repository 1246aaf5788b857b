"""A message posted in a pause's Slack thread answers it, as its Respond button would.

Where the thread is: the pause message's own, or, for a run started from Slack (a slash command, a
mention), the Slack thread its pauses are posted in as replies (a reply has no thread of its own):
there it answers the thread's current pause. Only a pause with exactly one undecided slot that takes
a reply is answered; the checks and the recording are a Respond's (`Decisions`).
"""

from __future__ import annotations

import re

from bot.slack.decisions import Decisions
from bot.slack.pause import Pause
from bot.slack.prompts import NULL_REPLY, SlotDecision, ValuePrompt, parse_reply

SEVERAL = "Several actions take a reply here: use their Respond buttons."
EMPTY = "Write your answer after the mention: an empty reply answers nothing. Nothing was changed."


async def reply(decisions: Decisions, user: str, channel: str, thread_ts: str, text: str) -> bool:
    """Answers the pause of the Slack thread `thread_ts` with `text`; False when none takes it."""
    found = await _pause_of(decisions, channel, thread_ts)
    if found is None:
        return False
    pause, groups = found
    store = decisions.deps.store
    decided = await store.decided(pause.thread_id, pause.checkpoint_id)
    open_slots = [
        f"{p}.{s}"
        for g in groups
        for p in pause.groups[g]
        for s in range(pause.prompts[p].slots)
        if "respond" in pause.prompts[p].allowed(s) and f"{p}.{s}" not in decided
    ]
    if not open_slots:
        return False
    tell = decisions.deps.calls.ephemeral
    if len(open_slots) > 1:
        await tell(channel, user, SEVERAL, pause.thread_id, thread_ts)
        return True
    slot = open_slots[0]
    refusal = await decisions.refusal(pause, user, slot, "respond")
    if refusal is not None:
        await tell(channel, user, refusal, pause.thread_id, thread_ts)
        return True
    if not text.strip():  # the bot's mention alone: an empty answer is refused (the form would say so too)
        await tell(channel, user, EMPTY, pause.thread_id, thread_ts)
        return True
    prompt = pause.prompts[int(slot.split(".")[0])]
    value = parse_reply(text) if isinstance(prompt, ValuePrompt) else text
    if value is None:
        await tell(channel, user, NULL_REPLY, pause.thread_id, thread_ts)
        return True
    await decisions.record(pause, slot, SlotDecision("respond", value, user), channel)
    return True


def addressed(text: str, bot_user_id: str | None) -> str:
    """A reply without the mention of the bot it starts with (`@sluice {"pick": 2}` answers {"pick": 2})."""
    if bot_user_id:
        return re.sub(rf"^\s*<@{re.escape(bot_user_id)}(?:\|[^>]*)?>\s*", "", text)
    return text


async def waiting_in(decisions: Decisions, channel: str, thread_ts: str) -> bool:
    """Whether a pause waits for replies in that Slack thread (its message's, or the one it is posted in)."""
    return await _pause_of(decisions, channel, thread_ts) is not None


async def _pause_of(decisions: Decisions, channel: str, thread_ts: str) -> tuple[Pause, list[int]] | None:
    """The pause a reply in that Slack thread is for, and which of its groups (their messages) it is in."""
    store = decisions.deps.store
    found = await store.by_message(channel, thread_ts)
    if found is not None:  # the thread of one of the pause's messages
        pause = await store.get(*found)
        return (pause, [pause.group_at(thread_ts) or 0]) if pause is not None else None
    thread_id = await store.in_slack_thread(channel, thread_ts)
    current = await store.current(thread_id) if thread_id else None
    pause = await store.get(thread_id, current) if thread_id and current else None
    if pause is None or pause.placement is None or pause.placement.thread_ts != thread_ts:
        return None  # its current pause is posted elsewhere (or there is none)
    return pause, list(range(len(pause.groups)))
