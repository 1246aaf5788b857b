"""TaskRunner: run one task of a superstep and turn what its node returned into writes and triggers.

A node runs in its own TaskScope (what `interrupt()` and `get_stream_writer()` see), is retried
as its RetryPolicy says, and may return a state update, a Command, or a list of Commands. A sync
node runs in a worker thread unless the caller is itself synchronous.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any

from . import step
from .errors import ParentCommandError
from .interrupts import GraphInterrupt, TaskScope, current_task
from .options import ExecutionOptions
from .record import Checkpoint
from .runtime import Runtime
from .spec import GraphSpec, NodeSpec
from .step import NO_ARG, Task, TaskOutcome
from .types import START, Command


class TaskRunner:
    def __init__(self, spec: GraphSpec, opts: ExecutionOptions, loop: asyncio.AbstractEventLoop | None,
                 writer: Callable[[Any], None] | None) -> None:
        self.spec = spec
        self.schema = spec.schema
        self.opts = opts
        self.loop = loop
        self.writer = writer

    async def run(self, checkpoint: Checkpoint, task: Task, values: dict[str, Any]) -> TaskOutcome:
        if task.name == START:
            update = task.arg if task.arg is not NO_ARG else {}
            writes = list(update.items())
            return TaskOutcome(writes, await step.triggers(self.spec, START, values, writes, None, []), None)
        node = self.spec.nodes[task.name]
        resumes = checkpoint.answers(task.id)
        config = self.node_config(task)
        node_input = task.arg if task.arg is not NO_ARG else (
            dict(values) if node.is_subgraph else self.schema.to_node_input(values)
        )
        attempt = 1
        try:
            while True:
                scope = TaskScope(
                    ns=task.ns, task_id=task.id, thread_id=self.opts.thread_id, checkpointer=self.opts.checkpointer,
                    resumes=resumes, config=config, loop=self.loop, context=self.opts.context, writer=self.writer,
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
        targets = await step.triggers(self.spec, task.name, values, writes, config, goto)
        return TaskOutcome(writes, targets, update)

    def _command_update(self, update: Any, node: str) -> dict[str, Any] | None:
        if update is None:
            return None
        if isinstance(update, (list, tuple)):
            return self.schema.update_from(dict(update), node)
        return self.schema.update_from(update, node)

    def node_config(self, task: Task) -> dict[str, Any]:
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
            writer = scope.writer or Runtime.stream_writer
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
