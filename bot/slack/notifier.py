"""Posts pauses to Slack and follows the thread: a run listener.

One message per pause, placed by (first found): the run's `config.configurable.slack_channel`
(+ `slack_thread_ts`), its metadata, the assistant's default channel, `SLUICE_SLACK_CHANNEL`.
When the thread moves on without a Slack decision (e.g. resumed over the API), the old message
is updated to say so. Runs started from Slack get their final answer or error in their thread;
what a run a decision started did is told in the pause's thread (`bot.slack.outcomes`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.runs.plain_json import to_wire
from bot.slack import blocks, kit, limits
from bot.slack import outcome_blocks as ob
from bot.slack.deps import Deps
from bot.slack.lanes import SOON
from bot.slack.lifecycle import policy
from bot.slack.lifecycle.deadlines import Deadlines
from bot.slack.outcomes import DECIDED_PAUSE, SLACK_ORIGIN, TELL_END, Outcomes
from bot.slack.pause import Pause, PendingInterrupt, Placement
from bot.slack.ports import RunEvent

log = logging.getLogger("sluice.slack")

__all__ = ["Notifier", "SLACK_ORIGIN", "placement_for", "summary"]

STORAGE_WAITS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
ELSEWHERE = "No longer pending: the thread went on without a decision here (answered elsewhere)."
OVERTAKEN = "No longer pending: it was answered elsewhere (over the API, or by another run)."


def placement_for(event: RunEvent, default: str | None) -> Placement | None:
    configurable = event.config.get("configurable") or {}
    for source in (configurable, event.metadata):
        if isinstance(source, Mapping) and source.get("slack_channel"):
            thread_ts = source.get("slack_thread_ts")
            return Placement(str(source["slack_channel"]), str(thread_ts) if thread_ts else None)
    return Placement(default) if default else None


def summary(values: Any) -> str:
    text = json.dumps(values, indent=2, ensure_ascii=False, default=str) if values is not None else ""
    return limits.clip(text, 2800)


def _schema(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


class Notifier:
    def __init__(self, deps: Deps, outcomes: Outcomes, deadlines: Deadlines | None = None) -> None:
        self.deps = deps
        self.outcomes = outcomes
        self.deadlines = deadlines or Deadlines(deps)

    async def handle(self, event: RunEvent) -> None:
        # A run that failed outside the graph most likely met a storage outage: its report waits
        # (a while) for storage to answer again rather than leave the decider believing it ran.
        waits = STORAGE_WAITS_S if event.outside_graph else ()
        for wait_s in (*waits, None):
            try:
                async with self.deps.lanes.slot(SOON):  # after the acks and clicked messages, before new resumes
                    await self._handle(event)
                return
            except Exception:  # a notification failure must never break the run that fired it
                if wait_s is None:
                    log.exception("Slack notification for thread %s failed", event.thread_id)
                    return
                log.warning("telling Slack how run %s ended failed; trying again in %ss", event.run_id, wait_s)
                await asyncio.sleep(wait_s)

    async def _handle(self, event: RunEvent) -> None:
        posted = None
        if event.kind == "updated":
            await self._updated(event)
            return
        if event.kind == "paused":
            posted = await self._paused(event)
        else:
            await self._ended(event)
        await self.outcomes.report(event, posted)  # in the pause's thread, for runs a decision started

    async def _paused(
        self, event: RunEvent, carried: Pause | None = None, moved_on: tuple[str, str] = (ELSEWHERE, "answered elsewhere")
    ) -> Pause | None:
        """Opens (and posts) the pause the event reports; `carried`: the thread's previous pause, whose
        place and run settings it keeps (a state update has no run of its own)."""
        overrides = dict(carried.overrides) if carried else policy.run_overrides(event.config)
        settings = policy.effective(self.deps.assistants.settings(event.assistant_id), overrides)
        # the run's `sluice.slack_channel` (else the assistant's) is the default: an explicit
        # configurable.slack_channel (or the metadata's) still comes first
        default = settings.slack_channel or self.deps.default_channel
        placement = carried.placement if carried else placement_for(event, default)
        opened_at = time.time()
        key, head = await self._key(event)
        pause = Pause(
            thread_id=event.thread_id,
            checkpoint_id=key,
            head=head,
            assistant_id=event.assistant_id,
            run_id=event.run_id,
            interrupts=tuple(
                # plain JSON, as the HTTP API shows it (a pydantic model's fields, an enum's value)
                PendingInterrupt(str(i.get("id", "")), to_wire(i.get("value")), _schema(i.get("response_schema")))
                for i in event.interrupts
            ),
            breakpoint=event.breakpoint if not event.interrupts else None,
            summary=summary(event.values) if event.breakpoint and not event.interrupts else "",
            placement=placement,
            created_at=opened_at,
            from_slack=carried.from_slack if carried else bool(event.metadata.get(SLACK_ORIGIN)),
            policy=policy.snapshot(settings),
            overrides=overrides,
            requester=carried.requester if carried else policy.requester(event.metadata),
            deadline_at=self.deadlines.deadline_of(settings, opened_at),
        )
        created, previous = await self.deps.store.open(pause)
        if previous:
            await self._moved_on(event.thread_id, previous, *moved_on, by=event)
        if not created:
            return None  # reported twice: already posted (or indexed for `/sluice pending`)
        if placement is None:
            log.warning(
                "thread %s paused but no Slack channel is known: set SLUICE_SLACK_CHANNEL or pass "
                "config.configurable.slack_channel",
                event.thread_id,
            )
            await self.deadlines.opened(pause)  # it can still time out (resumed over the API meanwhile)
            return None
        posted = await self.post(pause)
        await self.deadlines.opened(posted)
        return posted

    async def _key(self, event: RunEvent) -> tuple[str, str | None]:
        """What the event's pause is stored under, and the checkpoint it waits at when that differs.

        A state update's pause is keyed apart from the question its Continue brings on the same
        checkpoint. And a thread can pause again without a new checkpoint: as on LangGraph, a node
        that calls interrupt() a second time after its first was answered (or one of several typed
        pauses answered alone that asks anew) waits at the same checkpoint, with new interrupt ids.
        Keyed by its checkpoint alone that pause was taken for the one already decided there, and
        never posted. Interrupts that the pause kept at the checkpoint (or the thread's current one,
        whose others still wait) all have are that pause; others are a new pause, keyed by their ids."""
        checkpoint_id = event.checkpoint_id
        if event.kind == "updated":
            return f"{checkpoint_id}-update", checkpoint_id
        ids = {str(i.get("id", "")) for i in event.interrupts}
        if not ids:
            return checkpoint_id, None
        kept = await self.deps.store.get(event.thread_id, checkpoint_id)
        if kept is None or ids <= {i.id for i in kept.interrupts}:
            return checkpoint_id, None
        current = await self.deps.store.current(event.thread_id)
        latest = await self.deps.store.get(event.thread_id, current) if current else None
        if latest is not None and latest.at == checkpoint_id and ids <= {i.id for i in latest.interrupts}:
            return latest.checkpoint_id, latest.head
        digest = hashlib.sha256("|".join(sorted(ids)).encode()).hexdigest()[:16]
        return f"{checkpoint_id}-{digest}", checkpoint_id

    async def post(self, pause: Pause) -> Pause:
        """Posts (or re-posts) a pending pause with the slots decided so far: one message per group
        (several for a group of many decisions)."""
        assert pause.placement is not None
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        posted_ts: list[str] = []
        channel = pause.placement.channel  # the id Slack answers with, once it has (a name may be configured)
        bodies = [blocks.pause_blocks(pause, decided, group=g) for g in range(len(pause.groups))]
        for group, page in pause.units():  # one message per group, or more for a long one (`Pause.pages`)
            body = kit.page(bodies[group], page)
            at = await self.deps.calls.publish(replace(pause.placement, channel=channel), blocks.pause_text(pause),
                                               body, pause.thread_id)
            if at is None:
                return pause  # stays pending and indexed: `/sluice pending` posts it again
            channel = at.channel
            posted_ts.append(at.ts)
        if not posted_ts:
            return pause
        posted = pause.posted(replace(pause.placement, channel=channel), posted_ts[0], tuple(posted_ts[1:]))
        await self.deps.store.set_posted(posted, opened_in=pause.placement.channel)
        return posted

    async def _ended(self, event: RunEvent) -> None:
        if event.refused_answer:
            current = await self.deps.store.current(event.thread_id)
            still = await self.deps.store.get(event.thread_id, current) if current else None
            if still is not None and still.at == event.checkpoint_id:
                return  # the graph refused an answer: the pause is still open (the decider is told)
        if event.kind != "cancelled" and not event.outside_graph:  # those need not have moved the thread
            previous = await self.deps.store.leave(event.thread_id)
            if previous:
                await self._moved_on(event.thread_id, previous, by=event)
        told = event.metadata.get(SLACK_ORIGIN) or event.metadata.get(TELL_END)
        if not told or event.metadata.get(DECIDED_PAUSE):
            return  # a run a decision started is told in the pause's thread (`Outcomes`)
        placement = placement_for(event, None)
        if placement is None:
            return
        if event.kind == "failed":  # the same reply as after a decision: Retry for approvers, Details
            await self.outcomes.report_failure(event, placement)
            return
        if event.kind == "finished":
            answer, as_code = blocks.final_answer(event.values)
            body = blocks.notice_blocks(f"*{blocks.escape(event.assistant_id)}* finished.", answer, as_code)
            text = f"{blocks.escape(event.assistant_id)} finished"
        else:
            body = ob.cancelled_blocks(event.assistant_id, event.message, applied=True)
            text = f"{event.assistant_id} was cancelled"
        await self.deps.calls.post(placement, text, body, event.thread_id)

    async def _updated(self, event: RunEvent) -> None:
        """The thread's state was written over the API: its pause in Slack follows where that left it.

        As on LangGraph, an updated checkpoint has no pending interrupts (their ids answer nothing
        any more); the thread waits at `next` (the interrupted nodes themselves when `as_node` was not
        given) until a run continues it, which re-runs them and asks again with the new state. So a
        thread still waiting gets a new message whose Continue does that; one with nothing left to
        run (`next` empty) is no longer pending. The old message says which, without buttons."""
        current = await self.deps.store.current(event.thread_id)
        old = await self.deps.store.get(event.thread_id, current) if current else None
        if old is None or old.at == event.checkpoint_id:
            return  # no pause of this thread is open in Slack
        how = "its state was updated over the API" + (f" as `{blocks.escape(event.node)}`" if event.node else "")
        if event.breakpoint is None and not event.interrupts:
            await self.deps.store.leave(event.thread_id)
            await self._moved_on(event.thread_id, old.checkpoint_id, f"No longer pending: {how}, and nothing waits "
                                 "for a decision any more.", what="moved on (state updated)", by=event)
            return
        where = ", ".join(f"`{blocks.escape(n)}`" for n in (event.breakpoint or ("", ()))[1]) or "a new question"
        note = (f"No longer pending: {how}, which set this question aside. The graph still waits at {where}: "
                "decide in the new message.")
        await self._paused(replace(event, assistant_id=old.assistant_id), carried=old, moved_on=(note, "moved on"))

    async def _moved_on(self, thread_id: str, checkpoint_id: str, note: str = ELSEWHERE,
                        what: str = "answered elsewhere", by: RunEvent | None = None) -> None:
        """The pause's message loses its buttons when the thread went on without a Slack decision.

        `by`, the run (or state update) that moved it, may have overtaken a decision made here at the
        same moment (recorded, its resume not applied yet: it will find the pause gone): the message
        then says the thread was answered elsewhere, what it did next, and that this decision was not
        applied (`Decisions` tells the decider)."""
        status = await self.deps.store.status(thread_id, checkpoint_id)
        overtaken = (status in ("resuming", "started") and by is not None
                     and str(by.metadata.get(DECIDED_PAUSE) or "") != checkpoint_id)
        if status != "pending" and not overtaken:
            return
        pause = await self.deps.store.get(thread_id, checkpoint_id)
        if pause is None:
            return
        await self.deps.store.close(pause, "moved_on")
        await self.deadlines.cancel(pause)
        headline = f"*{blocks.escape(pause.assistant_id)}*: {what}"
        if overtaken and by is not None:
            base = note if by.kind == "updated" else OVERTAKEN
            note = f"⚠️ {base} A decision made here at the same moment was not applied.{_what_then(by)}"
            headline = f"*{blocks.escape(pause.assistant_id)}* was answered elsewhere"
        if pause.placement:
            decided = {} if overtaken else await self.deps.store.decided(thread_id, checkpoint_id)
            for group in range(len(pause.groups)):
                if all(slot in decided for slot in pause.group_slots(group)):
                    continue  # resumed on its own already: it says so
                body = blocks.pause_blocks(pause, decided, closed=note, group=group, headline=headline)
                for channel, ts, page in pause.page_refs(group):
                    await self.deps.calls.update(channel, ts, blocks.decided_text(pause, what), kit.page(body, page),
                                                 thread_id)


def _what_then(event: RunEvent) -> str:
    """What the run that moved a pause on did next, in a sentence (empty when nothing more is known)."""
    if event.kind == "paused":
        return " The graph then paused again: see its new message."
    if event.kind == "finished":
        return " The graph then finished."
    if event.kind == "failed":
        return f" The graph then failed ({blocks.escape(event.error_type or 'error')})."
    return ""
