"""Reminders, timeouts and escalation of pauses, fired from `bot.slack.lifecycle.timers`.

`opened` schedules a new pause's timers; a decision (or the thread moving on) cancels them. Every
process polls the timers (`run_forever`), and each due timer is acted on by the one that claimed
it. What a deadline does is `on_timeout`: resume with a reject or approve built for the pause's
shape, resume with a given value, expire (the graph stays paused), or escalate to another channel
with its own deadline. A person's decision that lands first wins: the deadline's decisions are
recorded only while the pause is still pending (`PauseStore.settle`), so nothing resumes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import replace
from typing import Any

from bot.assistant_settings import AssistantSettings
from bot.audit import AuditEntry
from bot.slack import blocks
from bot.slack.deps import Deps
from bot.slack.kit import escape
from bot.slack.kit import page as page_of
from bot.slack.lifecycle import policy
from bot.slack.lifecycle.timers import Timer
from bot.slack.outcomes import DECIDED_AT, DECIDED_BY, DECIDED_GROUP, DECIDED_PAUSE, SLACK_ORIGIN
from bot.slack.pause import Pause, Placement
from bot.slack.ports import ResumeConflict
from bot.slack.prompts import BreakpointPrompt, SlotDecision, resume_value
from bot.slack.resume_request import run_config
from bot.slack.resumption import Resumptions, resume_run_id

log = logging.getLogger("sluice.slack")

TICK_S = 0.5  # how often each process looks for due timers: they fire within this of their due time
RETRY_S = 5.0  # a deadline whose resume could not be started is tried again this much later


class Deadlines:
    def __init__(self, deps: Deps, resumptions: Resumptions | None = None) -> None:
        self.deps = deps
        # A deadline's resume is claimed like a person's (`bot.slack.resumption`): submitted once under a
        # run id of its own, and adopted by a surviving process if this one dies before it is queued.
        self.resumptions = resumptions

    @staticmethod
    def clock() -> float:
        return time.time()  # looked up on each call, so freezegun's clock is the one read in tests

    # --- scheduling -----------------------------------------------------------------------------

    def deadline_of(self, settings: AssistantSettings, opened_at: float) -> float | None:
        return opened_at + settings.deadline_seconds if settings.deadline_seconds else None

    async def opened(self, pause: Pause) -> None:
        """Schedules the first reminder and the deadline of a pause just opened (or escalated)."""
        settings = policy.of(pause)
        start = self.clock()
        if pause.deadline_at is not None:
            await self.deps.timers.schedule(Timer("deadline", pause.thread_id, pause.checkpoint_id), pause.deadline_at)
        every = settings.remind_every_seconds
        if every and (pause.deadline_at is None or start + every < pause.deadline_at):
            await self.deps.timers.schedule(Timer("remind", pause.thread_id, pause.checkpoint_id), start + every)

    async def cancel(self, pause: Pause) -> None:
        await self.deps.timers.cancel(pause.thread_id, pause.checkpoint_id)

    # --- firing ---------------------------------------------------------------------------------

    async def run_forever(self, tick_s: float = TICK_S) -> None:
        """Every process runs this until stopped: claims due timers and acts on them."""
        while True:
            try:
                await self.tick()
            except Exception:  # storage hiccup: the timers stay scheduled and are claimed next tick
                log.exception("checking pause timers failed")
            await asyncio.sleep(tick_s)

    async def tick(self) -> int:
        """Acts on every timer due now; returns how many this process claimed."""
        claimed = await self.deps.timers.claim(self.clock())
        for timer in claimed:
            try:
                await self.fire(timer)
            except Exception:
                log.exception("timer %s failed", timer.member)
        return len(claimed)

    async def fire(self, timer: Timer) -> None:
        pause = await self.deps.store.get(timer.thread_id, timer.checkpoint_id)
        if pause is None or not await self._pending(pause):
            await self.deps.timers.done(timer)  # decided, expired or moved on meanwhile
            return
        if await self.deps.runs.head(pause.thread_id) is None:
            # its thread is gone (SLUICE_THREAD_TTL expired it; its pause's keys outlive it): nothing to
            # remind of or decide, and nothing of the thread is written again
            await self.deps.store.close(pause, "gone")
            await self.deps.timers.done(timer)
            decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
            for g in range(len(pause.groups)):
                await self._show(pause, g, blocks.gone_blocks(pause, decided, group=g), "gone")
            return
        if timer.kind == "remind":
            await self._remind(pause, timer)
        else:
            await self._timed_out(pause, timer)

    async def _pending(self, pause: Pause) -> bool:
        return (
            await self.deps.store.current(pause.thread_id) == pause.checkpoint_id
            and await self.deps.store.status(pause.thread_id, pause.checkpoint_id) == "pending"
        )

    # --- reminders ------------------------------------------------------------------------------

    def approver_ids(self, pause: Pause) -> list[str]:
        settings = policy.of(pause)
        if pause.escalated is not None and settings.escalate_to is not None and settings.escalate_to.approvers:
            return list(settings.escalate_to.approvers)
        return sorted(settings.approvers or self.deps.approvers.allowed_ids(pause.assistant_id))

    async def _remind(self, pause: Pause, timer: Timer) -> None:
        mentions = " ".join(_mention(i) for i in self.approver_ids(pause) if i != "*")
        deadline = f" (deadline {blocks.when(pause.deadline_at)})" if pause.deadline_at else ""
        text = f"⏰ Reminder{': ' + mentions if mentions else ''}: *{escape(pause.assistant_id)}* is still waiting for a decision{deadline}."
        where = pause.escalated if pause.escalated is not None else None
        first = pause.message_refs(0)[:1]
        for channel, ts in [(where.channel, where.thread_ts)] if where is not None and where.thread_ts else first:
            await self.deps.calls.post(Placement(channel, _thread_of(pause, channel, ts)), text, [blocks.section(text)],
                                       pause.thread_id)
        every = policy.of(pause).remind_every_seconds
        following = self.clock() + every if every else None
        if following is not None and (pause.deadline_at is None or following < pause.deadline_at):
            await self.deps.timers.schedule(timer, following)
        else:
            await self.deps.timers.done(timer)

    # --- the deadline ---------------------------------------------------------------------------

    async def _timed_out(self, pause: Pause, timer: Timer) -> None:
        settings = policy.of(pause)
        outcome = policy.on_timeout(settings)
        # The deadline's length, not the clock: a timer that fires late (a restart, a busy box)
        # still reports the wait the graph author configured.
        waited_s = (pause.deadline_at or self.clock()) - pause.created_at
        if outcome == "escalate" and pause.escalated is None and settings.escalate_to is not None:
            await self._escalate(pause, settings, waited_s)
            return
        if outcome == "escalate":  # escalated already (or nowhere to go): its own deadline rejects
            outcome = "reject"
        decisions = self._decisions(pause, outcome, waited_s)
        if decisions is None:
            await self._expire(pause, waited_s, outcome)
            await self.deps.timers.done(timer)
            return
        if self.resumptions is not None:
            await self.resumptions.expect(pause)  # first, as for a person's decision
        if not await self.deps.store.settle(pause, decisions):
            await self.deps.timers.done(timer)  # a person decided just before: theirs stands
            return
        await self.cancel(pause)
        await self._audit_timeout(pause, decisions, waited_s)
        token = uuid.uuid4().hex
        claim = await self.resumptions.claim(pause, token) if self.resumptions is not None else None
        if claim is not None and claim.outcome != "claimed":
            await self.deps.timers.done(timer)
            return
        await self._resume(pause, decisions, timer, (token, claim.attempt) if claim is not None else None)

    def _decisions(self, pause: Pause, outcome: str | dict[str, Any], waited_s: float) -> dict[str, SlotDecision] | None:
        """The deadline's decision for every slot (decided slots keep theirs when resumed), or None:
        the outcome means nothing for this pause's shape, so it expires instead."""
        if outcome == "expire":
            return None
        out: dict[str, SlotDecision] = {}
        for p, prompt in enumerate(pause.prompts):
            for s in range(prompt.slots):
                if isinstance(outcome, dict):
                    made: SlotDecision | None = SlotDecision(
                        "continue" if isinstance(prompt, BreakpointPrompt) else "respond", outcome["resume"], policy.TIMER
                    )
                else:
                    made = policy.timeout_decision(prompt, s, outcome, waited_s)
                if made is None:
                    return None
                out[f"{p}.{s}"] = made
        return out

    async def _resume(
        self, pause: Pause, decisions: dict[str, SlotDecision], timer: Timer, claim: tuple[str, int] | None
    ) -> None:
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        # a group decided in full before was resumed on its own (a typed pause): only the others now
        open_groups = [g for g in range(len(pause.groups))
                       if not all(decided.get(s, decisions[s]).user != policy.TIMER for s in pause.group_slots(g))]
        values = {
            p: resume_value(pause.prompts[p], [decided.get(f"{p}.{s}") or decisions[f"{p}.{s}"]
                                               for s in range(pause.prompts[p].slots)])
            for g in open_groups for p in pause.groups[g]
        }
        outcome = policy.on_timeout(policy.of(pause))
        if isinstance(outcome, dict):  # the graph author's value, as given, for every open interrupt
            values = dict.fromkeys(values, outcome["resume"])
        value: Any = values[0] if len(pause.prompts) == 1 else {pause.interrupts[p].id: v for p, v in values.items()}
        now = self.clock()
        metadata: dict[str, Any] = {
            DECIDED_BY: [policy.TIMER], DECIDED_PAUSE: pause.checkpoint_id, DECIDED_GROUP: 0,
            DECIDED_AT: now, "sluice_timed_out": True,
        }
        if pause.requester:
            metadata["requested_by"] = pause.requester
        if pause.from_slack:
            metadata[SLACK_ORIGIN] = True
        all_decided = {**decisions, **decided}
        for g in range(len(pause.groups)):
            await self._show(pause, g, blocks.decided_blocks(pause, all_decided, now, group=g), "timed out")
        is_breakpoint = len(pause.prompts) == 1 and isinstance(pause.prompts[0], BreakpointPrompt)

        async def queued() -> None:
            if claim is not None and self.resumptions is not None:
                await self.resumptions.started(pause, claim[0])

        run_id = resume_run_id(pause.thread_id, pause.checkpoint_id, claim[1]) if claim is not None else None
        try:
            await self.deps.runs.resume(pause.thread_id, pause.assistant_id, value, is_breakpoint=is_breakpoint,
                                        config=run_config(pause), metadata=metadata,
                                        checkpoint_id=pause.at, run_id=run_id, on_queued=queued,
                                        interrupt_ids=tuple(i.id for i in pause.interrupts))
        except ResumeConflict:
            await self.deps.store.close(pause, "answered_elsewhere")
        except Exception:  # claimed and not started: a sweep adopts it after its grace (`bot.slack.resumption`)
            log.exception("the deadline of thread %s could not resume it", pause.thread_id)
        else:
            await self.deps.store.close(pause, "timed_out")
        await self.deps.timers.done(timer)

    async def _expire(self, pause: Pause, waited_s: float, outcome: str | dict[str, Any]) -> None:
        await self.deps.store.close(pause, "expired")
        await self.cancel(pause)
        why = "" if outcome == "expire" else f' ("{outcome}" means nothing for this pause)'
        note = (f"⌛ Expired {blocks.when(self.clock())}: nobody decided within {policy.waited(waited_s)}{why}. "
                "The graph is still paused; it can be resumed over the API.")
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        for g in range(len(pause.groups)):
            await self._show(pause, g, blocks.pause_blocks(pause, decided, closed=note, group=g,
                                                           headline=f"*{escape(pause.assistant_id)}* expired"), "expired")
        await self._audit(pause, "expire", detail=f"no decision within {policy.waited(waited_s)}")

    async def _escalate(self, pause: Pause, settings: AssistantSettings, waited_s: float) -> None:
        target = settings.escalate_to
        assert target is not None
        now = self.clock()
        deadline = now + target.deadline_seconds if target.deadline_seconds else None
        intro = (f"⤴️ Escalated: nobody decided within {policy.waited(waited_s)} in "
                 f"<#{escape(pause.placement.channel if pause.placement else '?')}>.")
        moved = replace(pause, deadline_at=deadline)
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        posted: list[str] = []  # every message of the pause (each group, each page) again, in its order
        escalated_in = target.slack_channel  # then the id Slack answers with (the settings may name the channel)
        bodies = [blocks.pause_blocks(moved, decided, notes=[intro], group=g) for g in range(len(pause.groups))]
        for g, k in pause.units():
            body = page_of(bodies[g], k)
            sent = await self.deps.calls.publish(Placement(escalated_in), blocks.pause_text(pause), body,
                                                 pause.thread_id)
            if sent is None:
                break
            escalated_in = sent.channel
            posted.append(sent.ts)
        if len(posted) < len(pause.units()):
            log.warning("escalating thread %s to %s failed; it expires instead", pause.thread_id, target.slack_channel)
            await self._expire(pause, waited_s, "escalate")
            return
        ts = posted[0]
        escalated = replace(moved, escalated=Placement(escalated_in, ts), escalated_more=tuple(posted[1:]))
        await self.deps.store.set_posted(escalated)
        await self._audit(pause, "escalate", detail=f"to {target.slack_channel} after {policy.waited(waited_s)}")
        await self.cancel(pause)
        await self.opened(escalated)
        for g in range(len(pause.groups)):  # the original says where it went (its buttons stay usable)
            for channel, at, k in pause.page_refs(g):
                await self.deps.calls.update(channel, at, blocks.pause_text(pause),
                                             page_of(blocks.pause_blocks(escalated, decided, group=g), k), pause.thread_id)
        mentions = " ".join(_mention(i) for i in target.approvers)
        if mentions:
            call = f"{mentions}: this needs your decision."
            await self.deps.calls.post(Placement(escalated_in, ts), call, [blocks.section(call)], pause.thread_id)

    async def _show(self, pause: Pause, group: int, body: list[dict[str, Any]], what: str) -> None:
        latest = await self.deps.store.get(pause.thread_id, pause.checkpoint_id) or pause
        for channel, ts, page in latest.page_refs(group):
            await self.deps.calls.update(channel, ts, blocks.decided_text(pause, what), page_of(body, page),
                                         pause.thread_id)

    # --- the audit trail ------------------------------------------------------------------------

    async def _audit_timeout(self, pause: Pause, decisions: dict[str, SlotDecision], waited_s: float) -> None:
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        for slot, d in decisions.items():
            if decided.get(slot, d).user != policy.TIMER:
                continue  # decided by a person before the deadline: audited then
            p = int(slot.split(".")[0])
            await self._audit(pause, d.decision, interrupt_id=pause.interrupt_id(p), after=d.value,
                              detail=f"timed out after {policy.waited(waited_s)}")

    async def _audit(self, pause: Pause, decision: str, *, interrupt_id: str | None = None, after: Any = None,
                     detail: str = "") -> None:
        ids = [interrupt_id] if interrupt_id else [i.id for i in pause.interrupts] or ["-"]
        for one in ids:
            with contextlib.suppress(Exception):
                await self.deps.audit.append(AuditEntry(pause.thread_id, pause.assistant_id, one, decision,
                                                        policy.TIMER, self.clock(), None, after, detail))


def _mention(slack_id: str) -> str:
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def _thread_of(pause: Pause, channel: str, ts: str) -> str:
    """Replies go in the pause's Slack thread, or under its message."""
    if pause.placement is not None and channel == pause.placement.channel and pause.placement.thread_ts:
        return pause.placement.thread_ts
    return ts
