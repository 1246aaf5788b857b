"""How a decision on a governed pause is counted and recorded: N-of-M approval towards the quorum
(`bot.slack.lifecycle.quorum`), what the message shows meanwhile, and the audit line of each
decision a person makes (`bot.audit`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.assistant_settings import AssistantSettings
from bot.audit import AuditEntry
from bot.slack import blocks
from bot.slack.deps import Deps
from bot.slack.lifecycle import policy
from bot.slack.lifecycle.quorum import SEPARATOR, Quorum
from bot.slack.pause import Pause
from bot.slack.prompts import SlotDecision, TextPrompt, ToolPrompt

log = logging.getLogger("sluice.slack")

Show = Callable[[Pause, int, list[dict[str, Any]]], Awaitable[None]]


class Approvals:
    def __init__(self, deps: Deps, quorum: Quorum) -> None:
        self.deps = deps
        self.quorum = quorum

    async def refusal(self, pause: Pause, user: str) -> str | None:
        """Why `user` may not decide this pause at all: not an approver (of the run when it names its own,
        which replace the assistant's: the run wins key by key; else of the assistant, or SLUICE_APPROVERS;
        or of the escalation once escalated), or its requester when self-approval is off; else None."""
        settings = policy.of(pause)
        reason = await self._not_approver(pause, settings, user)
        if reason is not None and not await self._escalation_approver(pause, settings, user):
            return reason
        if not settings.allow_self_approval and user == pause.requester:
            return (
                f"<@{user}>, you requested this run and `{pause.assistant_id}` does not allow approving your own "
                "request: another approver must decide. Nothing was changed."
            )
        return None

    async def _not_approver(self, pause: Pause, settings: AssistantSettings, user: str) -> str | None:
        if pause.overrides.get("approvers"):  # the run's own approvers replace the configured ones
            if await self.deps.approvers.among(user, settings.approvers):
                return None
            return f"<@{user}>, you are not one of this run's approvers, so nothing was changed."
        verdict = await self.deps.approvers.check(user, pause.assistant_id)
        return None if verdict.allowed else verdict.reason

    async def _escalation_approver(self, pause: Pause, settings: AssistantSettings, user: str) -> bool:
        target = settings.escalate_to
        if pause.escalated is None or target is None or not target.approvers:
            return False
        return await self.deps.approvers.among(user, target.approvers)

    async def count(
        self, pause: Pause, slot: str, decision: SlotDecision, channel: str, needed: int, show: Show, refusals: dict[str, str]
    ) -> SlotDecision | None:
        """One approval (or edit) towards N: the decision to record once N distinct people agree, else None
        (the person was told why, or the message shows who approved so far)."""
        tally = await self.quorum.count(pause, slot, decision, needed)
        if tally.outcome in ("unknown", "stale", "closed", "taken"):
            await self.deps.calls.ephemeral(channel, decision.user, refusals[tally.outcome], pause.thread_id)
            return None
        if tally.outcome == "repeat":
            await self.deps.calls.ephemeral(
                channel,
                decision.user,
                f"You already approved this; it needs {needed} different approvers ({len(tally.approvers)} so far). "
                "Nothing was changed.",
                pause.thread_id,
            )
            return None
        await self.audit(pause, slot, decision, detail=f"approval {len(tally.approvers)} of {needed}")
        if tally.outcome == "reached" and tally.decision is not None:
            return tally.decision
        group = pause.group_of(int(slot.split(".")[0]))
        decided = await self.deps.store.decided(pause.thread_id, pause.checkpoint_id)
        note = f"👍 {len(tally.approvers)} of {needed} approvals so far: " + ", ".join(f"<@{u}>" for u in tally.approvers)
        if decision.decision == "edit":
            note += f". <@{decision.user}> edited it: approvals now count for the edited value"
            value = decision.value if isinstance(decision.value, str) else blocks.to_json(decision.value)
            note += f": `{blocks.escape(value[:500])}`"
        await show(pause, group, blocks.pause_blocks(pause, decided, group=group, notes=[note + "."]))
        return None

    async def audit(self, pause: Pause, slot: str, decision: SlotDecision, detail: str = "") -> None:
        """One line of the audit trail for a person's decision (an edit with its value before and after)."""
        p = int(slot.split(".")[0])
        before: Any = None
        if decision.decision == "edit":
            prompt = pause.prompts[p]
            if isinstance(prompt, TextPrompt):
                before = prompt.text
            elif isinstance(prompt, ToolPrompt):
                before = prompt.actions[int(slot.split(".")[1])].args
        actor = decision.user.split(SEPARATOR)[-1]
        entry = AuditEntry(pause.thread_id, pause.assistant_id, pause.interrupt_id(p), decision.decision, actor,
                           time.time(), before, decision.value, detail)
        try:
            await self.deps.audit.append(entry)
        except Exception:  # the decision stands; a lost audit line is logged, never silent
            log.exception("audit of a decision on thread %s failed", pause.thread_id)
