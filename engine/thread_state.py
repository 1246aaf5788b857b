"""Reading and editing a thread's state: get_state, get_state_history, update_state.

A base class of CompiledGraph; it reads checkpoints through the same step maths the loop runs
(step.py), so a snapshot shows exactly what a run continuing from it would do. A config whose
`checkpoint_ns` names a subgraph this graph declares is read and edited as that subgraph's state.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import step
from .chain import ThreadChain, checkpoint_metadata
from .errors import ConfigError
from .record import Checkpoint
from .run_end import RunEnd
from .spec import GraphSpec
from .step import NO_ARG, PUSH
from .subgraphs import checkpoint_map, node_path, stable_ns
from .sync import iterate_sync, run_sync
from .types import START, Interrupt, PregelTask, StateSnapshot
from .updates import as_updates, superstep

if TYPE_CHECKING:
    from .checkpoint.base import Checkpointer, SavedCheckpoint

THREAD_REQUIRED = (
    "Checkpointer requires one or more of the following 'configurable' keys: thread_id, checkpoint_ns, checkpoint_id"
)


def _error_text(record: dict[str, Any]) -> str:
    """A failed task's error as LangGraph's state shows it: the repr of the exception it raised."""
    if "repr" in record:
        return str(record["repr"])
    return f"{record.get('type')}({record.get('message', '')!r})"  # records written before the repr was kept


def _config(thread_id: str, ns: str, checkpoint_id: str, parents: dict[str, str]) -> dict[str, Any]:
    """A checkpoint's config; a subgraph's carries `checkpoint_map`, so that running the root graph
    with it replays this checkpoint inside the root checkpoint it belongs to."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}
    if parents:
        configurable["checkpoint_map"] = checkpoint_map(parents, ns, checkpoint_id)
    return {"configurable": configurable}


def graph_of_node(action: Any) -> ThreadStateAPI | None:
    """The graph a node runs: the node itself, or the one its function calls (found, as LangGraph
    finds it, among the compiled graphs the function's code names by closure or global variable)."""
    if isinstance(action, ThreadStateAPI):
        return action
    fn = inspect.unwrap(action) if callable(action) else None
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    cells = dict(zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=False))
    names = getattr(fn, "__globals__", {})
    for name in (*code.co_freevars, *code.co_names):
        try:
            value = cells[name].cell_contents if name in cells else names.get(name)
        except ValueError:  # a closure cell not bound yet
            continue
        if isinstance(value, ThreadStateAPI):
            return value
    return None


def find_subgraph(graph: ThreadStateAPI, ns: str) -> ThreadStateAPI | None:
    """The graph that runs in namespace `ns` under `graph`, if `graph` declares it."""
    for name in node_path(ns):
        node = graph.spec.nodes.get(name)
        sub = graph_of_node(node.action) if node is not None else None
        if sub is None:
            return None
        graph = sub
    return graph


class ThreadStateAPI:
    spec: GraphSpec
    checkpointer: Checkpointer | None | Literal[False]

    def with_checkpointer(self, checkpointer: Checkpointer | None) -> ThreadStateAPI:
        """A copy using `checkpointer` (CompiledGraph's)."""
        raise NotImplementedError

    def _saver(self) -> Checkpointer | None:
        if self.checkpointer is True:
            raise RuntimeError("checkpointer=True cannot be used for root graphs.")
        return self.checkpointer or None

    def _thread(self, config: dict[str, Any]) -> tuple[ThreadStateAPI, Checkpointer, str, str, str | None]:
        """Where `config` points: (the graph whose state it is, saver, thread, namespace, checkpoint
        id); the graph is this one, or a subgraph it declares, lent this graph's checkpointer."""
        saver = self._saver()
        if saver is None:
            raise ConfigError("No checkpointer set: compile the graph with checkpointer=... to read or update state")
        configurable = (config or {}).get("configurable") or {}
        if configurable.get("thread_id") is None:
            raise ConfigError(THREAD_REQUIRED)
        ns = configurable.get("checkpoint_ns", "") or ""
        graph: ThreadStateAPI = self
        if ns and (sub := find_subgraph(self, ns)) is not None:
            graph = sub.with_checkpointer(saver)
            if sub.checkpointer is True:
                ns = stable_ns(ns)  # its one history per thread
        return graph, saver, str(configurable["thread_id"]), ns, configurable.get("checkpoint_id")

    def _snapshot(self, cp: Checkpoint, thread_id: str, ns: str, live: bool,
                  results: dict[str, Any] | None = None, tasks: list[step.Task] | None = None,
                  raised_by: dict[str, tuple[Interrupt, ...]] | None = None) -> StateSnapshot:
        """The snapshot of `cp`; `results`: what its tasks returned, kept by the checkpoints after it;
        `tasks`: its tasks, when the caller built them already (step.build_tasks); `raised_by`: the
        pauses some of them raised, by task id, as the run that wrote their records holds them."""
        if tasks is None:
            tasks = step.build_tasks(self.spec, cp, ns)
        writes = bool(cp.writes)  # none (a head as a step leaves it): no task finished, failed or paused
        records: list[PregelTask] = []
        nxt: list[str] = []
        interrupts: list[Interrupt] = []
        for task in tasks:
            done = cp.outcome(task.id)
            finished = done is not None
            # The live view hides the pauses of tasks that have since finished; history keeps them.
            raised: tuple[Interrupt, ...] = ()
            if writes and not (live and finished):
                raised = raised_by[task.id] if raised_by and task.id in raised_by else tuple(cp.raised(task.id))
            err = cp.error(task.id) if writes else None
            if done is None and results and task.id in results:
                done = {"update": results[task.id]}
            node = self.spec.nodes.get(task.name)
            state = (
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": task.ns}}
                if node is not None and graph_of_node(node.action) is not None else None
            )
            records.append(PregelTask(
                # A Send's task shows LangGraph's path, which adds that it is not a functional-API call.
                id=task.id, name=task.name, path=(*task.path, False) if task.path[0] == PUSH else task.path,
                error=_error_text(err) if err else None,
                interrupts=raised,
                state=state,
                result=done["update"] if done else self._input_of(task),
            ))
            interrupts.extend(raised)
            if not (live and finished):
                nxt.append(task.name)
        schema = self.spec.schema
        values = schema.output(step.live_values(self.spec, cp, ns, tasks=tasks) if live else cp.values)
        return StateSnapshot(
            values=values,
            next=tuple(nxt),
            config=_config(thread_id, ns, cp.id, cp.parents),
            metadata=cp.full_metadata(),
            created_at=cp.created_at,
            parent_config=_config(thread_id, ns, cp.parent_id, cp.parents) if cp.parent_id else None,
            tasks=tuple(records),
            interrupts=tuple(interrupts),
        )

    def _input_of(self, task: step.Task) -> Any:
        """A START task's result is the input it carries."""
        if task.name != START or task.arg is NO_ARG:
            return None
        return self.spec.schema.output(task.arg)

    async def aget_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        graph, saver, thread_id, ns, checkpoint_id = self._thread(config)
        snapshot = await graph._state_at(saver, thread_id, ns, checkpoint_id, subgraphs)
        return snapshot if snapshot is not None else StateSnapshot({}, (), config, None, None, None, (), ())

    async def aget_state_recalled(self, config: dict[str, Any], end: RunEnd | None = None) -> StateSnapshot:
        """`aget_state(config)` of the thread's head as this process's saver last read or wrote it
        (the same record a read would load, decoded the same way), without reading the store; a read
        when the saver remembers no head for it. For a caller that knows no other process wrote the
        thread since: the end of a run it just ran while holding the thread. With that run's `end`,
        while the head is still the run's last checkpoint, the snapshot is made from the checkpoint as
        the run holds it (the same snapshot, without decoding the head or building its tasks again)."""
        graph, saver, thread_id, ns, checkpoint_id = self._thread(config)
        recall = getattr(saver, "recall", None)
        head = recall(thread_id, ns) if recall is not None and checkpoint_id is None else None
        if end is not None and checkpoint_id is None:
            saved = head.checkpoint if head is not None else await saver.load(thread_id, ns)
            ended = graph._ended_snapshot(end, saved, thread_id, ns)
            if ended is not None:
                return ended
        if head is None or head.checkpoint is None:
            return await self.aget_state(config)
        return graph._snapshot(Checkpoint.decode(head.checkpoint), thread_id, ns, live=True)

    def _ended_snapshot(self, end: RunEnd, saved: SavedCheckpoint | None, thread_id: str,
                        ns: str) -> StateSnapshot | None:
        """The snapshot of the head `saved` from the run's `end`, when it is the checkpoint the run holds
        (same id and pending writes) on this graph and thread; else None (read it)."""
        cp = end.checkpoint
        if (cp is None or saved is None or saved.id != cp.id or end.spec is not self.spec
                or end.thread_id != thread_id or end.ns != ns or saved.writes.keys() != cp.writes.keys()):
            return None
        view = cp.saved_view()
        if view is None:
            return None
        return self._snapshot(view, thread_id, ns, live=True, tasks=end.tasks, raised_by=end.raised)

    async def _state_at(self, saver: Checkpointer, thread_id: str, ns: str, checkpoint_id: str | None,
                        subgraphs: bool) -> StateSnapshot | None:
        snapshot: StateSnapshot | None
        if checkpoint_id is None:  # the head as it stands now
            saved = await saver.load(thread_id, ns)
            if saved is None:
                return None
            snapshot = self._snapshot(Checkpoint.decode(saved), thread_id, ns, live=True)
        else:
            # A checkpoint asked for by id is the record of its step, as its history entry shows it: with
            # what its tasks returned, which the checkpoints after it keep.
            found = [s async for s in self._history_at(saver, thread_id, ns, None, None, 1, checkpoint_id)]
            if not found:
                return None
            snapshot = found[0]
        if subgraphs:
            snapshot = await self._with_subgraph_states(snapshot, saver, thread_id)
        return snapshot

    async def _with_subgraph_states(self, snapshot: StateSnapshot, saver: Checkpointer, thread_id: str) -> StateSnapshot:
        """Each pending subgraph task's `state` as the subgraph's own snapshot, recursively."""
        tasks = []
        for task in snapshot.tasks:
            node = self.spec.nodes.get(task.name)
            sub = graph_of_node(node.action) if node is not None else None
            if sub is not None and isinstance(task.state, dict):
                ns = task.state["configurable"]["checkpoint_ns"]
                ns = stable_ns(ns) if sub.checkpointer is True else ns
                inner = await sub.with_checkpointer(saver)._state_at(saver, thread_id, ns, None, True)
                if inner is not None:
                    task = task._replace(state=inner)
            tasks.append(task)
        return snapshot._replace(tasks=tuple(tasks))

    def get_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        return run_sync(self.aget_state(config, subgraphs=subgraphs))

    async def aget_state_history(self, config: dict[str, Any], *, filter: dict[str, Any] | None = None,
                                 before: dict[str, Any] | None = None, limit: int | None = None) -> AsyncGenerator[StateSnapshot, None]:
        """Newest first. A config naming a checkpoint gives that checkpoint alone (as LangGraph's savers
        list it), if it passes `filter` and `before`."""
        graph, saver, thread_id, ns, checkpoint_id = self._thread(config)
        async for snapshot in graph._history_at(saver, thread_id, ns, filter, before, limit, checkpoint_id):
            yield snapshot

    async def _history_at(self, saver: Checkpointer, thread_id: str, ns: str, filter: dict[str, Any] | None,
                          before: dict[str, Any] | None, limit: int | None,
                          only: str | None = None) -> AsyncIterator[StateSnapshot]:
        before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
        # One checkpoint's snapshot needs its children too (they hold its tasks' results): read down to it.
        fetch_limit = None if filter or only else limit
        saved_list = await saver.history(thread_id, ns, limit=fetch_limit, before=before_id)
        count = 0
        checkpoints = [Checkpoint.decode(saved) for saved in saved_list]
        results: dict[str, dict[str, Any]] = {}  # checkpoint id -> its tasks' results, from its children
        for child in checkpoints:
            if child.parent_id is not None and child.parent_results:
                results.setdefault(child.parent_id, {}).update(child.parent_results)
        for cp in checkpoints:
            if only is not None and cp.id != only:
                continue
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
            graph, saver, thread_id, ns, checkpoint_id = self._thread(config)
            # As in LangGraph, the caller's config adds to the first checkpoint's metadata; each later
            # superstep goes on from the config of the checkpoint before it, which adds nothing.
            chain = ThreadChain(saver, thread_id, ns, checkpoint_metadata(config))
            base = await chain.load(checkpoint_id)
            chain.parents = dict(base.parents) if base else {}  # a subgraph's checkpoint keeps its callers'
            checkpoint = await superstep(graph.spec, chain, base, as_updates(updates))
            config = _config(thread_id, ns, checkpoint.id, checkpoint.parents)
        return config

    def bulk_update_state(self, config: dict[str, Any], supersteps: Sequence[Sequence[Any]]) -> dict[str, Any]:
        return run_sync(self.abulk_update_state(config, supersteps))

    async def aupdate_state(self, config: dict[str, Any], values: Any, as_node: str | None = None,
                            task_id: str | None = None) -> dict[str, Any]:
        return await self.abulk_update_state(config, [[(values, as_node, task_id)]])

    def update_state(self, config: dict[str, Any], values: Any, as_node: str | None = None,
                     task_id: str | None = None) -> dict[str, Any]:
        return run_sync(self.aupdate_state(config, values, as_node, task_id))
