"""TaskRunner: run one task of a superstep and turn what its node returned into writes and triggers.

A node runs in its own TaskScope (what `interrupt()` and `get_stream_writer()` see), is retried
as its RetryPolicy says, and may return a state update, a Command, or a list of Commands. A sync
node runs in a worker thread unless the caller is itself synchronous.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable
from typing import Any

from . import step
from .errors import ParentCommandError
from .interrupts import NULL_RESUME, GraphInterrupt, TaskScope, current_task
from .options import ExecutionOptions
from .record import Checkpoint
from .retry import matching_policy
from .runtime import Runtime
from .spec import GraphSpec, NodeSpec
from .step import NO_ARG, Task, TaskOutcome
from .threads import ThreadBatch
from .types import START, Command


class TaskRunner:
    def __init__(self, spec: GraphSpec, opts: ExecutionOptions, loop: asyncio.AbstractEventLoop | None,
                 writer: Callable[[Any], None] | None) -> None:
        self.spec = spec
        self.schema = spec.schema
        self.opts = opts
        self.loop = loop
        self.writer = writer
        self.threads: ThreadBatch | None = None  # made when a sync node first goes to a worker thread
        self.resuming = False  # the step now running continues a paused one (its tasks re-enter)
        self.null_resume: list[Any] | None = None  # see interrupts.NULL_RESUME
        self._parents: tuple[str, dict[str, str]] = ("", {})  # (checkpoint id, its tasks' `parents`)
        self._config_takers: dict[str, bool] = {}  # node name -> whether it or its routing takes a config

    async def run(self, checkpoint: Checkpoint, task: Task, values: dict[str, Any], *, inline: bool = True,
                  steps_left: int | None = None) -> TaskOutcome:
        """Run the task; `inline`: a sync node may run on this thread (it is the step's only task)."""
        if task.name == START:
            update = task.arg if task.arg is not NO_ARG else {}
            writes = list(update.items())
            return TaskOutcome(writes, await step.triggers(self.spec, START, values, writes, None, []), None)
        node = self.spec.nodes[task.name]
        resumes = checkpoint.answers(task.id)
        if checkpoint.writes or self.null_resume is not None or self.opts.parent_resumes:
            null = self._null_resume(checkpoint)
            if null is not None:
                resumes[NULL_RESUME] = null
        # The task's own config (its namespace in it) is built only for code that takes one: the node or
        # a routing function after it. Elsewhere (the scope's tags) the run's config says the same.
        config = self.node_config(task) if self._takes_config(node) else self.opts.config
        if self._parents[0] != checkpoint.id:  # one map per step, shared by its tasks
            self._parents = (checkpoint.id, {**self.opts.parents, self.opts.ns: checkpoint.id})
        parents = self._parents[1]
        node_input = task.arg if task.arg is not NO_ARG else self._node_input(node, values, steps_left)
        attempt = 1
        try:
            while True:
                scope = TaskScope(
                    ns=task.ns, task_id=task.id, thread_id=self.opts.thread_id, checkpointer=self.opts.checkpointer,
                    resumes=resumes, config=config, loop=self.loop, context=self.opts.context, writer=self.writer,
                    stream=self.opts.stream, replay=self.opts.replay, resuming=self.resuming or attempt > 1,
                    parents=parents,
                )
                try:
                    result = await self._call_node(node, node_input, config, scope, inline)
                    break
                except (GraphInterrupt, ParentCommandError):
                    raise
                except Exception as exc:
                    policy = matching_policy(node.retry, exc)
                    if policy is None or attempt >= policy.max_attempts:
                        raise
                    await self._pause(node, policy.pause_before(attempt), inline)
                    attempt += 1
        except ParentCommandError as exc:
            # A subgraph of this node handed its Command up to us: treat it as this node's return.
            cmd = exc.command
            assert isinstance(cmd, Command)
            result = Command(update=cmd.update, goto=cmd.goto, resume=cmd.resume)
        if isinstance(result, Command) and result.graph == Command.PARENT:
            raise ParentCommandError(Command(update=result.update, goto=result.goto, resume=result.resume))
        writes, update, goto = self.schema.result_writes(result, task.name)
        targets = await step.triggers(self.spec, task.name, values, writes, config, goto)
        return TaskOutcome(writes, targets, update)

    def _null_resume(self, checkpoint: Checkpoint) -> list[Any] | None:
        """The run's unaddressed resume value: given with this run's Command, or by the caller."""
        if self.null_resume is None and (answer := checkpoint.null_answer()) is not None:
            self.null_resume = [answer]
        if self.null_resume is not None:
            return self.null_resume
        inherited: list[Any] | None = self.opts.parent_resumes.get(NULL_RESUME)
        return inherited

    def _node_input(self, node: NodeSpec, values: dict[str, Any], steps_left: int | None) -> Any:
        schema = node.input_schema or self.schema
        if node.is_subgraph:
            return dict(values) if schema.accepts_any_key() else {k: values[k] for k in schema.keys if k in values}
        return schema.to_node_input(values, steps_left)

    async def _pause(self, node: NodeSpec, seconds: float, inline: bool) -> None:
        """The wait before a retry: a sync node of a sync run waits as sync code does (time.sleep)."""
        if node.is_async or not self.opts.inline_sync:
            await asyncio.sleep(seconds)  # an async run waits as LangGraph's async runner does
        elif inline:
            time.sleep(seconds)  # noqa: ASYNC251 - a sync run's loop is blocked by its sync nodes anyway
        else:
            assert self.loop is not None
            await self.loop.run_in_executor(None, time.sleep, seconds)

    def _takes_config(self, node: NodeSpec) -> bool:
        takes = self._config_takers.get(node.name)
        if takes is None:
            takes = self._config_takers[node.name] = node.wants_config or any(
                b.wants_config for b in self.spec.branches.get(node.name, ()))
        return takes

    def node_config(self, task: Task) -> dict[str, Any]:
        configurable = dict(self.opts.config.get("configurable", {}))
        configurable["checkpoint_ns"] = task.ns
        if self.opts.thread_id is not None:
            configurable["thread_id"] = self.opts.thread_id
        return {**self.opts.config, "configurable": configurable, "metadata": dict(self.opts.metadata),
                "recursion_limit": self.opts.recursion_limit}

    async def _call_node(self, node: NodeSpec, node_input: Any, config: dict[str, Any], scope: TaskScope,
                         inline: bool) -> Any:
        token = current_task.set(scope)
        try:
            if node.is_subgraph:
                return await node.action._run_nested(node_input, scope)
            args = (node_input,)
            writer = scope.writer or Runtime.stream_writer
            kwargs: dict[str, Any] = {"config": config} if node.wants_config else {}
            if node.wants_runtime:
                kwargs["runtime"] = Runtime(context=self.opts.context, stream_writer=writer)
            if node.wants_writer:
                kwargs["writer"] = writer
            if node.is_async:
                return await node.action(*args, **kwargs)
            if inline and self.opts.inline_sync:
                try:
                    return node.action(*args, **kwargs)
                finally:
                    if self.threads is not None:  # this thread would only wait for its siblings: it helps
                        self.threads.run_queued_here()
            ctx = contextvars.copy_context()
            if self.threads is None:
                assert self.loop is not None
                self.threads = ThreadBatch(self.loop)  # on the loop's thread: this task runs there
            return await self.threads.call(functools.partial(ctx.run, node.action, *args, **kwargs))
        finally:
            current_task.reset(token)
