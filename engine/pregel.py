"""CompiledGraph: run a validated graph (invoke/stream, sync and async); its thread state API is
in thread_state.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing
from types import GenericAlias
from typing import TYPE_CHECKING, Any, Literal

from .checkpoint.memory import InMemorySaver
from .errors import ConfigError
from .interrupts import GraphInterrupt, TaskScope, current_task
from .loop import GraphExecution
from .options import ExecutionOptions
from .run_end import RunEnd
from .runtime import coerce_context
from .spec import GraphSpec
from .step import INTERRUPT_KEY, PULL
from .subgraphs import SUBGRAPH_EVENT, Replay, SubgraphStream, stable_ns, stream_ns
from .sync import iterate_sync, run_sync
from .thread_state import THREAD_REQUIRED, ThreadStateAPI
from .types import Interrupt

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer

DEFAULT_RECURSION_LIMIT = 25
LOCATING = frozenset({"checkpoint_id", "checkpoint_ns", "checkpoint_map"})  # a subgraph's own, not its caller's


class CompiledGraph(ThreadStateAPI):
    """A graph ready to run. Immutable: `with_checkpointer` returns a copy."""

    def __init__(
        self,
        *,
        spec: GraphSpec,
        builder: Any,  # the StateGraph it was compiled from
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
        self.config: dict[str, Any] = {}  # defaults every call's config is merged into (with_config)

    def __class_getitem__(cls, item: Any) -> GenericAlias:
        return GenericAlias(cls, item)

    def copy(self, update: dict[str, Any] | None = None) -> CompiledGraph:
        """A copy of this compiled graph, with the attributes in `update` replaced."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(update or {})
        return clone

    def with_checkpointer(self, checkpointer: Checkpointer | None) -> CompiledGraph:
        return self.copy({"checkpointer": checkpointer})

    def with_config(self, config: dict[str, Any] | None = None, **kwargs: Any) -> CompiledGraph:
        """A copy whose calls start from `config` (merged as LangGraph merges configs)."""
        return self.copy({"config": merge_configs(self.config, config or {}, kwargs)})

    @property
    def nodes(self) -> dict[str, Any]:
        return {name: node.action for name, node in self.spec.nodes.items()}

    # -- running -------------------------------------------------------------------------------
    def _options(self, config: dict[str, Any] | None, interrupt_before: Any, interrupt_after: Any,
                 inline_sync: bool, context: Any = None, stream: SubgraphStream | None = None) -> ExecutionOptions:
        config = merge_configs(self.config, config or {})
        configurable = dict(config.get("configurable") or {})
        scope = current_task.get()
        # A graph run inside a node, on that node's thread (or on none), is a subgraph of its graph.
        nested = scope is not None and configurable.get("thread_id") in (None, scope.thread_id)
        checkpoint_id = configurable.get("checkpoint_id")
        replay: Replay | None = None
        if nested and scope is not None:
            # A subgraph keeps its checkpoints in its caller's checkpointer (none with checkpointer=False).
            saver = None if self.checkpointer is False else scope.checkpointer
            thread_id: str | None = scope.thread_id
            ns = scope.ns if not scope.graph_calls else f"{scope.ns}|{scope.graph_calls}"
            scope.graph_calls += 1
            ns = stable_ns(ns) if self.checkpointer is True else ns
            checkpoint_id, stream, replay = None, scope.stream, scope.replay
            inline_sync = scope.inline_sync if scope.inline_sync is not None else inline_sync
            if context is None:
                context = scope.context  # a subgraph sees its parent's run context
            # Its nodes see, and its checkpoints record, its caller's configurable values and metadata.
            inherited = {k: v for k, v in (scope.config.get("configurable") or {}).items() if k not in LOCATING}
            config = merge_configs({"configurable": inherited, "metadata": scope.config.get("metadata") or {}}, config)
            if "tags" not in config and scope.config.get("tags"):
                config["tags"] = list(scope.config["tags"])  # and its parent's tags
            if "max_concurrency" not in config and "max_concurrency" in scope.config:
                config["max_concurrency"] = scope.config["max_concurrency"]  # and its parent's limit
        else:
            saver = self._saver()
            thread_id = configurable.get("thread_id")
            ns = configurable.get("checkpoint_ns", "") or ""
            if saver is not None and thread_id is None:
                raise ConfigError(THREAD_REQUIRED)
            targets = configurable.get("checkpoint_map")
            if ns and isinstance(targets, dict) and "" in targets:
                # A subgraph's snapshot config: replay its checkpoint inside the root checkpoint it belongs to.
                checkpoint_id = targets[""]
                replay = Replay(None, {k: v for k, v in targets.items() if k})
            elif ns:
                checkpoint_id = None  # as in LangGraph, a run starts from the root graph's head
            ns = ""
        thread_id = None if thread_id is None else str(thread_id)
        return ExecutionOptions(
            config=config,
            thread_id=thread_id,
            checkpoint_id=checkpoint_id,
            ns=ns,
            checkpointer=saver,
            interrupt_before=self._breakpoints(self.interrupt_before_nodes, interrupt_before),
            interrupt_after=self._breakpoints(self.interrupt_after_nodes, interrupt_after),
            recursion_limit=recursion_limit(config),
            max_concurrency=max_concurrency(config),
            inline_sync=inline_sync,
            nested=nested,
            parent_resumes=dict(scope.resumes) if nested and scope is not None else {},
            metadata=dict(config.get("metadata") or {}),
            context=coerce_context(self.spec.context_schema, context),
            stream=stream,
            replay=replay,
            resuming_parent=bool(nested and scope is not None and scope.resuming),
            parents=dict(scope.parents) if nested and scope is not None else {},
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

    def _execution(self, config: dict[str, Any] | None, interrupt_before: Any, interrupt_after: Any,
                   inline_sync: bool, context: Any = None, live: tuple[frozenset[str], bool] | None = None,
                   ) -> tuple[GraphExecution, SubgraphStream | None, tuple[str, ...]]:
        """The run, and where its events go besides its caller: `live` (modes, subgraphs) asks for
        custom writes and subgraphs' chunks; a subgraph's chunks go to its caller's stream (with its ns)."""
        sink = None
        if live is not None and ("custom" in live[0] or "updates" in live[0] or live[1]):
            sink = SubgraphStream(asyncio.get_running_loop(), asyncio.Queue(), live[0], live[1])
        execution = GraphExecution(
            self.spec, self._options(config, interrupt_before, interrupt_after, inline_sync, context, sink)
        )
        forward, ns = None, stream_ns(execution.opts.ns)
        if execution.opts.nested:
            assert (scope := current_task.get()) is not None
            scope.inline_sync = inline_sync
            if execution.opts.stream is not None and execution.opts.stream.subgraphs:
                forward = execution.opts.stream  # this subgraph's chunks go to the caller's stream
        # invoke reads "values" only: unless a caller's stream takes them, task updates go unbuilt.
        execution.opts.emit_updates = live is not None or forward is not None
        return execution, forward, ns

    async def _events(self, input: Any, config: dict[str, Any] | None, interrupt_before: Any,
                      interrupt_after: Any, inline_sync: bool, context: Any,
                      live: tuple[frozenset[str], bool], run_end: RunEnd | None = None,
                      ) -> AsyncGenerator[tuple[str, Any], None]:
        """The run's events, for a stream; `run_end` is given where the run left the thread, once its
        stream ended without error (a root graph's run on a stored thread only)."""
        execution, forward, ns = self._execution(config, interrupt_before, interrupt_after, inline_sync, context, live)
        if run_end is not None:
            run_end.clear()
            execution.opts.run_end = run_end
        async with aclosing(execution.stream(input)) as events:  # closed with this stream (loop.py)
            async for mode, chunk in events:
                if forward is not None:
                    forward.put(ns, mode, chunk)
                yield mode, chunk

    async def _astream(self, input: Any, config: dict[str, Any] | None, stream_mode: Any,
                       interrupt_before: Any, interrupt_after: Any, inline_sync: bool,
                       context: Any = None, subgraphs: bool = False,
                       run_end: RunEnd | None = None) -> AsyncGenerator[Any, None]:
        modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
        single = isinstance(stream_mode, str)
        async with aclosing(self._events(input, config, interrupt_before, interrupt_after, inline_sync, context,
                                         (frozenset(modes), subgraphs), run_end)) as events:
            async for mode, chunk in events:
                ns: tuple[str, ...] = ()
                if mode == SUBGRAPH_EVENT:
                    ns, mode, chunk = chunk
                if mode not in modes:
                    continue
                if subgraphs:
                    yield (ns, chunk) if single else (ns, mode, chunk)
                else:
                    yield chunk if single else (mode, chunk)

    def astream(self, input: Any, config: dict[str, Any] | None = None, *, stream_mode: Any = "updates",
                interrupt_before: Sequence[str] | str | None = None, interrupt_after: Sequence[str] | str | None = None,
                context: Any = None, subgraphs: bool = False, run_end: RunEnd | None = None,
                **_: Any) -> AsyncIterator[Any]:
        """Stream the run; with `subgraphs=True` each chunk comes as (namespace, chunk), the
        namespace a tuple naming the subgraph it came from (() for this graph). `run_end` (Sluice's
        own): filled with where the run left the thread, for `aget_state_recalled`."""
        return self._astream(input, config, stream_mode or "updates", interrupt_before, interrupt_after, False,
                             context, subgraphs, run_end)

    def stream(self, input: Any, config: dict[str, Any] | None = None, *, stream_mode: Any = "updates",
               interrupt_before: Sequence[str] | str | None = None, interrupt_after: Sequence[str] | str | None = None,
               context: Any = None, subgraphs: bool = False, **_: Any) -> Iterator[Any]:
        agen = self._astream(input, config, stream_mode or "updates", interrupt_before, interrupt_after, True, context,
                             subgraphs)
        return iterate_sync(agen, eager=self._never_waits())

    async def _ainvoke(self, input: Any, config: dict[str, Any] | None, interrupt_before: Any,
                       interrupt_after: Any, inline_sync: bool, context: Any = None) -> Any:
        root = self.spec.schema.kind == "root"
        latest: Any = None if root else {}
        interrupts: list[Interrupt] = []
        # The run's events read here directly (no relaying generator between: a hop per event).
        execution, forward, ns = self._execution(config, interrupt_before, interrupt_after, inline_sync, context)
        async for mode, chunk in execution.stream(input):
            if forward is not None:
                forward.put(ns, mode, chunk)
            if mode != "values":
                continue
            if isinstance(chunk, dict) and INTERRUPT_KEY in chunk:
                interrupts.extend(i for i in chunk[INTERRUPT_KEY] if i not in interrupts)
                if root:
                    continue
                chunk = {k: v for k, v in chunk.items() if k != INTERRUPT_KEY}
            latest = chunk
        if not root and self.spec.output_keys is not None:  # invoke returns the output schema's keys only
            latest = {k: v for k, v in latest.items() if k in self.spec.output_keys}
        if interrupts:
            return {**latest, INTERRUPT_KEY: interrupts} if isinstance(latest, dict) else {INTERRUPT_KEY: interrupts}
        return latest

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, *,
                      interrupt_before: Sequence[str] | str | None = None,
                      interrupt_after: Sequence[str] | str | None = None, context: Any = None,
                      **_: Any) -> Any:
        return await self._ainvoke(input, config, interrupt_before, interrupt_after, False, context)

    def invoke(self, input: Any, config: dict[str, Any] | None = None, *,
               interrupt_before: Sequence[str] | str | None = None,
               interrupt_after: Sequence[str] | str | None = None, context: Any = None,
               **_: Any) -> Any:
        return run_sync(self._ainvoke(input, config, interrupt_before, interrupt_after, True, context),
                        eager=self._never_waits(), self_contained=True)

    def _never_waits(self) -> bool:
        """Whether a sync call may start outside the event loop (sync.run_sync's `eager`): only the
        engine, the in-memory saver and sync user code run before it first waits, none of which
        needs a loop task. An async node, routing function or checkpointer might (asyncio.timeout)."""
        saver = self.checkpointer
        if not (saver is None or saver is False or type(saver) is InMemorySaver):
            return False
        sync_only: bool | None = self.__dict__.get("_sync_only")
        if sync_only is None:
            sync_only = self.__dict__["_sync_only"] = all_sync(self.spec)
        return sync_only

    async def _run_nested(self, input: Any, scope: TaskScope) -> Any:
        """Run as a node of a parent graph: its pauses become the parent task's pauses."""
        result = await self._ainvoke(input, None, None, None, bool(scope.inline_sync))
        interrupts = result.pop(INTERRUPT_KEY, None) if isinstance(result, dict) else None
        if interrupts:
            raise GraphInterrupt(tuple(interrupts))
        return result


def recursion_limit(config: dict[str, Any]) -> int:
    """The config's `recursion_limit` (None: the default); below 1 it is refused before anything runs or
    is stored, with LangGraph's words."""
    limit = config.get("recursion_limit")
    if limit is None:
        return DEFAULT_RECURSION_LIMIT
    if not isinstance(limit, (int, float)):
        raise TypeError(f"recursion_limit must be a number, not {limit!r}")  # as LangGraph, a TypeError
    if limit < 1:
        raise ConfigError("recursion_limit must be at least 1")
    return int(limit)


def max_concurrency(config: dict[str, Any]) -> int | None:
    """The config's `max_concurrency`: None or 0 sets no limit (as in LangGraph)."""
    limit = config.get("max_concurrency")
    if limit is None or limit == 0:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigError(f"max_concurrency must be a whole number >= 0 (0 or None: no limit), not {limit!r}")
    return limit


def all_sync(spec: GraphSpec) -> bool:
    """Whether every node and routing function of the graph, and of its subgraphs, is sync."""
    for node in spec.nodes.values():
        if node.is_subgraph:
            inner = getattr(node.action, "spec", None)
            if not isinstance(inner, GraphSpec) or not all_sync(inner):
                return False
        elif node.is_async:
            return False
    return not any(b.is_async for branches in spec.branches.values() for b in branches)


def merge_configs(*configs: dict[str, Any]) -> dict[str, Any]:
    """Later configs win; `configurable` and `metadata` merge key by key, `tags` add up."""
    out: dict[str, Any] = {}
    for config in configs:
        for key, value in config.items():
            if key in ("configurable", "metadata") and isinstance(out.get(key), dict):
                out[key] = {**out[key], **(value or {})}
            elif key == "tags" and out.get("tags"):
                out["tags"] = [*out["tags"], *(t for t in value or () if t not in out["tags"])]
            else:
                out[key] = dict(value) if isinstance(value, dict) else value
    return out


__all__ = ["CompiledGraph", "PULL", "merge_configs"]
