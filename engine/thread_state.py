"""Reading and editing a thread's state: get_state, get_state_history, update_state.

A base class of CompiledGraph; it reads checkpoints through the same step maths the loop runs
(step.py), so a snapshot shows exactly what a run continuing from it would do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import step
from .chain import ThreadChain
from .errors import ConfigError
from .record import Checkpoint
from .spec import GraphSpec
from .step import NO_ARG
from .sync import iterate_sync, run_sync
from .types import START, PregelTask, StateSnapshot
from .updates import as_updates, superstep

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer

THREAD_REQUIRED = (
    "Checkpointer requires one or more of the following 'configurable' keys: thread_id, checkpoint_ns, checkpoint_id"
)


def _error_text(record: dict[str, Any]) -> str:
    """A failed task's error as LangGraph's state shows it: the repr of the exception it raised."""
    if "repr" in record:
        return str(record["repr"])
    return f"{record.get('type')}({record.get('message', '')!r})"  # records written before the repr was kept


class ThreadStateAPI:
    spec: GraphSpec
    checkpointer: Checkpointer | None | Literal[False]

    def _saver(self) -> Checkpointer | None:
        return self.checkpointer or None

    def _thread(self, config: dict[str, Any]) -> tuple[Checkpointer, str, str, str | None]:
        saver = self._saver()
        if saver is None:
            raise ConfigError("No checkpointer set: compile the graph with checkpointer=... to read or update state")
        configurable = (config or {}).get("configurable") or {}
        if configurable.get("thread_id") is None:
            raise ConfigError(THREAD_REQUIRED)
        return saver, str(configurable["thread_id"]), configurable.get("checkpoint_ns", "") or "", configurable.get("checkpoint_id")

    def _snapshot(self, cp: Checkpoint, thread_id: str, ns: str, live: bool,
                  results: dict[str, Any] | None = None) -> StateSnapshot:
        """The snapshot of `cp`; `results`: what its tasks returned, kept by the checkpoints after it."""
        tasks = step.build_tasks(cp, ns)
        raised = {
            # The live view hides the pauses of tasks that have since finished; history keeps them.
            task.id: () if live and cp.is_done(task.id) else tuple(cp.raised(task.id))
            for task in tasks
        }
        records = []
        for task in tasks:
            done = cp.outcome(task.id)
            err = cp.error(task.id)
            if done is None and results and task.id in results:
                done = {"update": results[task.id]}
            node = self.spec.nodes.get(task.name)
            state = (
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": task.ns}}
                if node is not None and node.is_subgraph else None
            )
            records.append(PregelTask(
                id=task.id, name=task.name, path=task.path,
                error=_error_text(err) if err else None,
                interrupts=raised[task.id],
                state=state,
                result=done["update"] if done else self._input_of(task),
            ))
        schema = self.spec.schema
        if live:
            values = schema.output(step.live_values(schema, cp, ns))
            nxt = tuple(t.name for t in tasks if not cp.is_done(t.id))
        else:
            values = schema.output(cp.values)
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

    def _input_of(self, task: step.Task) -> Any:
        """A START task's result is the input it carries."""
        if task.name != START or task.arg is NO_ARG:
            return None
        return self.spec.schema.output(task.arg)

    async def aget_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        saver, thread_id, ns, checkpoint_id = self._thread(config)
        saved = await saver.load(thread_id, ns, checkpoint_id)
        if saved is None:
            return StateSnapshot({}, (), config, None, None, None, (), ())
        # The head as it stands now; a checkpoint asked for by id is the record of its step.
        snapshot = self._snapshot(Checkpoint.decode(saved), thread_id, ns, live=checkpoint_id is None)
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
        return run_sync(self.aget_state(config, subgraphs=subgraphs))

    async def aget_state_history(self, config: dict[str, Any], *, filter: dict[str, Any] | None = None,
                                 before: dict[str, Any] | None = None, limit: int | None = None) -> AsyncIterator[StateSnapshot]:
        saver, thread_id, ns, _ = self._thread(config)
        before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
        fetch_limit = None if filter else limit
        saved_list = await saver.history(thread_id, ns, limit=fetch_limit, before=before_id)
        count = 0
        checkpoints = [Checkpoint.decode(saved) for saved in saved_list]
        results: dict[str, dict[str, Any]] = {}  # checkpoint id -> its tasks' results, from its children
        for child in checkpoints:
            if child.parent_id is not None and child.parent_results:
                results.setdefault(child.parent_id, {}).update(child.parent_results)
        for cp in checkpoints:
            meta = cp.full_metadata()
            if filter and any(meta.get(k) != v for k, v in filter.items()):
                continue
            yield self._snapshot(cp, thread_id, ns, live=False, results=results.get(cp.id))
            count += 1
            if limit is not None and count >= limit:
                return

    def get_state_history(self, config: dict[str, Any], *, filter: dict[str, Any] | None = None,
                          before: dict[str, Any] | None = None, limit: int | None = None) -> Iterator[StateSnapshot]:
        return iterate_sync(self.aget_state_history(config, filter=filter, before=before, limit=limit))

    async def abulk_update_state(self, config: dict[str, Any], supersteps: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """Apply supersteps of updates in order, each one checkpoint (see updates.py)."""
        if len(supersteps) == 0:
            raise ConfigError("No supersteps provided")
        if any(len(u) == 0 for u in supersteps):
            raise ConfigError("No updates provided")
        for updates in supersteps:
            saver, thread_id, ns, checkpoint_id = self._thread(config)
            chain = ThreadChain(saver, thread_id, ns)
            base = await chain.load(checkpoint_id)
            checkpoint = await superstep(self.spec, chain, base, as_updates(updates))
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint.id}}
        return config

    def bulk_update_state(self, config: dict[str, Any], supersteps: Sequence[Sequence[Any]]) -> dict[str, Any]:
        return run_sync(self.abulk_update_state(config, supersteps))

    async def aupdate_state(self, config: dict[str, Any], values: Any, as_node: str | None = None,
                            task_id: str | None = None) -> dict[str, Any]:
        return await self.abulk_update_state(config, [[(values, as_node, task_id)]])

    def update_state(self, config: dict[str, Any], values: Any, as_node: str | None = None,
                     task_id: str | None = None) -> dict[str, Any]:
        return run_sync(self.aupdate_state(config, values, as_node, task_id))
