"""Turns clicks, modal submissions and thread replies into decisions, and complete decisions into a resume.

Every path checks, in order: the pause exists, the person may decide, the pause is still the
thread's current one and undecided. Anything else gets a short private reply and changes nothing.
The store records a slot's decision atomically, so of two clicks exactly one counts, and the
pause is resumed once, by whoever recorded its last slot, or by a surviving process if that one
died first (`bot.slack.resumption`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from bot.slack import blocks, forms, kit, limits, resume_request, submissions
from bot.slack.deps import Deps
from bot.slack.form_check import readable_refusal
from bot.slack.lanes import LATER, URGENT
from bot.slack.lifecycle import policy
from bot.slack.lifecycle.approvals import Approvals
from bot.slack.lifecycle.deadlines import Deadlines
from bot.slack.lifecycle.quorum import SEPARATOR, MemoryQuorum, Quorum
from bot.slack.pause import ButtonRef, Pause
from bot.slack.ports import AnswerRefused, NotFound, ResumeConflict
from bot.slack.prompts import SlotDecision, ToolPrompt
from bot.slack.resumption import GRACE_MS, Claim, Resumptions, resume_run_id
from bot.slack.store import Look, Recorded

log = logging.getLogger("sluice.slack")

NEEDS_MODAL = {"edit", "respond", "answer"}
GONE = "This pause is no longer pending: the thread has moved on. Nothing was changed."
DONE = "This pause was already decided. Nothing was changed."
OVERTAKEN = ("Your decision was not applied: this pause was answered elsewhere (over the API, or by another run) at "
             "the same moment, and that answer went first. Nothing of yours was changed; the message shows what happened.")
THREAD_GONE = blocks.THREAD_GONE
UNKNOWN = "This pause is unknown here (it may have expired). Nothing was changed."
ORPHANED = "No longer pending: this pause is unknown here (its records expired or were lost), so nothing can be decided from this message."
ELSEWHERE = "This button does not belong to this message's pause. Nothing was changed."
REFUSALS = {"unknown": UNKNOWN, "stale": GONE, "closed": DONE, "taken": DONE}
Later = Callable[[], Awaitable[None]]  # what a click still has to do after its ack
CLOSED = {
    "gone": "This pause's thread (or its assistant) no longer exists. Nothing was changed.",
    "expired": "This pause expired: nobody decided before its deadline. Nothing was changed.",
    "timed_out": "This pause timed out: its deadline decided it. Nothing was changed.",
}


class Decisions:
    def __init__(
        self, deps: Deps, resumptions: Resumptions, deadlines: Deadlines | None = None, quorum: Quorum | None = None
    ) -> None:
        self.deps = deps
        self.resumptions = resumptions
        self.deadlines = deadlines or Deadlines(deps)
        self.approvals = Approvals(deps, quorum or MemoryQuorum(deps.store))

    # --- checks -------------------------------------------------------------------------

    async def refusal(
        self, pause: Pause | None, user: str, slot: str, decision: str, look: Look | None = None
    ) -> str | None:
        """Why `user` may not take `decision` on `slot` now, or None (`look`: the store, read already)."""
        if pause is None:
            return UNKNOWN
        who = await self.approvals.refusal(pause, user)  # an approver, and not refused as the requester
        if who is not None:
            return who
        if look is None:
            look = await self.deps.store.look(pause.thread_id, pause.checkpoint_id)
        if look.current != pause.checkpoint_id:
            return GONE
        if look.status != "pending":
            return CLOSED.get(look.status or "", DONE)
        decided = look.decided
        if slot in decided:
            return f"<@{decided[slot].user}> already decided this ({decided[slot].decision}). Nothing was changed."
        if slot not in pause.slot_keys():
            return UNKNOWN
        p, s = (int(x) for x in slot.split("."))
        if decision not in pause.prompts[p].allowed(s):
            return f"{decision} is not allowed here. Nothing was changed."
        return None

    async def may_decide(self, pause: Pause, user: str) -> bool:
        """Whether `user` may decide this pause at all (`/sluice pending` lists it for them)."""
        return await self.approvals.refusal(pause, user) is None

    # --- a button ----------------------------------------------------------------------

    async def click(
        self, user: str, channel: str, message_ts: str, ref: ButtonRef, decision: str, trigger_id: str
    ) -> None:
        rest = await self.accept(user, channel, message_ts, ref, decision, trigger_id)
        if rest is not None:
            await rest()

    async def accept(
        self, user: str, channel: str, message_ts: str, ref: ButtonRef, decision: str, trigger_id: str,
        shown: list[dict[str, Any]] | None = None,
    ) -> Later | None:
        """What a click does before its ack: checks it and, when it needs no form, records the decision
        durably (one read of the store, then the recording). Returns the rest (a private reply, the
        form, the message update and the resume), for after the ack. `shown`: the clicked message's
        blocks, as Slack sent them."""
        look = await self.deps.store.look(ref.thread_id, ref.checkpoint_id, (channel, message_ts))
        pause = look.pause
        if pause is None and shown:
            return partial(self._unknown, channel, message_ts, user, ref.thread_id, shown)
        if pause is not None and look.at_message != (ref.thread_id, ref.checkpoint_id):
            # a button copied into another message (any channel) decides nothing: only the pause's own do
            return partial(self.deps.calls.ephemeral, channel, user, ELSEWHERE, ref.thread_id)
        refusal = await self.refusal(pause, user, ref.slot, decision, look)
        if refusal is not None or pause is None:
            return partial(self.deps.calls.ephemeral, channel, user, refusal or UNKNOWN, ref.thread_id)
        prompt = pause.prompts[ref.prompt_index]
        modal = decision in NEEDS_MODAL or (
            decision == "reject" and isinstance(prompt, ToolPrompt) and prompt.shape != "inbox"
        )
        if modal:
            return partial(self._open_form, pause, ref, decision, channel, user, trigger_id)
        return await self.recorded(pause, ref.slot, SlotDecision(decision, None, user), channel)  # type: ignore[arg-type]

    async def _unknown(self, channel: str, ts: str, user: str, thread_id: str, shown: list[dict[str, Any]]) -> None:
        """A click on a pause nothing here knows any more (its records expired or were lost: Redis
        restarted empty, a memory server restarted): said privately, and the message loses the
        buttons that can never work, keeping what it asked."""
        await self.deps.calls.ephemeral(channel, user, UNKNOWN, thread_id)
        body = blocks.unknown_pause_blocks(shown, ORPHANED)
        if body is not None:
            await self.deps.calls.update(channel, ts, "No longer pending: this pause is unknown here", body, thread_id)

    async def _open_form(
        self, pause: Pause, ref: ButtonRef, decision: str, channel: str, user: str, trigger_id: str
    ) -> None:
        view = blocks.decision_modal(pause, ButtonRef(ref.thread_id, ref.checkpoint_id, ref.interrupt_id, ref.slot, decision))
        if not await self.deps.calls.open_view(trigger_id, view, pause.thread_id):
            await self.deps.calls.ephemeral(
                channel, user, "Slack did not open the form; press the button again.", pause.thread_id
            )

    # --- a modal -------------------------------------------------------------------------

    async def validate_submission(
        self, user: str, ref: ButtonRef, state_values: Mapping[str, Any]
    ) -> tuple[dict[str, str], SlotDecision | None, Pause | None]:
        """Field errors to show in the modal, or the decision to record (checked before the ack)."""
        pause = await self.deps.store.get(ref.thread_id, ref.checkpoint_id)
        refusal = await self.refusal(pause, user, ref.slot, ref.decision)
        if refusal is not None or pause is None:
            return {forms.first_block(state_values): _plain(refusal or UNKNOWN)}, None, None
        errors, decision = submissions.read(pause.prompts[ref.prompt_index], ref, user, state_values)
        return errors, decision, pause if decision is not None else None

    # --- recording and resuming -------------------------------------------------------------

    async def record(self, pause: Pause, slot: str, decision: SlotDecision, channel: str) -> None:
        rest = await self.recorded(pause, slot, decision, channel)
        if rest is not None:
            await rest()

    async def recorded(self, pause: Pause, slot: str, decision: SlotDecision, channel: str) -> Later | None:
        """Records `decision` durably (in the due index first, so that a sweep applies it whatever
        happens next), and returns the rest: the message update and the resume, for after the ack.
        An approval towards N of M is counted in the rest (counting shows progress in Slack)."""
        needed = policy.of(pause).required_approvals
        if needed > 1 and decision.decision in ("approve", "edit"):  # counted (and audited) towards N first
            return partial(self._count_then_record, pause, slot, decision, channel, needed)
        # the due index first (whatever happens next, a sweep will look), in the decision's round trip; a
        # decision that completes the pause takes its resume's claim with it where the store can (Redis)
        token = uuid.uuid4().hex
        result = await self.deps.store.decide(
            pause, slot, decision, first=self.resumptions.expecting(pause), claim=(token, GRACE_MS)
        )
        return partial(self._after_recording, pause, slot, decision, channel, result, needed, token)

    async def _count_then_record(
        self, pause: Pause, slot: str, decision: SlotDecision, channel: str, needed: int
    ) -> None:
        counted = await self.approvals.count(pause, slot, decision, channel, needed, self._show, REFUSALS)
        if counted is None:
            return
        token = uuid.uuid4().hex
        result = await self.deps.store.decide(
            pause, slot, counted, first=self.resumptions.expecting(pause), claim=(token, GRACE_MS)
        )
        await self._after_recording(pause, slot, counted, channel, result, needed, token)

    async def _after_recording(
        self, pause: Pause, slot: str, decision: SlotDecision, channel: str, result: Recorded, needed: int,
        token: str,
    ) -> None:
        # Under a burst of clicks, every message update waits for the urgent work of all clicks before
        # it: that work is the claim (which says who resumes) and the update. The decision's audit line
        # and the end of its timers are the resume's own first steps, still before its run starts.
        steps: list[Callable[[], Awaitable[Any]]] = []
        if needed <= 1 or decision.decision not in ("approve", "edit"):
            steps.append(partial(self.approvals.audit, pause, slot, decision))
        if result.outcome == "complete":
            steps.append(partial(self.deadlines.cancel, pause))
        async with self.deps.lanes.slot(URGENT):  # what the clicker waits to see goes before any resume
            if result.outcome in ("unknown", "stale", "closed", "taken"):
                reason = REFUSALS[result.outcome]
                await self.deps.calls.ephemeral(channel, decision.user.split(SEPARATOR)[-1], reason, pause.thread_id)
                return
            group = pause.group_of(int(slot.split(".")[0]))
            thread_id, checkpoint_id = pause.thread_id, pause.checkpoint_id
            if result.outcome == "recorded":  # a batch: show this slot decided, the others still open
                latest = await self.deps.store.get(thread_id, checkpoint_id)  # ts may be newer (re-posted)
                await self._show(pause, group, blocks.pause_blocks(pause, result.decided, group=group), latest=latest)
                claim = None
            elif result.claimed_attempt is not None:
                # The decision took the resume's claim with it, and the pause was read as the click was
                # checked, a moment ago: the message is updated with no more round trips.
                claimed, claim = None, Claim("claimed", result.claimed_attempt)
                decided_at = time.time()
                await self._announce(pause, group, result.decided, decided_at, pause)
            else:
                # the whole pause, or (outcome "group") one typed interrupt of several, resumed alone by its id
                claimed = group if result.outcome == "group" else None
                taken, shown = await asyncio.gather(
                    self.resumptions.claim(pause, token, claimed), self.deps.store.get(thread_id, checkpoint_id)
                )
                claim = taken
                if taken.outcome == "claimed":
                    decided_at = time.time()
                    await self._announce(pause, group, result.decided, decided_at, shown)
        if claim is not None and claim.outcome == "claimed":
            await self._resume(pause, group, result.decided, slot, decision, channel,
                               (token, claim.attempt, claimed), decided_at, steps)
            return
        if steps:  # independent steps, together (one round trip when Redis coalesces them)
            async with self.deps.lanes.slot(LATER):
                await asyncio.gather(*(step() for step in steps))
        if claim is not None:  # the same decision twice (a double click): one resume
            await self.deps.calls.ephemeral(channel, decision.user, DONE, pause.thread_id)

    async def adopt(self, thread_id: str, checkpoint_id: str, claimed: int | None = None) -> None:
        """Applies a complete decision (of the pause, or of group `claimed`) whose process died (or
        lost Redis) before starting its resume."""
        pause = await self.deps.store.get(thread_id, checkpoint_id)
        token = uuid.uuid4().hex
        valid = pause is not None and (claimed is None or 0 <= claimed < len(pause.groups))
        claim = await self.resumptions.claim(pause, token, claimed) if pause is not None and valid else None
        if pause is None or claim is None or claim.outcome == "done":
            await self.resumptions.forget(thread_id, checkpoint_id, claimed)
            return
        if claim.outcome == "busy":
            return  # its process is still at it (or another one adopted it): next sweep
        decided = await self.deps.store.decided(thread_id, checkpoint_id)
        log.warning("decision on thread %s (pause %s) was recorded but not applied; applying it here",
                    thread_id, checkpoint_id)
        mine = [s for s in sorted(decided) if claimed is None or s in pause.group_slots(claimed)]
        slot = mine[-1]
        group = pause.group_of(int(slot.split(".")[0]))
        channel = pause.placement.channel if pause.placement else ""
        decided_at = time.time()
        await self._announce(pause, group, decided, decided_at)
        await self._resume(pause, group, decided, slot, decided[slot], channel, (token, claim.attempt, claimed), decided_at)

    async def _announce(
        self, pause: Pause, group: int, decided: Mapping[str, SlotDecision], decided_at: float,
        latest: Pause | None = None,
    ) -> None:
        """The message says who decided what, before the run (it may take long); its outcome then
        updates the headline (`Outcomes`)."""
        body = blocks.decided_blocks(pause, decided, decided_at, group=group)
        await self._show(pause, group, body, blocks.decided_text(pause), latest=latest)

    async def _resume(
        self,
        pause: Pause,
        group: int,
        decided: Mapping[str, SlotDecision],
        slot: str,
        decision: SlotDecision,
        channel: str,
        claim: tuple[str, int, int | None],
        decided_at: float,
        first: Sequence[Callable[[], Awaitable[Any]]] = (),
    ) -> None:
        """Resumes one group of the pause under `claim` (its token, attempt, and the claimed group, or
        None when the decision completed the whole pause): the whole pause, or (typed pauses) this
        group's interrupt alone, by id, after the steps `first` (together). Submitting takes a slot
        after the more urgent work; waiting for the run holds none."""
        request = resume_request.for_group(pause, group, decided, decided_at)
        token, attempt, claimed = claim

        async with self.deps.lanes.slot(LATER) as free:
            if first:
                await asyncio.gather(*(step() for step in first))

            async def queued() -> None:
                free()  # the run is the runs layer's now; waiting for its end takes no slot
                await self.resumptions.started(pause, token, claimed)

            try:
                await self.deps.runs.resume(
                    pause.thread_id,
                    pause.assistant_id,
                    request.value,
                    is_breakpoint=request.is_breakpoint,
                    config=request.config,
                    metadata=request.metadata,
                    checkpoint_id=pause.at,
                    run_id=resume_run_id(pause.thread_id, pause.checkpoint_id, attempt, claimed),
                    on_queued=queued,
                    interrupt_ids=tuple(pause.interrupt_id(p) for p in pause.groups[group] if p < len(pause.interrupts)),
                )
            except ResumeConflict:
                # Overtaken (e.g. a resume over the API at the same moment): the run that moved the thread
                # has usually said so in the messages already, with what it did next (`Notifier._moved_on`),
                # except in a group resumed alone (its message said "decided": it is left as it is there).
                told = await self.deps.store.status(pause.thread_id, pause.checkpoint_id) == "moved_on"
                if not told:
                    await self.deps.store.close(pause, "answered_elsewhere")
                note = (f"⚠️ No longer pending: it was answered elsewhere before <@{decision.user}>'s decision "
                        "arrived, which was not applied.")
                headline = f"*{blocks.escape(pause.assistant_id)}* was answered elsewhere"
                for g in range(len(pause.groups)) if not told else [group] if claim[2] is not None else []:
                    body = blocks.pause_blocks(pause, {}, closed=note, group=g, headline=headline)
                    await self._show(pause, g, body, blocks.decided_text(pause, "answered elsewhere"))
                await self.deps.calls.ephemeral(channel, decision.user, OVERTAKEN, pause.thread_id)
                return
            except NotFound:  # the thread was deleted (or its assistant removed): nothing can resume it
                await self.deps.store.close(pause, "gone")
                await self.show_gone(pause)
                await self.deps.calls.ephemeral(channel, decision.user, f"{THREAD_GONE} Nothing was changed.", pause.thread_id)
                return
            except AnswerRefused as exc:
                await self.resumptions.give_back(pause, slot, token, claimed)  # the next answer: a new run id
                await self._refused(pause, group, slot, decision, channel, str(exc))
                return
            except Exception as exc:
                log.exception("resuming thread %s failed", pause.thread_id)
                await self._not_applied(pause, group, slot, claim, decision, channel, exc)
                return
            if claimed is None:
                await self.deps.store.close(pause, "decided")

    async def _not_applied(
        self,
        pause: Pause,
        group: int,
        slot: str,
        claim: tuple[str, int, int | None],
        decision: SlotDecision,
        channel: str,
        exc: Exception,
    ) -> None:
        """The resume could not be queued: give the decision back and say so, privately."""
        try:
            given_back = await self.resumptions.give_back(pause, slot, claim[0], claim[2])
        except Exception:  # storage still down: the decision stays recorded; a sweep applies it later
            log.warning("giving back the decision on thread %s failed", pause.thread_id, exc_info=True)
            note = (f"Your decision could not be applied yet ({type(exc).__name__}: storage unavailable). It is kept "
                    "and will be applied once storage answers; nothing else to do.")
            await self.deps.calls.ephemeral(channel, decision.user, note, pause.thread_id)
            return
        if not given_back:
            return  # another process took the resume over and applies it
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        await self._show(pause, group, blocks.pause_blocks(pause, decided, group=group))
        note = f"Your decision could not be applied ({type(exc).__name__}); nothing was changed. Click again."
        await self.deps.calls.ephemeral(channel, decision.user, note, pause.thread_id)

    async def _refused(
        self, pause: Pause, group: int, slot: str, decision: SlotDecision, channel: str, reason: str
    ) -> None:
        """The graph refused the answer: the slot opens again, and whoever answered is told why."""
        await self.deps.store.undo(pause, slot)
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        note = f"⚠️ The graph refused <@{decision.user}>'s answer; it is still waiting for one."
        await self._show(pause, group, blocks.pause_blocks(pause, decided, group=group, notes=[note]))
        await self.deps.calls.ephemeral(
            channel,
            decision.user,
            f"The graph refused your answer, so nothing went on. Answer again.\n```{limits.clip(readable_refusal(reason), 2500)}```",
            pause.thread_id,
        )

    # --- a thread deleted ------------------------------------------------------------------

    async def live_pause(self, thread_id: str) -> Look | None:
        """The thread's pause still waiting for a decision (with who decided what so far), if any."""
        current = await self.deps.store.current(thread_id)
        if current is None:
            return None
        look = await self.deps.store.look(thread_id, current)
        return look if look.pause is not None and look.status == "pending" else None

    async def show_gone(
        self, pause: Pause, decided: Mapping[str, SlotDecision] | None = None, latest: Pause | None = None
    ) -> None:
        """Its messages say the thread is gone, without buttons (no decision can be applied any more);
        `latest`: the pause as read last (else it is read here, for messages posted again since)."""
        for g in range(len(pause.groups)):
            body = blocks.gone_blocks(pause, decided, group=g)
            await self._show(pause, g, body, blocks.decided_text(pause, "gone"), latest=latest)

    async def _show(
        self, pause: Pause, group: int, body: list[dict[str, Any]], text: str | None = None, latest: Pause | None = None
    ) -> None:
        """Updates the group's messages; `latest`: the pause as just read (else it is read here)."""
        if pause.placement is None:
            return
        if latest is None:
            latest = await self.deps.store.get(pause.thread_id, pause.checkpoint_id)  # ts may be newer (re-posted)
        for channel, ts, page in (latest or pause).page_refs(group):  # its messages, copies, escalation
            await self.deps.calls.update(channel, ts, text or blocks.pause_text(pause), kit.page(body, page),
                                         pause.thread_id)


def _plain(text: str) -> str:
    return text.replace("`", "")
