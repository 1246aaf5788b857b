"""CompiledGraph: run a validated graph (invoke/stream, sync and async); its thread state API is
in thread_state.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from types import GenericAlias
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError
from .interrupts import GraphInterrupt, TaskScope, current_task
from .loop import GraphExecution
from .options import ExecutionOptions
from .runtime import coerce_context
from .spec import GraphSpec
from .step import INTERRUPT_KEY, PULL
from .sync import iterate_sync, run_sync
from .thread_state import THREAD_REQUIRED, ThreadStateAPI
from .types import Interrupt

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer

DEFAULT_RECURSION_LIMIT = 25


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
                 inline_sync: bool, context: Any = None, custom: bool = False) -> ExecutionOptions:
        config = merge_configs(self.config, config or {})
        configurable = dict(config.get("configurable") or {})
        scope = current_task.get()
        nested = scope is not None and "thread_id" not in configurable
        saver = self._saver()
        if nested and scope is not None:
            saver = saver if self.checkpointer else (None if self.checkpointer is False else scope.checkpointer)
            thread_id: str | None = scope.thread_id
            ns = scope.ns
            inline_sync = scope.inline_sync if scope.inline_sync is not None else inline_sync
            if context is None:
                context = scope.context  # a subgraph sees its parent's run context
            if "tags" not in config and scope.config.get("tags"):
                config["tags"] = list(scope.config["tags"])  # and its parent's tags
        else:
            thread_id = configurable.get("thread_id")
            ns = configurable.get("checkpoint_ns", "") or ""
            if saver is not None and thread_id is None:
                raise ConfigError(THREAD_REQUIRED)
        thread_id = None if thread_id is None else str(thread_id)
        return ExecutionOptions(
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
                      custom: bool = False) -> AsyncIterator[tuple[str, Any, GraphExecution]]:
        execution = GraphExecution(
            self.spec, self._options(config, interrupt_before, interrupt_after, inline_sync, context, custom)
        )
        if execution.opts.nested:
            assert (scope := current_task.get()) is not None
            scope.inline_sync = inline_sync
        async for mode, chunk in execution.stream(input):
            yield mode, chunk, execution

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
        return iterate_sync(agen)

    async def _ainvoke(self, input: Any, config: dict[str, Any] | None, interrupt_before: Any,
                       interrupt_after: Any, inline_sync: bool, context: Any = None) -> Any:
        root = self.spec.schema.kind == "root"
        latest: Any = None if root else {}
        interrupts: list[Interrupt] = []
        async for mode, chunk, _ in self._events(input, config, interrupt_before, interrupt_after, inline_sync,
                                                 context):
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
        return run_sync(self._ainvoke(input, config, interrupt_before, interrupt_after, True, context))

    async def _run_nested(self, input: Any, scope: TaskScope) -> Any:
        """Run as a node of a parent graph: its pauses become the parent task's pauses."""
        result = await self._ainvoke(input, None, None, None, bool(scope.inline_sync))
        interrupts = result.pop(INTERRUPT_KEY, None) if isinstance(result, dict) else None
        if interrupts:
            raise GraphInterrupt(tuple(interrupts))
        return result


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
