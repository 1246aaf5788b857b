"""The superstep loop: run tasks, fold their writes, checkpoint, pause.

One `GraphExecution` drives one call (invoke/stream) on one thread namespace. Each superstep every
task reads the same values; their writes are applied together at the end in task-path order (pull
tasks by node name, then pushed `Send` tasks by position), and the new checkpoint is saved in one
write that is conditional on the head it continues from. What a paused step has already done is
kept as pending writes on its checkpoint (record.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable
from contextlib import aclosing
from typing import Any

from . import step
from .chain import ThreadChain, checkpoint_metadata
from .commands import apply_command
from .errors import (
    CheckpointConflict,
    CheckpointerError,
    EmptyInputError,
    GraphRecursionError,
    ParentCommandError,
    ResumeError,
    refused_interrupt_id,
)
from .interrupts import NULL_RESUME, GraphInterrupt
from .options import ExecutionOptions
from .record import Checkpoint, write_key
from .spec import GraphSpec
from .step import INTERRUPT_KEY, PULL, Task, TaskOutcome, path_sort_key
from .subgraphs import LoadRule, Replay, live_events, load_checkpoint, stream_ns
from .tasks import TaskRunner
from .together import CANCELLED, run_together
from .types import START, Command, Interrupt


def _is_failure(result: Any) -> bool:
    """Whether a task's result cancels its siblings. Neither a pause nor a refused answer does (as in
    LangGraph): a sibling answered in the same resume finishes and keeps its result, instead of
    being cut off after its side effects and left holding its answer."""
    return (isinstance(result, BaseException) and not isinstance(result, GraphInterrupt)
            and refused_interrupt_id(result) is None)


class GraphExecution:
    """One invocation of a graph on one thread namespace, yielding stream events."""

    def __init__(self, spec: GraphSpec, options: ExecutionOptions) -> None:
        self.spec = spec
        self.schema = spec.schema
        self.opts = options
        self.saver = options.checkpointer
        self.chain = ThreadChain(options.checkpointer, options.thread_id, options.ns, checkpoint_metadata(options.config),
                                 options.parents)
        self.interrupts: list[Interrupt] = []
        self.interrupt_groups: list[tuple[Interrupt, ...]] = []
        self.raised: dict[str, tuple[Interrupt, ...]] = {}  # by task id: the pauses of the step that paused
        self.checkpoint: Checkpoint | None = None
        self.stepped: tuple[Checkpoint, list[Task]] | None = None  # the last checkpoint whose step was built
        self.loop: asyncio.AbstractEventLoop | None = None
        # The root's live events (custom writes, subgraph chunks, task updates as tasks finish),
        # when it streams custom writes or subgraphs; subgraphs put theirs in their caller's.
        self._queue: asyncio.Queue[Any] | None = None
        self.steps_left: int | None = None
        stream = options.stream
        self.runner = TaskRunner(spec, options, None, stream.writer(stream_ns(options.ns)) if stream else None)
        self.load_rule: LoadRule = "latest"

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, input: Any) -> AsyncGenerator[tuple[str, Any], None]:
        self.loop = asyncio.get_running_loop()
        if self.opts.stream is not None and not self.opts.nested:
            self._queue = self.opts.stream.queue
        self.runner.loop = self.loop
        if isinstance(input, Command) and input.resume is not None and self.saver is None:
            raise ResumeError("Cannot use Command(resume=...) without checkpointer")
        if isinstance(input, Command) and input.resume is None and input.update is None and not input.goto_targets():
            raise EmptyInputError("Received an empty Command: give resume=, update= or goto=")
        try:
            resuming, events = await self._prepare(input, recall=self._may_recall(input))
            refused: BaseException | None = None
        except Exception as exc:
            if self.chain.unconfirmed is None or (isinstance(exc, CheckpointerError) and not isinstance(
                    exc, CheckpointConflict)):  # the store failed: a write may have landed, so no second try
                raise
            refused = exc
        if self.chain.unconfirmed is not None or refused is not None:
            # Prepared from the head this process remembered, and no write confirmed it (one was
            # refused: the thread changed; or none was made): prepare again from the head as it is.
            # Nothing ran meanwhile. After a refused write, the run must write before its tasks run
            # (a claim), or it stops with that conflict, as a run that had read the thread would.
            by_store = refused if isinstance(refused, CheckpointConflict) and self.chain.refused else None
            self.chain.retry_from(refused)
            writes = self.chain.writes
            resuming, events = await self._prepare(input, recall=False)
            if by_store is not None and self.chain.writes == writes:
                raise by_store
        for event in events:
            yield event
        # Each generator below closes the one it reads (aclosing): a consumer closing the stream
        # mid-step reaches the running tasks at once, not when the garbage collector finalises them.
        async with aclosing(self._supersteps(skip_before=resuming, steps_run=0 if resuming else 1)) as steps:
            async for event in steps:
                yield event
        if self.opts.run_end is not None and not self.opts.nested and self.chain.stores:
            self.opts.run_end.reached(self.spec, self.opts.thread_id, self.opts.ns, self.checkpoint, self.stepped,
                                      self.raised)

    def _may_recall(self, input: Any) -> bool:
        """Whether the run may start from the head the checkpointer remembers: only when its first
        storage call is a write conditional on that head and nothing but pure preparation runs before
        it (an input, a Command). Not when START routes by user code, which runs before that write."""
        if self.opts.nested or self.opts.checkpoint_id or self.saver is None or input is None:
            return False
        return isinstance(input, Command) or not self.spec.branches.get(START)

    async def _prepare(self, input: Any, *, recall: bool) -> tuple[bool, list[tuple[str, Any]]]:
        """Loads the checkpoint the run continues and makes the run's first write (the input and the
        first step, the resume claim, a Command's record); returns whether it resumes, and the events
        to show before its first step."""
        if recall:
            base = await self.chain.load(recall=True, new_thread=not isinstance(input, Command))
            self.load_rule = "latest"
        else:
            base, self.load_rule = await load_checkpoint(
                self.chain, self.opts.checkpoint_id, self.opts.replay if self.opts.nested else None
            )
        travelling = self.load_rule == "exact"  # a subgraph replaying the checkpoint it was sent to
        replaying = not self.opts.nested and bool(self.opts.checkpoint_id) and (
            input is None or (isinstance(input, Command) and input.resume is None)
        )
        if replaying and base is not None:
            self.opts.replay = Replay.of(base.id, base.parent_id, base.source, self.opts.replay)
        # New input at a past checkpoint starts from it directly, as in LangGraph (its input checkpoint's
        # parent); continuing one (None, a Command) first copies it as the head of a new branch.
        new_input = not self.opts.nested and input is not None and not isinstance(input, Command)
        if base is not None and not new_input and (
            (self.opts.checkpoint_id and base.id != self.chain.head_id)
            or ((travelling or replaying) and (base.id != self.chain.head_id or base.source not in ("update", "fork")))
        ):
            base = await self._fork(base)  # replaying starts a branch, as in LangGraph
        elif base is not None and travelling:
            base.writes = {}  # replayed in place (an update): its tasks run and ask their questions again

        resuming = input is None or isinstance(input, Command)
        if self.opts.nested and not isinstance(input, Command) and base is not None and self.load_rule != "before" and (
            travelling or self.opts.resuming_parent
        ):
            # A subgraph re-entered by its re-running parent task continues where it paused.
            resuming = True
            answers = {k: v for k, v in self.opts.parent_resumes.items() if k != NULL_RESUME}
            input = Command(resume=answers) if answers else None
        if self.opts.nested and self.saver is None and len(self.opts.parent_resumes) == 1:
            # Nothing of this subgraph is stored, so its tasks are new and so are their pause ids:
            # the one answer its caller was given goes to the first pause that asks.
            self.opts.parent_resumes = {NULL_RESUME: list(self.opts.parent_resumes.values())[-1:]}

        if not resuming:
            checkpoint = self._start(base, input)
        elif base is None:
            if input is None:
                raise EmptyInputError("Received no input for __start__")
            checkpoint = self._start(None, {})
            resuming = False
        else:
            checkpoint = base
            if isinstance(input, Command):
                await apply_command(self.spec, self.opts, self.chain, checkpoint, input)
        self.checkpoint = checkpoint
        if not resuming:
            return False, await self._start_step(checkpoint)
        return True, [("values", self._out(step.live_values(self.spec, checkpoint, self.opts.ns, include_done=False)))]

    async def _fork(self, base: Checkpoint) -> Checkpoint:
        # a step after the checkpoint it copies, as LangGraph numbers it (and the steps that follow)
        fork = self.chain.new(base, dict(base.values), list(base.tasks), dict(base.barriers), base.step + 1, "fork",
                              base.last)
        await self.chain.save(fork)
        return fork

    def _start(self, base: Checkpoint | None, input: Any) -> Checkpoint:
        values = dict(base.values) if base else self.schema.initial_values()
        update = self.schema.input_values(input, self.spec.input_keys)
        step_no = base.step + 1 if base else -1
        return self.chain.new(  # saved by _start_step, together with the step it leads to
            base, values, [{"name": START, "path": [PULL, START], "arg": update}], dict(base.barriers) if base else {},
            step_no, "input", [],
        )

    async def _start_step(self, checkpoint: Checkpoint) -> list[tuple[str, Any]]:
        update = checkpoint.tasks[0].get("arg") or {}
        writes = list(update.items())
        try:
            targets = await step.triggers(self.spec, START, checkpoint.values, writes, None, [])
            values = dict(checkpoint.values)
            self.schema.apply(values, writes)
            tasks, barriers = step.next_tasks(self.spec, [(START, targets)], checkpoint.barriers)
        except BaseException:
            await self.chain.save(checkpoint)  # the input is kept, as LangGraph keeps it, when routing fails
            raise
        new = self.chain.new(checkpoint, values, tasks, barriers, checkpoint.step + 1, "loop", [START])
        # One write for both: the input checkpoint and the first step (one round trip on Redis).
        await self.chain.save(new, after=checkpoint)
        self.checkpoint = new
        # As in LangGraph, an input that writes nothing shows no values.
        return [("values", self._out(values))] if writes else []

    async def _supersteps(self, *, skip_before: bool, steps_run: int) -> AsyncGenerator[tuple[str, Any], None]:
        checkpoint = self.checkpoint
        assert checkpoint is not None
        first = True
        while True:
            # LangGraph checks the limit before looking for work: a run that needs exactly
            # `recursion_limit + 1` steps still fails, with its last checkpoint saved.
            if steps_run > self.opts.recursion_limit:
                raise GraphRecursionError(
                    f"Recursion limit of {self.opts.recursion_limit} reached without hitting a stop condition. "
                    "You can increase the limit by setting the `recursion_limit` config key."
                )
            self.stepped = (checkpoint, tasks := step.step_tasks(self.spec, checkpoint, self.opts.ns))
            if not tasks:
                return
            if not (first and skip_before) and step.matches(self.opts.interrupt_before, tasks):
                if not self.opts.nested:  # a subgraph's breakpoint shows as its caller's pause only
                    yield ("updates", {INTERRUPT_KEY: ()})
                self._static_stop()
                return
            self.runner.resuming = first and skip_before
            first = False
            read_values = step.read_values(self.schema, checkpoint)
            outcomes: dict[str, TaskOutcome] = {}
            # As LangGraph counts them: a fresh run's input took a step, a resumed run's did not.
            self.steps_left = self.opts.recursion_limit - steps_run + (1 if skip_before else 0)
            events = self._execute(checkpoint, tasks, read_values, outcomes)
            if self._queue is None:  # its tasks never run while it yields: no close to pass on
                async for event in events:
                    yield event
            else:
                async with aclosing(events):
                    async for event in events:
                        yield event
            if self.interrupt_groups:
                # One chunk per interrupted task, as LangGraph emits them (none for a subgraph's breakpoint).
                shown = self._out(read_values)
                for group in filter(None, self.interrupt_groups):
                    yield ("values", {**shown, INTERRUPT_KEY: group} if isinstance(shown, dict) else {INTERRUPT_KEY: group})
                if any(checkpoint.is_done(t.id) for t in tasks):
                    yield ("values", self._out(step.live_values(self.spec, checkpoint, self.opts.ns)))
                if self.opts.nested:
                    raise GraphInterrupt(tuple(self.interrupts))
                return
            ordered = sorted(tasks, key=path_sort_key)
            values = read_values
            writes = [w for t in ordered for w in outcomes[t.id].writes]
            self.schema.apply(values, writes)
            nxt_tasks, barriers = step.next_tasks(
                self.spec, [(t.name, outcomes[t.id].triggers) for t in ordered], checkpoint.barriers
            )
            new = self.chain.new(checkpoint, values, nxt_tasks, barriers, checkpoint.step + 1, "loop",
                                 [t.name for t in ordered])
            new.parent_results = {t.id: outcomes[t.id].update for t in ordered}
            await self.chain.save(new)
            self.checkpoint = checkpoint = new
            steps_run += 1
            if writes:  # as in LangGraph, a step that wrote nothing shows no values
                yield ("values", self._out(values))
            if step.matches(self.opts.interrupt_after, tasks):
                if not self.opts.nested:
                    yield ("updates", {INTERRUPT_KEY: ()})
                self._static_stop()
                return

    def _out(self, values: dict[str, Any]) -> Any:
        return self.schema.output(values)

    def _static_stop(self) -> None:
        if self.opts.nested:
            raise GraphInterrupt(())

    # -- one step's tasks ----------------------------------------------------------------------
    async def _run_in_turn(self, checkpoint: Checkpoint, tasks: list[Task], values: dict[str, Any],
                           save_each: bool) -> list[Any]:
        return [await self._run_task_safely(checkpoint, t, values, save_each, inline=True) for t in tasks]

    async def _run_together(self, checkpoint: Checkpoint, tasks: list[Task], values: dict[str, Any],
                            save_each: bool) -> list[Any]:
        """Run tasks at once (together.run_together). When every task is a plain sync node of a sync
        run, the last one runs on this thread, which would only wait otherwise."""
        last_inline = self.opts.inline_sync and self._queue is None and all(self._is_plain_sync(t) for t in tasks)
        calls = [functools.partial(self._run_task_safely, checkpoint, t, values, save_each,
                                   inline=last_inline and i == len(tasks) - 1) for i, t in enumerate(tasks)]
        # A sync stream closed mid-step waits for its sync nodes, as LangGraph's sync runs do.
        return await run_together(calls, [self._is_plain_sync(t) for t in tasks], _is_failure,
                                  limit=self.opts.max_concurrency, keep=self._keeper(checkpoint, tasks, save_each),
                                  wait_sync=self.opts.inline_sync and self._queue is not None)

    def _keeper(self, checkpoint: Checkpoint, tasks: list[Task], save_each: bool) -> Any:
        """What keeps finished tasks' results when the run stops mid-step (none: each saved already)."""
        return None if save_each or self.saver is None else functools.partial(self._keep_finished, checkpoint, tasks)

    async def _keep_finished(self, checkpoint: Checkpoint, tasks: list[Task], results: list[Any]) -> None:
        finished = {write_key("done", t.id): r.to_json() for t, r in zip(tasks, results, strict=True)
                    if isinstance(r, TaskOutcome)}
        if finished:
            await self.chain.save_writes(checkpoint, finished)

    async def _execute(self, checkpoint: Checkpoint, tasks: list[Task], values: dict[str, Any],
                       outcomes: dict[str, TaskOutcome]) -> AsyncGenerator[tuple[str, Any], None]:
        """Run the step's tasks concurrently; reuse the results of tasks finished before a pause."""
        to_run: list[Task] = []
        for task in tasks:
            done = checkpoint.outcome(task.id)
            if done is None:
                to_run.append(task)
                continue
            outcomes[task.id] = TaskOutcome.from_json(done)
            if self.opts.emit_updates:
                yield ("updates", {task.name: done["update"], "__metadata__": {"cached": True}})
        # Saving each finished task at once (a crash mid-step repeats none) pays only if the saver is durable.
        save_each = len(tasks) > 1 and self.saver is not None and getattr(self.saver, "durable", True)
        errors: list[tuple[Task, BaseException]] = []
        interrupted: dict[str, Any] = {}
        if len(to_run) == 1 and self._queue is not None and self._is_plain_sync(to_run[0]):
            # Someone streams what the node writes as it runs: keep the loop free to pass it on.
            work: Awaitable[list[Any]] = self._run_together(checkpoint, to_run, values, save_each)
        elif len(to_run) <= 1:
            work = self._run_in_turn(checkpoint, to_run, values, save_each)
        else:
            work = self._run_together(checkpoint, to_run, values, save_each)
        if self._queue is None:
            results: list[Any] = await work
        else:
            results = []
            try:
                async with aclosing(live_events(self._queue, work, results)) as live:
                    async for event in live:
                        yield event
            except BaseException:
                # The consumer left while the step's last updates went out: its tasks' results are kept.
                if results and (keep := self._keeper(checkpoint, to_run, save_each)) is not None:
                    await keep(results)
                raise
        for task, result in zip(to_run, results, strict=True):
            if result is CANCELLED:
                continue
            if isinstance(result, TaskOutcome):
                outcomes[task.id] = result
                if self._queue is None and self.opts.emit_updates:  # else streamed the moment the task finished
                    yield ("updates", {task.name: result.update})
            elif isinstance(result, GraphInterrupt):
                interrupted[write_key("int", task.id)] = [i.to_json() for i in result.interrupts]
                self.interrupts.extend(result.interrupts)
                self.interrupt_groups.append(self.raised.setdefault(task.id, tuple(result.interrupts)))
            else:
                errors.append((task, result))
        parent_commands = [e for _, e in errors if isinstance(e, ParentCommandError)]
        if parent_commands:
            raise parent_commands[0]
        if errors or interrupted:
            pending: dict[str, Any] = dict(interrupted)
            if not save_each:
                for task in to_run:
                    if task.id in outcomes:
                        pending[write_key("done", task.id)] = outcomes[task.id].to_json()
            for task, exc in errors:
                pending[write_key("err", task.id)] = {"type": type(exc).__name__, "message": str(exc), "repr": repr(exc)}
            # An answer its interrupt's response_schema refused is taken back: the pause reopens.
            refused = [write_key("res", task.id, iid) for task, exc in errors if (iid := refused_interrupt_id(exc))]
            if errors or self.saver is not None:
                await self.chain.save_writes(checkpoint, pending, discard=refused)
        if errors:
            errors.sort(key=lambda pair: path_sort_key(pair[0]))
            raise errors[0][1]
        if interrupted:
            for group in self.interrupt_groups:
                yield ("updates", {INTERRUPT_KEY: group})

    def _is_plain_sync(self, task: Task) -> bool:
        node = self.spec.nodes.get(task.name)
        return node is not None and not node.is_async

    async def _run_task_safely(self, checkpoint: Checkpoint, task: Task, values: dict[str, Any],
                               save_each: bool, *, inline: bool) -> TaskOutcome | BaseException:
        try:
            outcome = await self.runner.run(checkpoint, task, values, inline=inline, steps_left=self.steps_left)
        except (GraphInterrupt, Exception) as exc:  # noqa: BLE001 - collected and re-raised in path order
            return exc
        if save_each:
            await self.chain.save_writes(checkpoint, {write_key("done", task.id): outcome.to_json()})
        if self._queue is not None and self.opts.stream is not None:
            self.opts.stream.put((), "updates", {task.name: outcome.update})
        return outcome


__all__ = ["GraphExecution", "ExecutionOptions", "Checkpoint"]
