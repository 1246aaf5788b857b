"""The superstep loop: run tasks, fold their writes, checkpoint, pause.

One `Run` drives one call (invoke/stream) on one thread namespace. Each superstep every task reads
the same values; their writes are applied together at the end in task-path order (pull tasks by
node name, then pushed `Send` tasks by position), and the new checkpoint is saved in one write
that is conditional on the head it continues from.

Pending writes on a checkpoint (task key -> blob) record what a paused step has already done:
  done:<task>           a finished task's writes and the nodes it triggers (not re-run on resume)
  int:<task>            the interrupts a task raised
  res:<task>:<int id>   the answer to one interrupt (saved exclusively: the resume claim)
  err:<task>            the error a task failed with
  cmd:<n>               updates and gotos given with a Command input
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import serde
from .checkpoint.base import SavedCheckpoint
from .errors import (
    CheckpointConflict,
    ConfigError,
    EmptyInputError,
    GraphRecursionError,
    InvalidUpdateError,
    ParentCommandError,
    ResumeError,
)
from .ids import is_interrupt_id, new_checkpoint_id, task_id
from .interrupts import GraphInterrupt, TaskScope, current_task
from .runtime import Runtime
from .types import END, START, Command, Interrupt, Send

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer
    from .graph import Branch, GraphSpec, NodeSpec

PULL = "__pregel_pull"
PUSH = "__pregel_push"
INTERRUPT_KEY = "__interrupt__"
_NO_ARG = object()


@dataclass
class Task:
    id: str
    name: str
    path: tuple[Any, ...]
    ns: str
    arg: Any = _NO_ARG


@dataclass
class TaskOutcome:
    writes: list[tuple[str, Any]]
    triggers: list[Any]  # node names and Send packets
    update: Any  # what `updates` streaming shows for this task


@dataclass
class Checkpoint:
    """A decoded checkpoint plus its pending writes."""

    id: str
    parent_id: str | None
    values: dict[str, Any]
    tasks: list[dict[str, Any]]  # {"name", "path", "arg"?}
    barriers: dict[str, list[str]]
    step: int
    source: str
    created_at: str
    last: list[str]
    metadata: dict[str, Any]
    writes: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "tasks": self.tasks,
            "barriers": self.barriers,
            "step": self.step,
            "source": self.source,
            "ts": self.created_at,
            "last": self.last,
            "meta": self.metadata,
        }

    @classmethod
    def decode(cls, saved: SavedCheckpoint) -> Checkpoint:
        body = serde.loads(saved.blob)
        writes = {key: serde.loads(blob) for key, blob in saved.writes.items()}
        return cls(
            id=saved.id,
            parent_id=saved.parent_id,
            values=body["values"],
            tasks=body["tasks"],
            barriers=body["barriers"],
            step=body["step"],
            source=body["source"],
            created_at=body["ts"],
            last=body["last"],
            metadata=body["meta"],
            writes=writes,
        )

    def encode(self) -> SavedCheckpoint:
        # Only values, task inputs and user metadata can hold non-JSON types; the rest is ours.
        encoded = self.body()
        encoded["values"] = serde.check_state(self.values)  # an error names the state key
        encoded["tasks"] = [
            {**t, "arg": serde.to_jsonable(t["arg"], f"the input of task {t['name']!r}")} if "arg" in t else t
            for t in self.tasks
        ]
        if self.metadata:
            encoded["meta"] = serde.to_jsonable(self.metadata, "metadata")
        return SavedCheckpoint(self.id, self.parent_id, serde.dumps_jsonable(encoded))

    def full_metadata(self) -> dict[str, Any]:
        return {**self.metadata, "source": self.source, "step": self.step, "parents": {}}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def task_ns(parent_ns: str, name: str, tid: str) -> str:
    own = f"{name}:{tid}"
    return f"{parent_ns}|{own}" if parent_ns else own


def build_tasks(checkpoint: Checkpoint, parent_ns: str) -> list[Task]:
    out = []
    for record in checkpoint.tasks:
        path = tuple(record["path"])
        tid = task_id(checkpoint.id, parent_ns, record["name"], path)
        out.append(Task(tid, record["name"], path, task_ns(parent_ns, record["name"], tid), record.get("arg", _NO_ARG)))
    return out


def _path_sort_key(task: Task) -> tuple[Any, ...]:
    if task.path[0] == PULL:
        return (0, str(task.path[1]), 0)
    return (1, "", task.path[1])


def pending_interrupts(checkpoint: Checkpoint, tasks: Sequence[Task]) -> dict[str, tuple[Task, Interrupt]]:
    """Interrupts raised at this checkpoint and not answered yet, by interrupt id."""
    pending: dict[str, tuple[Task, Interrupt]] = {}
    for task in tasks:
        if f"done:{task.id}" in checkpoint.writes:
            continue
        for record in checkpoint.writes.get(f"int:{task.id}", ()):
            interrupt = interrupt_from_json(record)
            if f"res:{task.id}:{interrupt.id}" not in checkpoint.writes:
                pending[interrupt.id] = (task, interrupt)
    return pending


def interrupt_from_json(data: dict[str, Any]) -> Interrupt:
    return Interrupt(
        value=data["value"],
        id=data["id"],
        resumable=data.get("resumable", True),
        ns=tuple(data.get("ns", ())),
        when=data.get("when", "during"),
    )


def command_writes(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    return [checkpoint.writes[k] for k in sorted(k for k in checkpoint.writes if k.startswith("cmd:"))]


@dataclass
class RunOptions:
    config: dict[str, Any]
    thread_id: str | None
    checkpoint_id: str | None
    ns: str
    checkpointer: Checkpointer | None
    interrupt_before: Any
    interrupt_after: Any
    recursion_limit: int
    inline_sync: bool
    nested: bool
    parent_resumes: dict[str, Any]
    metadata: dict[str, Any]
    context: Any = None
    custom: bool = False  # someone streams "custom": nodes' stream writers feed the stream


class Run:
    """One invocation of a graph on one thread namespace, yielding stream events."""

    def __init__(self, spec: GraphSpec, options: RunOptions) -> None:
        self.spec = spec
        self.schema = spec.schema
        self.opts = options
        self.saver = options.checkpointer
        self.interrupts: list[Interrupt] = []
        self.interrupt_groups: list[tuple[Interrupt, ...]] = []
        self.checkpoint: Checkpoint | None = None
        self.head_id: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._custom: asyncio.Queue[Any] | None = None

    def _write_custom(self, chunk: Any) -> None:
        """A node's stream writer; thread-safe, since sync nodes run in worker threads."""
        if self._custom is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self._custom.put_nowait, chunk)

    # -- persistence ---------------------------------------------------------------------------
    async def _save(self, checkpoint: Checkpoint, *, after: Checkpoint | None = None) -> None:
        """Stores `checkpoint` as the new head; with `after`, stores that one first, in the same write."""
        if self.saver is None or self.opts.thread_id is None:
            self.head_id = checkpoint.id
            return
        if after is None:
            await self.saver.save(self.opts.thread_id, self.opts.ns, checkpoint.encode(), expected_head=self.head_id)
        else:
            await self.saver.save(
                self.opts.thread_id, self.opts.ns, after.encode(), expected_head=self.head_id, then=checkpoint.encode()
            )
        self.head_id = checkpoint.id

    async def _save_writes(self, checkpoint: Checkpoint, writes: dict[str, Any], *, exclusive: bool = False) -> None:
        checkpoint.writes.update(writes)
        if self.saver is None or self.opts.thread_id is None or not writes:
            return
        blobs = {key: serde.dumps(value, f"pending write {key}") for key, value in writes.items()}
        await self.saver.save_writes(self.opts.thread_id, self.opts.ns, checkpoint.id, blobs, exclusive=exclusive)

    def _new_checkpoint(self, parent: Checkpoint | None, values: dict[str, Any], tasks: list[dict[str, Any]],
                        barriers: dict[str, list[str]], step: int, source: str, last: list[str]) -> Checkpoint:
        return Checkpoint(
            id=new_checkpoint_id(after=self.head_id),
            parent_id=parent.id if parent else None,
            values=values,
            tasks=tasks,
            barriers=barriers,
            step=step,
            source=source,
            created_at=now_iso(),
            last=last,
            metadata=dict(self.opts.metadata),
        )

    async def load(self) -> Checkpoint | None:
        if self.saver is None or self.opts.thread_id is None:
            return None
        head = await self.saver.load(self.opts.thread_id, self.opts.ns)
        self.head_id = head.id if head else None
        if self.opts.checkpoint_id and (head is None or head.id != self.opts.checkpoint_id):
            saved = await self.saver.load(self.opts.thread_id, self.opts.ns, self.opts.checkpoint_id)
            if saved is None:
                raise ConfigError(f"Checkpoint {self.opts.checkpoint_id!r} not found on thread {self.opts.thread_id!r}")
            return Checkpoint.decode(saved)
        return Checkpoint.decode(head) if head else None

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, input: Any) -> AsyncIterator[tuple[str, Any]]:
        self.loop = asyncio.get_running_loop()
        if self.opts.custom:
            self._custom = asyncio.Queue()
        if isinstance(input, Command) and input.resume is not None and self.saver is None:
            raise ResumeError("Cannot use Command(resume=...) without checkpointer")
        if isinstance(input, Command) and input.resume is None and input.update is None and not input.goto_targets():
            raise EmptyInputError("Received an empty Command: give resume=, update= or goto=")
        base = await self.load()
        if base is not None and self.opts.checkpoint_id and base.id != self.head_id:
            base = await self._fork(base)

        resuming = input is None or isinstance(input, Command)
        if self.opts.nested and base is not None and base.tasks and not isinstance(input, Command):
            # A subgraph re-entered by its re-running parent task continues where it paused.
            resuming = True
            input = Command(resume=self.opts.parent_resumes) if self.opts.parent_resumes else None

        if not resuming:
            checkpoint = await self._start(base, input)
        elif base is None:
            if input is None:
                raise EmptyInputError("Received no input for __start__")
            checkpoint = await self._start(None, {})
            resuming = False
        else:
            checkpoint = base
            if isinstance(input, Command):
                await self._apply_command(checkpoint, input)
        self.checkpoint = checkpoint

        if not resuming:
            async for event in self._run_start_step(checkpoint):
                yield event
            checkpoint = self.checkpoint
        else:
            yield ("values", self._live_values(checkpoint, include_done=False))

        async for event in self._supersteps(skip_before=resuming, steps_run=0 if resuming else 1):
            yield event

    async def _fork(self, base: Checkpoint) -> Checkpoint:
        fork = self._new_checkpoint(base, dict(base.values), list(base.tasks), dict(base.barriers), base.step, "fork", base.last)
        await self._save(fork)
        return fork

    async def _start(self, base: Checkpoint | None, input: Any) -> Checkpoint:
        values = dict(base.values) if base else self.schema.initial_values()
        if self.spec.input_keys is not None and isinstance(input, dict):
            input = {k: v for k, v in input.items() if k in self.spec.input_keys}  # as input_schema says
        update = self.schema.input_values(input)
        step = base.step + 1 if base else -1
        checkpoint = self._new_checkpoint(
            base, values, [{"name": START, "path": [PULL, START], "arg": update}], dict(base.barriers) if base else {},
            step, "input", [],
        )
        return checkpoint  # saved by _run_start_step, together with the step it leads to

    async def _run_start_step(self, checkpoint: Checkpoint) -> AsyncIterator[tuple[str, Any]]:
        update = checkpoint.tasks[0].get("arg") or {}
        writes = list(update.items())
        try:
            triggers = await self._triggers(START, checkpoint.values, writes, None, [])
            values = dict(checkpoint.values)
            self.schema.apply(values, writes)
            nxt = self._next_tasks([(START, triggers)], checkpoint.barriers)
        except BaseException:
            await self._save(checkpoint)  # the input is kept, as LangGraph keeps it, when routing fails
            raise
        new = self._new_checkpoint(checkpoint, values, nxt[0], nxt[1], checkpoint.step + 1, "loop", [START])
        # One write for both: the input checkpoint and the first step (one round trip on Redis).
        await self._save(new, after=checkpoint)
        self.checkpoint = new
        yield ("values", self._output(values))

    async def _apply_command(self, checkpoint: Checkpoint, command: Command) -> None:
        tasks = build_tasks(checkpoint, self.opts.ns)
        if command.resume is not None:
            pending = pending_interrupts(checkpoint, tasks)
            resume = command.resume
            answers: dict[str, Any] = {}
            if isinstance(resume, dict) and resume and all(is_interrupt_id(k) for k in resume):
                for iid, value in resume.items():
                    if iid in pending:
                        answers[f"res:{pending[iid][0].id}:{iid}"] = value
            elif isinstance(resume, dict) and not resume:
                pass  # an empty map answers nothing
            elif len(pending) > 1:
                raise ResumeError(
                    "When there are multiple pending interrupts, you must specify the interrupt id when resuming."
                )
            elif len(pending) == 1:
                (iid, (task, _)), = pending.items()
                answers[f"res:{task.id}:{iid}"] = resume
            elif not self.opts.nested and self._answered_but_unfinished(checkpoint, tasks):
                raise CheckpointConflict(
                    f"Thread {self.opts.thread_id!r}: this pause was already answered and its run has not finished. "
                    "Wait for that run, or continue it with input None if it died."
                )
            if answers:
                if self.opts.nested:
                    fresh = {k: v for k, v in answers.items() if k not in checkpoint.writes}
                    await self._save_writes(checkpoint, fresh)
                else:
                    # The claim: exactly one resume of a pause wins, across processes.
                    await self._save_writes(checkpoint, answers, exclusive=True)
        goto = [t if isinstance(t, Send) else str(t) for t in command.goto_targets()]
        if command.update is not None or goto:
            update = self.schema.update_from(command.update, "__input__") if command.update is not None else None
            record = {"update": list((update or {}).items()), "goto": [_trigger_json(t) for t in goto]}
            seq = len([k for k in checkpoint.writes if k.startswith("cmd:")])
            await self._save_writes(checkpoint, {f"cmd:{seq:04d}": record})

    @staticmethod
    def _answered_but_unfinished(checkpoint: Checkpoint, tasks: Sequence[Task]) -> bool:
        return any(
            f"done:{t.id}" not in checkpoint.writes and any(k.startswith(f"res:{t.id}:") for k in checkpoint.writes)
            for t in tasks
        )

    def _read_values(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """Values tasks of this step read: the checkpoint plus updates given with Command inputs."""
        values = dict(checkpoint.values)
        for record in command_writes(checkpoint):
            if record["update"]:
                self.schema.apply(values, [tuple(w) for w in record["update"]])
        return values

    def _live_values(self, checkpoint: Checkpoint, include_done: bool = True) -> dict[str, Any]:
        values = self._read_values(checkpoint)
        if include_done:
            tasks = sorted(build_tasks(checkpoint, self.opts.ns), key=_path_sort_key)
            writes = [tuple(w) for t in tasks for w in checkpoint.writes.get(f"done:{t.id}", {}).get("writes", ())]
            if writes:
                self.schema.apply(values, writes)
        return self._output(values)

    def _output(self, values: dict[str, Any]) -> dict[str, Any]:
        return dict(values)

    def _step_tasks(self, checkpoint: Checkpoint) -> list[Task]:
        tasks = build_tasks(checkpoint, self.opts.ns)
        names = {t.name for t in tasks if t.path[0] == PULL}
        extra: list[dict[str, Any]] = []
        for record in command_writes(checkpoint):
            for target in record["goto"]:
                if isinstance(target, str):
                    if target != END and target not in names:
                        names.add(target)
                        extra.append({"name": target, "path": [PULL, target]})
                else:
                    extra.append({"name": target["send"], "path": [PUSH, 1000 + len(extra)], "arg": target["arg"]})
        if extra:
            checkpoint.tasks = list(checkpoint.tasks) + extra
            tasks = build_tasks(checkpoint, self.opts.ns)
        return tasks

    async def _supersteps(self, *, skip_before: bool, steps_run: int) -> AsyncIterator[tuple[str, Any]]:
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
            tasks = self._step_tasks(checkpoint)
            if not tasks:
                return
            if not (first and skip_before) and self._matches(self.opts.interrupt_before, tasks):
                yield ("updates", {INTERRUPT_KEY: ()})
                self._static_stop()
                return
            first = False
            read_values = self._read_values(checkpoint)
            outcomes: dict[str, TaskOutcome] = {}
            async for event in self._execute(checkpoint, tasks, read_values, outcomes):
                yield event
            if self.interrupts:
                # One chunk per interrupted task, as LangGraph emits them.
                for group in self.interrupt_groups:
                    yield ("values", {**self._output(read_values), INTERRUPT_KEY: group})
                if any(f"done:{t.id}" in checkpoint.writes for t in tasks):
                    yield ("values", self._live_values(checkpoint))
                if self.opts.nested:
                    raise GraphInterrupt(tuple(self.interrupts))
                return
            ordered = sorted(tasks, key=_path_sort_key)
            values = read_values
            writes = [w for t in ordered for w in outcomes[t.id].writes]
            self.schema.apply(values, writes)
            nxt_tasks, barriers = self._next_tasks([(t.name, outcomes[t.id].triggers) for t in ordered], checkpoint.barriers)
            new = self._new_checkpoint(checkpoint, values, nxt_tasks, barriers, checkpoint.step + 1, "loop",
                                       [t.name for t in ordered])
            await self._save(new)
            self.checkpoint = checkpoint = new
            steps_run += 1
            yield ("values", self._output(values))
            if self._matches(self.opts.interrupt_after, tasks):
                yield ("updates", {INTERRUPT_KEY: ()})
                self._static_stop()
                return

    def _static_stop(self) -> None:
        if self.opts.nested:
            raise GraphInterrupt(())

    def _matches(self, breakpoints: Any, tasks: Sequence[Task]) -> bool:
        if not breakpoints:
            return False
        if breakpoints == "*":
            return any(t.name != START for t in tasks)
        return any(t.name in breakpoints for t in tasks)

    async def _run_in_turn(self, checkpoint: Checkpoint, tasks: list[Task], values: dict[str, Any],
                           save_each: bool) -> list[Any]:
        return [await self._run_task_safely(checkpoint, t, values, save_each) for t in tasks]

    async def _with_custom_events(self, work: Any, results: list[Any]) -> AsyncIterator[tuple[str, Any]]:
        """Yields what nodes write to their stream writer while the step's tasks run."""
        assert self._custom is not None
        running = asyncio.ensure_future(work)
        while not running.done():
            getter = asyncio.ensure_future(self._custom.get())
            await asyncio.wait({running, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield ("custom", getter.result())
            else:
                getter.cancel()
        await asyncio.sleep(0)  # writes a worker thread scheduled just before its task ended
        while not self._custom.empty():
            yield ("custom", self._custom.get_nowait())
        results.extend(running.result())

    async def _execute(self, checkpoint: Checkpoint, tasks: list[Task], values: dict[str, Any],
                       outcomes: dict[str, TaskOutcome]) -> AsyncIterator[tuple[str, Any]]:
        """Run the step's tasks concurrently; reuse the results of tasks finished before a pause."""
        to_run: list[Task] = []
        for task in tasks:
            done = checkpoint.writes.get(f"done:{task.id}")
            if done is not None:
                outcomes[task.id] = TaskOutcome([tuple(w) for w in done["writes"]],
                                                [_trigger_from_json(t) for t in done["triggers"]], done["update"])
                yield ("updates", {task.name: done["update"], "__metadata__": {"cached": True}})
            else:
                to_run.append(task)
        # Saving each finished task at once means a crash mid-step repeats none of them; only
        # worth a round trip per task when the checkpointer outlives the process.
        save_each = len(tasks) > 1 and self.saver is not None and getattr(self.saver, "durable", True)
        errors: list[tuple[Task, BaseException]] = []
        interrupted: dict[str, Any] = {}
        if len(to_run) == 1 or (self.opts.inline_sync and not any(self._is_async(t) for t in to_run)):
            # Sync nodes of a sync run execute one after another anyway: skip creating tasks.
            work: Awaitable[list[Any]] = self._run_in_turn(checkpoint, to_run, values, save_each)
        else:
            work = asyncio.gather(*(self._run_task_safely(checkpoint, t, values, save_each) for t in to_run))
        if self._custom is None:
            results: list[Any] = await work
        else:
            results = []
            async for event in self._with_custom_events(work, results):
                yield event
        for task, result in zip(to_run, results, strict=True):
            if isinstance(result, TaskOutcome):
                outcomes[task.id] = result
                yield ("updates", {task.name: result.update})
            elif isinstance(result, GraphInterrupt):
                interrupted[f"int:{task.id}"] = [i.to_json() for i in result.interrupts]
                self.interrupts.extend(result.interrupts)
                self.interrupt_groups.append(tuple(result.interrupts))
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
                        pending[f"done:{task.id}"] = _outcome_json(outcomes[task.id])
            for task, exc in errors:
                pending[f"err:{task.id}"] = {"type": type(exc).__name__, "message": str(exc)}
            if errors or self.saver is not None:
                await self._save_writes(checkpoint, pending)
        if errors:
            errors.sort(key=lambda pair: _path_sort_key(pair[0]))
            raise errors[0][1]
        if interrupted:
            for group in self.interrupt_groups:
                yield ("updates", {INTERRUPT_KEY: group})

    def _is_async(self, task: Task) -> bool:
        node = self.spec.nodes.get(task.name)
        return node is not None and node.is_async

    async def _run_task_safely(self, checkpoint: Checkpoint, task: Task, values: dict[str, Any],
                               save_each: bool) -> TaskOutcome | BaseException:
        try:
            outcome = await self._run_task(checkpoint, task, values)
        except (GraphInterrupt, Exception) as exc:  # noqa: BLE001 - collected and re-raised in path order
            return exc
        if save_each:
            await self._save_writes(checkpoint, {f"done:{task.id}": _outcome_json(outcome)})
        return outcome

    async def _run_task(self, checkpoint: Checkpoint, task: Task, values: dict[str, Any]) -> TaskOutcome:
        if task.name == START:
            update = task.arg if task.arg is not _NO_ARG else {}
            writes = list(update.items())
            return TaskOutcome(writes, await self._triggers(START, values, writes, None, []), None)
        node = self.spec.nodes[task.name]
        resumes = {
            key.rsplit(":", 1)[1]: value
            for key, value in checkpoint.writes.items()
            if key.startswith(f"res:{task.id}:")
        }
        config = self._node_config(task)
        node_input = task.arg if task.arg is not _NO_ARG else (
            dict(values) if node.is_subgraph else self.schema.to_node_input(values)
        )
        attempt = 1
        try:
            while True:
                scope = TaskScope(
                    ns=task.ns, task_id=task.id, thread_id=self.opts.thread_id, checkpointer=self.saver,
                    resumes=resumes, config=config, loop=self.loop,
                    extra={"context": self.opts.context, "writer": self._write_custom if self.opts.custom else None},
                )
                try:
                    result = await self._call_node(node, node_input, config, scope)
                    break
                except (GraphInterrupt, ParentCommandError):
                    raise
                except Exception as exc:
                    policy = node.retry
                    if policy is None or attempt >= policy.max_attempts or not policy.should_retry(exc):
                        raise
                    await asyncio.sleep(policy.pause_before(attempt))
                    attempt += 1
        except ParentCommandError as exc:
            # A subgraph of this node handed its Command up to us: treat it as this node's return.
            cmd = exc.command
            assert isinstance(cmd, Command)
            result = Command(update=cmd.update, goto=cmd.goto, resume=cmd.resume)
        goto: list[Any] = []
        if isinstance(result, Command):
            if result.graph == Command.PARENT:
                raise ParentCommandError(Command(update=result.update, goto=result.goto, resume=result.resume))
            goto = result.goto_targets()
            update = self._command_update(result.update, task.name)
        elif isinstance(result, (list, tuple)) and result and all(isinstance(r, Command) for r in result):
            update = {}
            for cmd in result:
                update.update(self._command_update(cmd.update, task.name) or {})
                goto.extend(cmd.goto_targets())
        else:
            update = self.schema.update_from(result, task.name)
        writes = list((update or {}).items())
        triggers = await self._triggers(task.name, values, writes, config, goto)
        return TaskOutcome(writes, triggers, update)

    def _command_update(self, update: Any, node: str) -> dict[str, Any] | None:
        if update is None:
            return None
        if isinstance(update, (list, tuple)):
            return self.schema.update_from(dict(update), node)
        return self.schema.update_from(update, node)

    def _node_config(self, task: Task) -> dict[str, Any]:
        configurable = dict(self.opts.config.get("configurable", {}))
        configurable["checkpoint_ns"] = task.ns
        if self.opts.thread_id is not None:
            configurable["thread_id"] = self.opts.thread_id
        return {**self.opts.config, "configurable": configurable, "metadata": dict(self.opts.metadata),
                "recursion_limit": self.opts.recursion_limit}

    async def _call_node(self, node: NodeSpec, node_input: Any, config: dict[str, Any], scope: TaskScope) -> Any:
        token = current_task.set(scope)
        try:
            if node.is_subgraph:
                return await node.action._run_nested(node_input, scope)
            args = (node_input, config) if node.wants_config else (node_input,)
            writer = scope.extra.get("writer") or Runtime.stream_writer
            kwargs = {"runtime": Runtime(context=self.opts.context, stream_writer=writer)} if node.wants_runtime else {}
            if node.is_async:
                return await node.action(*args, **kwargs)
            if self.opts.inline_sync:
                return node.action(*args, **kwargs)
            ctx = contextvars.copy_context()
            assert self.loop is not None
            call = functools.partial(ctx.run, node.action, *args, **kwargs)
            return await self.loop.run_in_executor(None, call)
        finally:
            current_task.reset(token)

    async def _triggers(self, source: str, values: dict[str, Any], writes: list[tuple[str, Any]],
                        config: dict[str, Any] | None, goto: list[Any]) -> list[Any]:
        targets: list[Any] = [g for g in goto]
        targets.extend(self.spec.edges.get(source, ()))
        branches = self.spec.branches.get(source, ())
        if branches:
            fresh = dict(values)
            self.schema.apply(fresh, writes)
            view = self.schema.to_node_input(fresh)
            for branch in branches:
                targets.extend(await self._follow(branch, view, config))
        return [t for t in targets if t != END]

    async def _follow(self, branch: Branch, view: Any, config: dict[str, Any] | None) -> list[Any]:
        args = (view, config or {}) if branch.wants_config else (view,)
        result = await branch.path(*args) if branch.is_async else branch.path(*args)
        items = result if isinstance(result, (list, tuple)) else [result]
        out: list[Any] = []
        for item in items:
            if isinstance(item, Send):
                out.append(item)
                continue
            if branch.path_map is not None:
                if item not in branch.path_map:
                    raise InvalidUpdateError(
                        f"Conditional edge from '{branch.source}' returned {item!r}, which is not in its path map "
                        f"{sorted(map(str, branch.path_map))}"
                    )
                item = branch.path_map[item]
            if item != END and item not in self.spec.nodes:
                raise InvalidUpdateError(f"Conditional edge from '{branch.source}' leads to unknown node {item!r}")
            out.append(item)
        return out

    def _next_tasks(self, finished: list[tuple[str, list[Any]]],
                    barriers: dict[str, list[str]]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        pushes: list[dict[str, Any]] = []
        pulls: set[str] = set()
        barriers = {k: list(v) for k, v in barriers.items()}
        for _name, triggers in finished:
            for target in triggers:
                if isinstance(target, Send):
                    if target.node not in self.spec.nodes:
                        raise InvalidUpdateError(f"Send to unknown node {target.node!r}")
                    pushes.append({"name": target.node, "path": [PUSH, len(pushes)], "arg": target.arg})
                else:
                    pulls.add(target)
        for sources, target in self.spec.joins:
            key = f"join:{'+'.join(sources)}:{target}"
            seen = barriers.get(key, [])
            for name, _ in finished:
                if name in sources and name not in seen:
                    seen.append(name)
            if set(seen) >= set(sources):
                seen = []
                if target != END:
                    pulls.add(target)
            if seen:
                barriers[key] = seen
            else:
                barriers.pop(key, None)
        order = self.spec.order
        tasks = pushes + [{"name": n, "path": [PULL, n]} for n in sorted(pulls, key=lambda n: order.get(n, -1))]
        return tasks, barriers


def _trigger_json(target: Any) -> Any:
    if isinstance(target, Send):
        return {"send": target.node, "arg": target.arg}
    return target


def _trigger_from_json(data: Any) -> Any:
    if isinstance(data, dict):
        return Send(data["send"], data["arg"])
    return data


def _outcome_json(outcome: TaskOutcome) -> dict[str, Any]:
    return {
        "writes": [list(w) for w in outcome.writes],
        "triggers": [_trigger_json(t) for t in outcome.triggers],
        "update": outcome.update,
    }


__all__ = ["Run", "RunOptions", "Checkpoint", "build_tasks", "pending_interrupts", "CheckpointConflict"]
