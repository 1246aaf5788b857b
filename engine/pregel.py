"""CompiledGraph: run a validated graph (invoke/stream, sync and async) and read or edit its threads."""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .errors import ConfigError, InvalidUpdateError
from .interrupts import GraphInterrupt, TaskScope, current_task
from .loop import INTERRUPT_KEY, PULL, Checkpoint, Run, RunOptions, build_tasks, interrupt_from_json
from .runtime import coerce_context
from .types import START, Interrupt, PregelTask, StateSnapshot

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer
    from .graph import GraphSpec, StateGraph

T = TypeVar("T")
DEFAULT_RECURSION_LIMIT = 25
_THREAD_REQUIRED = (
    "Checkpointer requires one or more of the following 'configurable' keys: thread_id, checkpoint_ns, checkpoint_id"
)
_thread_loops = threading.local()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, wherever that code runs."""
    if _running_loop() is not None:
        # Called synchronously from inside a running loop (a sync node of a sync run calling
        # another graph): run on a fresh loop in a helper thread, keeping the context.
        ctx = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(ctx.run, asyncio.run, coro).result()
    scope = current_task.get()
    if scope is not None and scope.loop is not None and scope.loop.is_running():
        # A sync node running in a worker thread of an async run: use the run's own loop, so
        # loop-bound clients (Redis connections) keep working.
        return asyncio.run_coroutine_threadsafe(coro, scope.loop).result()
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _thread_loops.loop = loop
    return loop.run_until_complete(coro)


def _iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    while True:
        try:
            yield _run_sync(agen.__anext__())  # type: ignore[arg-type]
        except StopAsyncIteration:
            return


def _error_object(record: dict[str, Any]) -> Exception:
    cls = getattr(builtins, record.get("type", ""), None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(record.get("message", ""))
        except Exception:  # noqa: BLE001 - exotic constructors: fall back to a plain Exception
            pass
    return Exception(f"{record.get('type')}: {record.get('message')}")


class CompiledGraph:
    """A graph ready to run. Immutable: `with_checkpointer` returns a copy."""

    def __init__(
        self,
        *,
        spec: GraphSpec,
        builder: StateGraph,
        checkpointer: Checkpointer | None | Literal[False],
        interrupt_before: Any,
        interrupt_after: Any,
        name: str,
    ) -> None:
        self.spec = spec
        self.builder = builder
        self.checkpointer = checkpointer
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.name = name

    def with_checkpointer(self, checkpointer: Checkpointer | None) -> CompiledGraph:
        clone = object.__new__(CompiledGraph)
        clone.__dict__.update(self.__dict__)
        clone.checkpointer = checkpointer
        return clone

    @property
    def nodes(self) -> dict[str, Any]:
        return {name: node.action for name, node in self.spec.nodes.items()}

    # -- running -------------------------------------------------------------------------------
    def _saver(self) -> Checkpointer | None:
        return self.checkpointer or None

    def _options(self, config: dict[str, Any] | None, interrupt_before: Any, interrupt_after: Any,
                 inline_sync: bool, context: Any = None, custom: bool = False) -> RunOptions:
        config = dict(config or {})
        configurable = dict(config.get("configurable") or {})
        scope = current_task.get()
        nested = scope is not None and "thread_id" not in configurable
        saver = self._saver()
        if nested and scope is not None:
            saver = saver if self.checkpointer else (None if self.checkpointer is False else scope.checkpointer)
            thread_id: str | None = scope.thread_id
            ns = scope.ns
            inline_sync = bool(scope.extra.get("inline_sync", inline_sync))
            if context is None:
                context = scope.extra.get("context")  # a subgraph sees its parent's run context
        else:
            thread_id = configurable.get("thread_id")
            ns = configurable.get("checkpoint_ns", "") or ""
            if saver is not None and thread_id is None:
                raise ConfigError(_THREAD_REQUIRED)
        thread_id = None if thread_id is None else str(thread_id)
        return RunOptions(
            config=config,
            thread_id=thread_id,
            checkpoint_id=None if nested else configurable.get("checkpoint_id"),
            ns=ns,
            checkpointer=saver,
            interrupt_before=self._breakpoints(self.interrupt_before_nodes, interrupt_before),
            interrupt_after=self._breakpoints(self.interrupt_after_nodes, interrupt_after),
            recursion_limit=int(config.get("recursion_limit", DEFAULT_RECURSION_LIMIT)),
            inline_sync=inline_sync,
            nested=nested,
            parent_resumes=dict(scope.resumes) if nested and scope is not None else {},
            metadata=dict(config.get("metadata") or {}),
            context=coerce_context(self.spec.context_schema, context),
            custom=custom and not nested,  # as in LangGraph, a subgraph's writes stay in the subgraph
        )

    def _breakpoints(self, compiled: Any, per_run: Any) -> Any:
        if per_run is None:
            return compiled
        if per_run == "*":
            return "*"
        per_run = (per_run,) if isinstance(per_run, str) else tuple(per_run)
        unknown = [n for n in per_run if n not in self.spec.nodes]
        if unknown:
            raise ConfigError(f"Interrupt node `{unknown[0]}` not found")
        return per_run

    async def _events(self, input: Any, config: dict[str, Any] | None, interrupt_before: Any,
                      interrupt_after: Any, inline_sync: bool, context: Any = None,
                      custom: bool = False) -> AsyncIterator[tuple[str, Any, Run]]:
        run = Run(self.spec, self._options(config, interrupt_before, interrupt_after, inline_sync, context, custom))
        if run.opts.nested:
            assert (scope := current_task.get()) is not None
            scope.extra["inline_sync"] = inline_sync
        async for mode, chunk in run.stream(input):
            yield mode, chunk, run

    async def _astream(self, input: Any, config: dict[str, Any] | None, stream_mode: Any,
                       interrupt_before: Any, interrupt_after: Any, inline_sync: bool,
                       context: Any = None) -> AsyncIterator[Any]:
        modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
        single = isinstance(stream_mode, str)
        async for mode, chunk, _ in self._events(input, config, interrupt_before, interrupt_after, inline_sync,
                                                 context, "custom" in modes):
            if mode in modes:
                yield chunk if single else (mode, chunk)

    def astream(self, input: Any, config: dict[str, Any] | None = None, *, stream_mode: Any = "updates",
                interrupt_before: Sequence[str] | str | None = None, interrupt_after: Sequence[str] | str | None = None,
                context: Any = None, **_: Any) -> AsyncIterator[Any]:
        return self._astream(input, config, stream_mode or "updates", interrupt_before, interrupt_after, False,
                             context)

    def stream(self, input: Any, config: dict[str, Any] | None = None, *, stream_mode: Any = "updates",
               interrupt_before: Sequence[str] | str | None = None, interrupt_after: Sequence[str] | str | None = None,
               context: Any = None, **_: Any) -> Iterator[Any]:
        agen = self._astream(input, config, stream_mode or "updates", interrupt_before, interrupt_after, True, context)
        return _iterate_sync(agen)

    async def _ainvoke(self, input: Any, config: dict[str, Any] | None, interrupt_before: Any,
                       interrupt_after: Any, inline_sync: bool, context: Any = None) -> dict[str, Any]:
        latest: dict[str, Any] = {}
        interrupts: list[Interrupt] = []
        async for mode, chunk, _ in self._events(input, config, interrupt_before, interrupt_after, inline_sync,
                                                 context):
            if mode != "values":
                continue
            if INTERRUPT_KEY in chunk:
                interrupts.extend(i for i in chunk[INTERRUPT_KEY] if i not in interrupts)
                chunk = {k: v for k, v in chunk.items() if k != INTERRUPT_KEY}
            latest = chunk
        if self.spec.output_keys is not None:  # output_schema: invoke returns only its keys
            latest = {k: v for k, v in latest.items() if k in self.spec.output_keys}
        if interrupts:
            return {**latest, INTERRUPT_KEY: interrupts}
        return latest

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, *,
                      interrupt_before: Sequence[str] | str | None = None,
                      interrupt_after: Sequence[str] | str | None = None, context: Any = None,
                      **_: Any) -> dict[str, Any]:
        return await self._ainvoke(input, config, interrupt_before, interrupt_after, False, context)

    def invoke(self, input: Any, config: dict[str, Any] | None = None, *,
               interrupt_before: Sequence[str] | str | None = None,
               interrupt_after: Sequence[str] | str | None = None, context: Any = None,
               **_: Any) -> dict[str, Any]:
        return _run_sync(self._ainvoke(input, config, interrupt_before, interrupt_after, True, context))

    async def _run_nested(self, input: Any, scope: TaskScope) -> dict[str, Any]:
        """Run as a node of a parent graph: its pauses become the parent task's pauses."""
        result = await self._ainvoke(input, None, None, None, bool(scope.extra.get("inline_sync", False)))
        interrupts = result.pop(INTERRUPT_KEY, None)
        if interrupts:
            raise GraphInterrupt(tuple(interrupts))
        return result

    # -- reading and editing threads -----------------------------------------------------------
    def _thread(self, config: dict[str, Any]) -> tuple[Checkpointer, str, str, str | None]:
        saver = self._saver()
        if saver is None:
            raise ConfigError("No checkpointer set: compile the graph with checkpointer=... to read or update state")
        configurable = (config or {}).get("configurable") or {}
        if configurable.get("thread_id") is None:
            raise ConfigError(_THREAD_REQUIRED)
        return saver, str(configurable["thread_id"]), configurable.get("checkpoint_ns", "") or "", configurable.get("checkpoint_id")

    def _reader(self, saver: Checkpointer, thread_id: str, ns: str) -> Run:
        options = RunOptions(config={}, thread_id=thread_id, checkpoint_id=None, ns=ns, checkpointer=saver,
                             interrupt_before=(), interrupt_after=(), recursion_limit=DEFAULT_RECURSION_LIMIT,
                             inline_sync=False, nested=False, parent_resumes={}, metadata={})
        return Run(self.spec, options)

    def _snapshot(self, run: Run, cp: Checkpoint, thread_id: str, ns: str, live: bool) -> StateSnapshot:
        tasks = build_tasks(cp, ns)
        raised = {
            # The live view hides the pauses of tasks that have since finished; history keeps them.
            task.id: () if live and f"done:{task.id}" in cp.writes
            else tuple(interrupt_from_json(r) for r in cp.writes.get(f"int:{task.id}", ()))
            for task in tasks
        }
        records = []
        for task in tasks:
            done = cp.writes.get(f"done:{task.id}")
            err = cp.writes.get(f"err:{task.id}")
            node = self.spec.nodes.get(task.name)
            state = (
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": task.ns}}
                if node is not None and node.is_subgraph else None
            )
            records.append(PregelTask(
                id=task.id, name=task.name, path=task.path,
                error=_error_object(err) if err else None,
                interrupts=raised[task.id],
                state=state,
                result=done["update"] if done else None,
            ))
        if live:
            values = run._live_values(cp)
            nxt = tuple(t.name for t in tasks if f"done:{t.id}" not in cp.writes)
        else:
            values = dict(cp.values)
            nxt = tuple(t.name for t in tasks)

        def cfg(checkpoint_id: str) -> dict[str, Any]:
            return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}

        return StateSnapshot(
            values=values,
            next=nxt,
            config=cfg(cp.id),
            metadata=cp.full_metadata(),
            created_at=cp.created_at,
            parent_config=cfg(cp.parent_id) if cp.parent_id else None,
            tasks=tuple(records),
            interrupts=tuple(i for task in tasks for i in raised[task.id]),
        )

    async def aget_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        saver, thread_id, ns, checkpoint_id = self._thread(config)
        saved = await saver.load(thread_id, ns, checkpoint_id)
        if saved is None:
            return StateSnapshot({}, (), config, None, None, None, (), ())
        snapshot = self._snapshot(self._reader(saver, thread_id, ns), Checkpoint.decode(saved), thread_id, ns, live=True)
        if subgraphs:
            snapshot = await self._with_subgraph_states(snapshot, saver)
        return snapshot

    async def _with_subgraph_states(self, snapshot: StateSnapshot, saver: Checkpointer) -> StateSnapshot:
        """Each pending subgraph task's `state` as the subgraph's own snapshot, recursively."""
        tasks = []
        for task in snapshot.tasks:
            node = self.spec.nodes.get(task.name)
            if node is not None and node.is_subgraph and isinstance(task.state, dict):
                sub = node.action.with_checkpointer(saver)
                inner = await sub.aget_state(task.state, subgraphs=True)
                if inner.config.get("configurable", {}).get("checkpoint_id"):
                    task = task._replace(state=inner)
            tasks.append(task)
        return snapshot._replace(tasks=tuple(tasks))

    def get_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        return _run_sync(self.aget_state(config, subgraphs=subgraphs))

    async def aget_state_history(self, config: dict[str, Any], *, filter: dict[str, Any] | None = None,
                                 before: dict[str, Any] | None = None, limit: int | None = None) -> AsyncIterator[StateSnapshot]:
        saver, thread_id, ns, _ = self._thread(config)
        before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
        fetch_limit = None if filter else limit
        saved_list = await saver.history(thread_id, ns, limit=fetch_limit, before=before_id)
        reader = self._reader(saver, thread_id, ns)
        count = 0
        for saved in saved_list:
            cp = Checkpoint.decode(saved)
            meta = cp.full_metadata()
            if filter and any(meta.get(k) != v for k, v in filter.items()):
                continue
            yield self._snapshot(reader, cp, thread_id, ns, live=False)
            count += 1
            if limit is not None and count >= limit:
                return

    def get_state_history(self, config: dict[str, Any], *, filter: dict[str, Any] | None = None,
                          before: dict[str, Any] | None = None, limit: int | None = None) -> Iterator[StateSnapshot]:
        return _iterate_sync(self.aget_state_history(config, filter=filter, before=before, limit=limit))

    async def aupdate_state(self, config: dict[str, Any], values: Any, as_node: str | None = None) -> dict[str, Any]:
        saver, thread_id, ns, checkpoint_id = self._thread(config)
        run = self._reader(saver, thread_id, ns)
        run.opts = replace(run.opts, checkpoint_id=checkpoint_id, config=dict(config))
        base = await run.load()
        if as_node is not None and as_node != START and as_node not in self.spec.nodes:
            raise InvalidUpdateError(f"Node {as_node} does not exist")
        if as_node is None:
            last = [n for n in (base.last if base else [])]
            if not last:
                as_node = START
            elif len(set(last)) > 1:
                raise InvalidUpdateError("Ambiguous update, specify as_node")
            else:
                as_node = last[0]
        current = run._read_values(base) if base else self.spec.schema.initial_values()
        update = self.spec.schema.update_from(values, as_node) if values is not None else None
        writes = list((update or {}).items())
        triggers = await run._triggers(as_node, current, writes, None, [])
        new_values = dict(current)
        self.spec.schema.apply(new_values, writes)
        tasks, barriers = run._next_tasks([(as_node, triggers)], base.barriers if base else {})
        step = base.step + 1 if base else 0
        checkpoint = run._new_checkpoint(base, new_values, tasks, barriers, step, "update", [as_node])
        await run._save(checkpoint)
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint.id}}

    def update_state(self, config: dict[str, Any], values: Any, as_node: str | None = None) -> dict[str, Any]:
        return _run_sync(self.aupdate_state(config, values, as_node))


__all__ = ["CompiledGraph", "PULL"]
