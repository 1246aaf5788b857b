"""How a run finds its thread before it runs, and what its resume claim carries.

A resume (and a Slack button's run, which names the pause it answers) depends on the thread as it
stands: is anything left to run, which pauses it answers. That look costs no round trip when this
process remembers the head and the run's resume claim (a write conditional on that head) checks it
in the store: the claim then also checks the pause a button expects and carries the resume's audit
entries, landing with them or not at all. Otherwise the thread is read, and the audit appended.
The state a run ended at is kept for the next run's look (bot.runs.kept_states).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.audit import AuditEntry, AuditLog, resume_entries
from bot.registry import Assistant
from bot.runs.errors import PauseGone
from bot.runs.kept_states import KeptStates
from bot.runs.records import RunRecord
from bot.runs.requests import RunRequest
from engine import Checkpointer, CompiledGraph, InMemorySaver, RunEnd, StateSnapshot
from engine.ids import is_interrupt_id

log = logging.getLogger("sluice.runs")

PAUSE_GONE = "This pause is no longer pending: it was answered elsewhere or the thread moved on."


class RunStart:
    def __init__(self, saver: Checkpointer, audit: AuditLog, process_local: bool) -> None:
        self.saver = saver
        self.audit = audit
        # The state the last run here ended at, answering the next look while the head is unchanged:
        # checked against the store only where nothing outside this process writes (memory) ...
        self.ended_states = KeptStates.stored(saver, process_local and isinstance(saver, InMemorySaver))
        # ... and against the head the saver remembers (Redis), where the resume claim checks the store.
        self.recalled_states = KeptStates.recalled(saver)

    @property
    def all_local(self) -> bool:
        """Whether the thread's records and checkpoints are this process's memory alone."""
        return self.ended_states.enabled

    async def state_before(self, run: RunRecord, graph: CompiledGraph, head: dict[str, Any], request: RunRequest,
                           resuming: bool) -> tuple[StateSnapshot | None, bool]:
        """The thread as the run finds it, when the request depends on it, and whether the run's resume
        claim is to check it (then it cost no round trip).

        A resume that answers a pending interrupt starts with the engine's claim, a write conditional
        on the head and its pending writes. So when this process remembers the head (it wrote or read
        it last) and that head has the pause the resume answers, the run starts from it unread: the
        claim lands only if the thread is still there, and `ride_claims` makes every claim check the
        pause a Slack button expects and carry the resume's audit entry. Otherwise (nothing
        remembered, no pause to claim, a static breakpoint, a past checkpoint) the thread is read."""
        if not resuming and not request.expected_checkpoint:
            return None, False
        if resuming and not request.checkpoint_id and hasattr(self.saver, "ride_claims"):
            # A read only when nothing is remembered; no decoding when the last run here ended there.
            recalled = await self.recalled_states.current(run.thread_id, graph, lambda: graph.aget_state_recalled(head))
            expected = request.expected_checkpoint
            if claims_pause(recalled, (request.command or {}).get("resume")) and (
                expected is None or checkpoint_id_of(recalled) == expected
            ) and still_pending(recalled, request) and (not request.audit_as or hasattr(self.audit, "commands")):
                return recalled, True
        before = await self.ended_states.current(run.thread_id, graph, lambda: graph.aget_state(head))
        if request.expected_checkpoint is not None:
            if checkpoint_id_of(before) != request.expected_checkpoint or not before.next:
                raise PauseGone(PAUSE_GONE)
        if not still_pending(before, request):
            raise PauseGone(PAUSE_GONE)
        return before, False

    def ride_claims(self, run: RunRecord, request: RunRequest, assistant: Assistant, graph: CompiledGraph,
                    head: dict[str, Any], before: StateSnapshot) -> None:
        """Every claim the run makes checks the pause it expects (a Slack button's checkpoint) and
        carries the resume's audit entries, computed from the head the claim is made on: the one
        remembered, or the one a refused claim brought back. The entries land with the decision in
        one script, or not at all (no decision without its audit line, none for a refused claim).
        Until `stop_riding`."""
        expected = request.expected_checkpoint
        audited = request.audit_as is not None and request.command is not None
        asked = [0]

        async def rider(checkpoint_id: str) -> list[tuple[Any, ...]]:
            if expected is not None and checkpoint_id != expected:
                raise PauseGone(PAUSE_GONE)
            if not audited and not request.expected_interrupts:
                return []  # nothing here depends on the state the claim is made on
            asked[0] += 1
            state = before
            if checkpoint_id_of(state) != checkpoint_id or asked[0] > 1:
                # A refused claim brought back the head (remembered): at the same checkpoint its pending
                # interrupts may be others (the node asked again), so it is read again.
                state = await graph.aget_state_recalled(head)
            if not still_pending(state, request):
                raise PauseGone(PAUSE_GONE)
            if not audited:
                return []
            commands = getattr(self.audit, "commands")  # noqa: B009 (checked by state_before)
            return [command for entry in _entries(run, request, assistant, state) for command in commands(entry)]

        self.saver.ride_claims(run.thread_id, rider)  # type: ignore[attr-defined]

    def stop_riding(self, thread_id: str) -> None:
        self.saver.ride_claims(thread_id, None)  # type: ignore[attr-defined]

    async def audit_resume(self, run: RunRecord, request: RunRequest, assistant: Assistant,
                           before: StateSnapshot) -> None:
        """Records the resume the run carries, one entry per interrupt it answers, as the pause
        stood when the run took the thread (read once, for this and the run's checks)."""
        for entry in _entries(run, request, assistant, before):
            try:
                await self.audit.append(entry)
            except Exception:
                log.exception("audit of a resume on thread %s failed", run.thread_id)

    async def ended(self, run: RunRecord, graph: CompiledGraph, head: dict[str, Any], end: RunEnd) -> StateSnapshot:
        """The run's end as its own writes left it (this process holds the thread): made from the
        checkpoint the run handed over in `end` while it is still the head, else the saver's remembered
        head decoded as a read would decode it, without a round trip; kept for the next look."""
        states = self.ended_states if self.ended_states.enabled else self.recalled_states
        return await states.ended(run.thread_id, graph, lambda: graph.aget_state_recalled(head, end))


def _entries(run: RunRecord, request: RunRequest, assistant: Assistant, state: StateSnapshot) -> list[AuditEntry]:
    """The audit entries of the run's resume: one per interrupt it answers of those `state` has pending."""
    assert request.audit_as is not None and request.command is not None
    pending = [i.id for i in state.interrupts]
    return resume_entries(run.thread_id, assistant.graph_id, pending, request.command.get("resume"),
                          request.audit_as, f"run {run.run_id}")


def claims_pause(state: StateSnapshot, resume: Any) -> bool:
    """Whether resuming `state` with `resume` makes the engine's claim on it (engine.commands): the
    resume answers pending interrupts, the one there is or those its map of interrupt ids names."""
    pending = {i.id for i in state.interrupts}
    if resume is None:  # Command(resume=None) answers nothing
        return False
    if isinstance(resume, dict) and resume and all(is_interrupt_id(k) for k in resume):
        return bool(pending & set(resume))
    return len(pending) == 1


def still_pending(state: StateSnapshot, request: RunRequest) -> bool:
    """Whether every interrupt the request expects to answer is still pending in `state`."""
    return set(request.expected_interrupts) <= {i.id for i in state.interrupts}


def checkpoint_id_of(state: StateSnapshot) -> str:
    return str((state.config.get("configurable") or {}).get("checkpoint_id") or "")
