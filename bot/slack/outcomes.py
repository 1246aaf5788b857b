"""What happened after a decision, told in the pause's Slack thread, and the Retry of a failure.

Every run a decision started carries the pause in its metadata (`DECIDED_PAUSE`); when it ends the
notifier hands its event here: a failure gets a reply naming the node, the error type and message
with **Retry** and **Details**; a new pause gets a reply linking its message; a finish gets a short
reply (unless the assistant says `"notify_on_finish": false`). The pause's own message then says
what happened instead of "is waiting for you".
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.audit import AuditEntry
from bot.slack import outcome_blocks as ob
from bot.slack.blocks import Block, decided_blocks
from bot.slack.deps import Deps
from bot.slack.failures import Failure, FailureStore
from bot.slack.kit import page
from bot.slack.lifecycle import policy
from bot.slack.pause import Pause, Placement
from bot.slack.ports import ResumeConflict, RunEvent
from bot.slack.redaction import redact

log = logging.getLogger("sluice.slack")

DECIDED_PAUSE = "slack_pause_checkpoint"  # run metadata: the pause whose decision started the run
DECIDED_AT = "slack_decided_at"  # run metadata: when that decision was made (epoch seconds)
DECIDED_GROUP = "slack_pause_group"  # run metadata: which of the pause's messages was decided (`Pause.groups`)
DECIDED_BY = "slack_decided_by"  # run metadata: who decided the pause (sorted Slack ids, or [policy.TIMER])
SLACK_ORIGIN = "slack_origin"  # run metadata: the run was started from Slack (its answer goes back there)
TELL_END = "slack_tell_end"  # run metadata: how the run ends is told in its channel (playground sidebar runs)
UNKNOWN = "This failure is unknown here (it may have expired). Nothing was changed."
MOVED_ON = "No longer retryable: the thread moved on (another run or a resume over the API)."


class Outcomes:
    def __init__(self, deps: Deps, failures: FailureStore) -> None:
        self.deps = deps
        self.failures = failures

    # --- a run a decision started has ended -----------------------------------------------------

    async def report(self, event: RunEvent, next_pause: Pause | None = None) -> None:
        checkpoint = event.metadata.get(DECIDED_PAUSE)
        if not checkpoint:
            return
        pause = await self.deps.store.get(event.thread_id, str(checkpoint))
        group = int(event.metadata.get(DECIDED_GROUP) or 0)
        ts = next(iter(pause.messages_of(group)), None) if pause is not None else None
        if pause is None or pause.placement is None or not ts:
            return
        if event.refused_answer and event.checkpoint_id == pause.at:
            return  # the graph refused the answer: the pause stays open and the decider is told (`Decisions`)
        where = Placement(pause.placement.channel, pause.placement.thread_ts or ts)
        decided_at = float(event.metadata.get(DECIDED_AT) or time.time())
        # one typed pause of several answered alone, the others still waiting (no new pause was posted)
        others_open = (event.kind == "paused" and len(pause.groups) > 1 and event.checkpoint_id == pause.at
                       and next_pause is None)
        if event.kind == "failed":
            await self.report_failure(event, where, pause.checkpoint_id, decided_at)
        elif event.kind == "cancelled":
            applied = await self.deps.runs.head(event.thread_id) != pause.at
            text = f"{event.assistant_id} was cancelled"
            await self.deps.calls.post(where, text, ob.cancelled_blocks(event.assistant_id, event.message, applied),
                                       event.thread_id)
        elif others_open:
            pass  # one typed pause of several was answered; the others are still waiting in their messages
        elif event.kind == "paused":
            link = unposted_in = None
            if next_pause is not None and next_pause.placement is not None:
                if next_pause.ts:
                    link = await self.deps.calls.permalink(next_pause.placement.channel, next_pause.ts, event.thread_id)
                else:  # Slack refused its message: it stays pending, and `/sluice pending` posts it again
                    unposted_in = next_pause.placement.channel
            text = f"{event.assistant_id} is waiting for the next decision"
            body = ob.paused_again_blocks(event.assistant_id, link, unposted_in)
            await self.deps.calls.post(where, text, body, event.thread_id)
        else:
            from_slack = bool(event.metadata.get(SLACK_ORIGIN))
            notify = policy.of(pause).notify_on_finish if pause.policy else self.deps.assistants.notify_on_finish(
                event.assistant_id)  # the run's own setting, else the assistant's (pauses kept from before)
            if from_slack or notify:
                body = ob.finished_blocks(event.assistant_id, event.values, with_answer=from_slack)
                await self.deps.calls.post(where, f"{event.assistant_id} finished", body, event.thread_id)
        headline = ob.headline(
            event.assistant_id, "waiting_for_others" if others_open else event.kind, node=event.node,
            error_type=event.error_type, reason=redact(event.message), outside_graph=event.outside_graph,
            by_deadline=event.metadata.get(DECIDED_BY) == [policy.TIMER],
        )
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        # Groups resumed on their own earlier (typed pauses) learn how the run ended too.
        done = [g for g in range(len(pause.groups)) if all(s in decided for s in pause.group_slots(g))]
        for g in [group] if others_open else sorted({group, *done}):
            # An earlier group was decided at another time: when its last slot was.
            at = decided_at if g == group else max((decided[s].at for s in pause.group_slots(g)), default=0.0)
            body = decided_blocks(pause, decided, at, headline=headline, group=g)
            for channel, ts, k in pause.page_refs(g):  # its copies and its escalation too
                await self.deps.calls.update(channel, ts, headline, page(body, k), pause.thread_id)

    async def report_failure(self, event: RunEvent, where: Placement, pause_checkpoint: str = "",
                             decided_at: float = 0.0) -> None:
        """The failure reply with Retry and Details, for a run a decision started (`pause_checkpoint`)
        or one started from Slack (its thread, or the channel)."""
        checkpoint_id = event.checkpoint_id
        if not checkpoint_id:  # it failed outside the graph: a Retry continues from the thread's head
            checkpoint_id = await self.deps.runs.head(event.thread_id) or ""
        failure = Failure(
            thread_id=event.thread_id,
            run_id=event.run_id,
            assistant_id=event.assistant_id,
            checkpoint_id=checkpoint_id,
            pause_checkpoint=pause_checkpoint,
            node=event.node,
            error_type=event.error_type or "Error",
            message=redact(event.message),  # shown to everyone in the channel: no secrets
            traceback=redact(event.traceback),
            channel=where.channel,
            thread_ts=where.thread_ts or "",
            from_slack=bool(event.metadata.get(SLACK_ORIGIN)),
            decided_at=decided_at,
            outside_graph=event.outside_graph,
        )
        await self.failures.save(failure)  # before the post: a Retry can only come once it is stored
        ts = await self.deps.calls.post(where, ob.failure_text(failure), ob.failure_blocks(failure), event.thread_id)
        if ts is not None:
            await self.failures.save(failure.posted(ts))

    # --- the buttons of a failure reply ----------------------------------------------------------

    async def retry(self, user: str, channel: str, thread_id: str, run_id: str) -> None:
        failure = await self.failures.get(thread_id, run_id)
        if failure is None:
            await self.deps.calls.ephemeral(channel, user, UNKNOWN, thread_id)
            return
        verdict = await self.deps.approvers.check(user, failure.assistant_id)
        if not verdict.allowed:
            await self.deps.calls.ephemeral(channel, user, verdict.reason, thread_id)
            return
        if await self.deps.runs.head(thread_id) != failure.checkpoint_id:  # checked again when the run starts
            # The Retry's own run moves the head too: a second click after it started is a repeat.
            by = await self.failures.retried_by(thread_id, run_id)
            if by is not None:
                await self.deps.calls.ephemeral(
                    channel, user, f"<@{by}> already retried this. Nothing was changed.", thread_id
                )
                return
            await self._show(failure, ob.failure_blocks(failure, note=MOVED_ON))
            await self.deps.calls.ephemeral(channel, user, MOVED_ON + " Nothing was changed.", thread_id)
            return
        claim, by = await self.failures.claim_retry(thread_id, run_id, user)
        if claim != "claimed":
            reason = f"<@{by}> already retried this. Nothing was changed." if claim == "taken" else UNKNOWN
            await self.deps.calls.ephemeral(channel, user, reason, thread_id)
            return
        await self._show(failure, ob.failure_blocks(failure, retried_by=user, at=time.time()))
        pause = await self.deps.store.get(thread_id, failure.pause_checkpoint) if failure.pause_checkpoint else None
        decided_ids = [i.id for i in pause.interrupts] if pause is not None else []
        for interrupt_id in decided_ids or ["-"]:  # the decision whose run failed, tried again
            await self.deps.audit.append(AuditEntry(thread_id, failure.assistant_id, interrupt_id, "retry", user,
                                                    detail=f"run {run_id} failed in {failure.node or 'the graph'}"))
        configurable: dict[str, Any] = {"slack_channel": failure.channel}
        if pause is not None and pause.placement is not None and pause.placement.thread_ts:
            configurable["slack_thread_ts"] = pause.placement.thread_ts
        elif not failure.pause_checkpoint and failure.thread_ts:  # started from Slack: it answers in that thread
            configurable["slack_thread_ts"] = failure.thread_ts
        metadata: dict[str, Any] = {"slack_retried_by": user}
        if failure.pause_checkpoint:
            metadata.update({DECIDED_PAUSE: failure.pause_checkpoint, DECIDED_AT: failure.decided_at})
        else:  # it failed before any decision: the Retry's end is told where the failure was
            metadata[TELL_END] = True
        if failure.from_slack:
            metadata[SLACK_ORIGIN] = True
        try:
            await self.deps.runs.retry(
                thread_id,
                failure.assistant_id,
                checkpoint_id=failure.checkpoint_id,
                config={"configurable": configurable},
                metadata=metadata,
            )
        except ResumeConflict:
            await self._show(failure, ob.failure_blocks(failure, note=MOVED_ON))
            await self.deps.calls.ephemeral(channel, user, MOVED_ON + " Nothing was changed.", thread_id)
        except Exception as exc:  # refused (e.g. the thread is busy) or storage down: the Retry is given back
            log.exception("retrying run %s of thread %s failed", run_id, thread_id)
            await self.failures.release_retry(thread_id, run_id)
            await self._show(failure, ob.failure_blocks(failure))
            await self.deps.calls.ephemeral(
                channel, user, f"The run could not be retried ({type(exc).__name__}: {exc}); try again.", thread_id
            )

    async def details(self, user: str, channel: str, trigger_id: str, thread_id: str, run_id: str) -> None:
        failure = await self.failures.get(thread_id, run_id)
        if failure is None:
            await self.deps.calls.ephemeral(channel, user, UNKNOWN, thread_id)
            return
        if not await self.deps.calls.open_view(trigger_id, ob.details_modal(failure), thread_id):
            await self.deps.calls.ephemeral(channel, user, "Slack did not open the details; press Details again.", thread_id)

    async def _show(self, failure: Failure, body: list[Block]) -> None:
        if failure.reply_ts:
            await self.deps.calls.update(failure.channel, failure.reply_ts, ob.failure_text(failure), body,
                                      failure.thread_id)
