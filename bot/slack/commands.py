"""Runs started from Slack, and `/sluice pending`.

`/sluice <assistant> <text>` and `@sluice <assistant> <text>` start a run whose pauses, final
answer or error go into a Slack thread: the mention's own thread, or a thread under a message the
command posts. `/sluice pending` lists the channel's pauses the viewer may decide, oldest first,
with their deadlines and links to their messages; `/sluice audit <thread_id>` shows a thread's
audit trail.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from bot.slack import blocks, limits
from bot.slack.deps import Deps
from bot.slack.notifier import SLACK_ORIGIN, Notifier
from bot.slack.pause import Placement

if TYPE_CHECKING:
    from bot.slack.decisions import Decisions

log = logging.getLogger("sluice.slack")

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
HELP = ("help", "-h", "--help")
MORE = "…and {n} more (newer ones): the bot's App Home tab lists them too."

COMMAND_WORDS = (*HELP, "pending", "audit")


def usage(names: list[str]) -> str:
    listed = ", ".join(f"`{blocks.escape(n)}`" for n in names) or "none"
    return (
        "Usage: `/sluice &lt;assistant&gt; &lt;text&gt;` starts a run here; `/sluice pending` lists, with links, "
        "the pauses waiting in this channel for you; `/sluice audit &lt;thread_id&gt;` shows who decided what. "
        f"Assistants: {listed}."
    )


def listed(title: str, lines: list[str], limit: int = limits.MESSAGE_TEXT) -> str:
    """`title` and as many whole `lines` as fit in `limit` characters, then how many more there are: a
    line cut short breaks its link and date tokens, and the last ones would go unsaid."""
    shown: list[str] = []
    size = len(title)
    reserve = len(MORE.format(n=len(lines))) + 1  # room for the last line, unless every line fits
    for k, line in enumerate(lines):
        if size + 1 + len(line) + (0 if k == len(lines) - 1 else reserve) > limit:
            break
        shown.append(line)
        size += 1 + len(line)
    more = [MORE.format(n=len(lines) - len(shown))] if len(shown) < len(lines) else []
    return "\n".join([title, *shown, *more])


class Commands:
    def __init__(self, deps: Deps, notifier: Notifier, decisions: Decisions | None = None) -> None:
        self.deps = deps
        self.notifier = notifier
        self.decisions = decisions

    def starts_something(self, text: str) -> bool:
        """Whether a mention's text (the bot's mention in it or not) names an assistant or a command."""
        words = MENTION.sub("", text).split(None, 1)
        return bool(words) and (words[0] in COMMAND_WORDS or words[0] in self.deps.assistants.names())

    async def slash(self, user: str, channel: str, text: str) -> None:
        words = text.strip().split(None, 1)
        if not words or words[0] in HELP:
            await self.deps.calls.ephemeral(channel, user, usage(self.deps.assistants.names()))
            return
        if words[0] == "pending":
            await self.pending(user, channel)
            return
        if words[0] == "audit":
            await self.audit(user, channel, words[1].strip() if len(words) > 1 else "")
            return
        assistant, request = words[0], words[1] if len(words) > 1 else ""
        if assistant not in self.deps.assistants.names():
            await self.deps.calls.ephemeral(
                channel, user, f"No assistant `{blocks.escape(assistant)}`. " + usage(self.deps.assistants.names())
            )
            return
        intro = f"<@{user}> started *{blocks.escape(assistant)}*" + (f": {blocks.escape(request)}" if request else "")
        ts = await self.deps.calls.post(Placement(channel), f"{assistant} started", [blocks.section(intro)], "-")
        if ts is None:
            await self.deps.calls.ephemeral(channel, user, "Could not post in this channel; is the bot a member of it?")
            return
        await self.start(user, Placement(channel, ts), assistant, request)

    async def mention(self, user: str, channel: str, text: str, ts: str, thread_ts: str | None) -> None:
        words = MENTION.sub("", text).strip().split(None, 1)
        place = Placement(channel, thread_ts or ts)
        if words and words[0] in COMMAND_WORDS:  # `@sluice pending` as `/sluice pending` (the usage offers both)
            await self.slash(user, channel, " ".join(words))
            return
        if not words or words[0] not in self.deps.assistants.names():
            await self.deps.calls.post(
                place, "usage", [blocks.section(usage(self.deps.assistants.names()).replace("/sluice", "@sluice"))], "-"
            )
            return
        await self.start(user, place, words[0], words[1] if len(words) > 1 else "")

    async def start(self, user: str, place: Placement, assistant: str, request: str) -> None:
        configurable = {"slack_channel": place.channel, "slack_thread_ts": place.thread_ts}
        metadata = {
            SLACK_ORIGIN: True,
            "slack_user": user,
            "slack_channel": place.channel,
            "slack_thread_ts": place.thread_ts,
        }
        try:
            thread_id = await self.deps.runs.start(
                assistant,
                self.deps.assistants.input_for(assistant, request),
                config={"configurable": configurable},
                metadata=metadata,
            )
        except Exception as exc:
            log.exception("starting %s from Slack failed", assistant)
            await self.deps.calls.post(
                place,
                "failed",
                [
                    blocks.section(
                        f"Could not start *{blocks.escape(assistant)}*: `{type(exc).__name__}: {blocks.escape(str(exc))}`"
                    )
                ],
                "-",
            )
            return
        log.info("run of %s started from Slack by %s on thread %s", assistant, user, thread_id)

    async def pending(self, user: str, channel: str) -> None:
        found = await self.deps.store.pending(channel)
        if not found:
            await self.deps.calls.ephemeral(channel, user, "Nothing is waiting for a decision in this channel.")
            return
        lines = [line for pair in found if (line := await self._line(user, *pair, repost=True))]
        if not lines:
            await self.deps.calls.ephemeral(channel, user, "Nothing here is waiting for your decision.")
            return
        await self.deps.calls.ephemeral(channel, user, listed(f"{len(lines)} waiting for your decision here:", lines))

    async def home(self, user: str) -> None:
        """The App Home tab: every pause `user` may decide, in any channel, oldest first."""
        found: list[tuple[float, str]] = []
        for channel in await self.deps.store.channels():
            for thread_id, checkpoint_id in await self.deps.store.pending(channel):
                pause = await self.deps.store.get(thread_id, checkpoint_id)
                line = await self._line(user, thread_id, checkpoint_id, repost=False) if pause else None
                if pause is not None and line:
                    found.append((pause.created_at, f"{line} (in <#{blocks.escape(channel)}>)"))
        found.sort()
        title = f"*{len(found)} waiting for your decision*" if found else "*Nothing is waiting for your decision.*"
        body = [blocks.section(title)] + [blocks.section(limits.clip(line, limits.SECTION_TEXT)) for _, line in found[:95]]
        if len(found) > 95:
            body.append(blocks.context(f"…and {len(found) - 95} more: `/sluice pending` in their channels."))
        await self.deps.calls.publish_home(user, {"type": "home", "blocks": body})

    async def _line(self, user: str, thread_id: str, checkpoint_id: str, repost: bool) -> str | None:
        """One pause `user` may decide, as a line: assistant, since when, deadline, link; else None."""
        pause = await self.deps.store.get(thread_id, checkpoint_id)
        if pause is None or pause.placement is None:
            return None
        if self.decisions is not None and not await self.decisions.may_decide(pause, user):
            return None  # listed for those who may decide it
        if await self.deps.runs.head(thread_id) is None:
            # the thread expired (SLUICE_THREAD_TTL) or went unannounced; its pause's keys outlive it
            await self.deps.store.close(pause, "gone")
            if self.decisions is not None:
                self.deps.spawn(self.decisions.show_gone(pause))
            return None
        channel = pause.placement.channel
        if pause.ts is None and repost:  # Slack refused it when it paused: post it now (the one re-post left)
            pause = await self.notifier.post(pause)
        link = await self.deps.calls.permalink(channel, pause.ts, thread_id) if pause.ts else None
        if link:
            where = f"<{link}|open the message>"
        elif pause.ts:
            where = f"posted in <#{channel}> (Slack gave no link to it)"
        else:
            where = "not posted: Slack refused it; try again"
        since = f"<!date^{int(pause.created_at)}^{{date_short_pretty}} {{time}}|{int(pause.created_at)}>"
        deadline = f", deadline {blocks.when(pause.deadline_at)}" if pause.deadline_at else ""
        return f"• *{blocks.escape(pause.assistant_id)}*, waiting since {since}{deadline}: {where}"

    async def audit(self, user: str, channel: str, thread_id: str) -> None:
        """A thread's decisions, oldest first, for the approvers of its assistant."""
        if not thread_id:
            await self.deps.calls.ephemeral(channel, user, "Usage: `/sluice audit &lt;thread_id&gt;`.")
            return
        entries = await self.deps.audit.entries(thread_id)
        if not entries:
            await self.deps.calls.ephemeral(channel, user, f"No decisions recorded for thread `{blocks.escape(thread_id)}`.")
            return
        verdict = await self.deps.approvers.check(user, entries[0].assistant_id)
        if not verdict.allowed:  # a read: the decision refusal ("nothing was changed") would not fit
            shown = blocks.escape(entries[0].assistant_id)
            await self.deps.calls.ephemeral(channel, user, f"Only the approvers of `{shown}` can see its audit trail.")
            return
        lines = []
        for e in entries[-40:]:
            actor = f"<@{e.actor}>" if e.actor not in ("timer", "api") else f"`{e.actor}`"
            detail = f" ({blocks.escape(e.detail)})" if e.detail else ""
            lines.append(f"• {blocks.when(e.at)} {actor}: *{blocks.escape(e.decision)}* `{blocks.escape(e.interrupt_id)}`{detail}")
        more = f" (the last 40 of {len(entries)})" if len(entries) > 40 else ""
        title = f"Audit of thread `{blocks.escape(thread_id)}`{more}, oldest first:\n"
        await self.deps.calls.ephemeral(channel, user, limits.clip(title + "\n".join(lines), limits.SECTION_TEXT))
