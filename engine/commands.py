"""Applying a Command input (resume, update, goto) to the checkpoint a run continues from.

Its writes are the run's first: the resume claim (exclusive, so two resumes of one pause have
exactly one winner) and the record of the update and gotos, both conditional on the head, before
any task runs.
"""

from __future__ import annotations

import logging
from typing import Any

from . import step
from .chain import ThreadChain
from .errors import CheckpointConflict, ResumeError
from .ids import is_interrupt_id
from .options import ExecutionOptions
from .record import NULL_ANSWER_KEY, Checkpoint, write_key
from .spec import GraphSpec
from .types import END, Command, Send

log = logging.getLogger("engine")


def _answers(opts: ExecutionOptions, checkpoint: Checkpoint, tasks: list[step.Task], resume: Any) -> dict[str, Any]:
    """The pending writes answering the run's pauses with `resume`, by write key."""
    pending = step.pending_interrupts(checkpoint, tasks)
    answers: dict[str, Any] = {}
    if isinstance(resume, dict) and resume and all(is_interrupt_id(k) for k in resume):
        for iid, value in resume.items():
            if iid in pending:
                answers[write_key("res", pending[iid][0].id, iid)] = value
    elif isinstance(resume, dict) and not resume:
        pass  # an empty map answers nothing
    elif opts.replay is not None and opts.replay.targets and not isinstance(resume, dict):
        # Replaying a subgraph's checkpoint makes its tasks anew, so the pause ids recorded
        # here do not carry over: the answer goes to the first pause that asks.
        answers[NULL_ANSWER_KEY] = resume
    elif len(pending) > 1:
        raise ResumeError(
            "When there are multiple pending interrupts, you must specify the interrupt id when resuming."
        )
    elif len(pending) == 1:
        (iid, (task, _)), = pending.items()
        answers[write_key("res", task.id, iid)] = resume
    elif not opts.nested and step.answered_but_unfinished(checkpoint, tasks):
        raise CheckpointConflict(
            f"Thread {opts.thread_id!r}: this pause was already answered and its run has not finished. "
            "Wait for that run, or continue it with input None if it died."
        )
    elif tasks and not isinstance(resume, dict):
        answers[NULL_ANSWER_KEY] = resume  # no pause recorded here: the first interrupt() takes it
    return answers


async def apply_command(spec: GraphSpec, opts: ExecutionOptions, chain: ThreadChain, checkpoint: Checkpoint,
                        command: Command) -> None:
    if command.resume is not None:
        answers = _answers(opts, checkpoint, step.build_tasks(spec, checkpoint, opts.ns), command.resume)
        if answers:
            if opts.nested:
                fresh = {k: v for k, v in answers.items() if k not in checkpoint.writes}
                await chain.save_writes(checkpoint, fresh)
            else:
                # The claim: exactly one resume of a pause wins, across processes.
                await chain.save_writes(checkpoint, answers, exclusive=True)
    goto = [t if isinstance(t, Send) else str(t) for t in command.goto_targets()]
    unknown = [t for t in goto if isinstance(t, str) and t != END and t not in spec.nodes]
    for target in unknown:  # LangGraph drops such a target with a warning and carries on
        log.warning("Command(goto=%r) names no node of this graph: ignoring that target", target)
    goto = [t for t in goto if t not in unknown]
    if command.update is not None or goto:
        update = spec.schema.update_from(command.update, "__input__") if command.update is not None else None
        record = {"update": list((update or {}).items()), "goto": [step.trigger_json(t) for t in goto]}
        await chain.save_writes(checkpoint, {checkpoint.next_command_key(): record})
