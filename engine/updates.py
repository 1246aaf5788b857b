"""update_state / bulk_update_state: write to a thread as if nodes had run, without running them.

One call of `superstep` makes one checkpoint from `base`, by what the updates' `as_node` says:
  a node (or START)   its values are written as that node's return, and its edges decide `next`;
                      several updates in one superstep act as parallel tasks
  "__input__"         the values are a new input: the next run starts from them
  "__copy__"          a copy of `base` beside it (same parent): a fork that re-runs its tasks
  END with None       the pending tasks are dropped: the thread is finished as it stands
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import step
from .chain import ThreadChain
from .errors import InvalidUpdateError
from .record import Checkpoint
from .spec import GraphSpec
from .step import PULL
from .types import END, START

INPUT = "__input__"
COPY = "__copy__"
Update = tuple[Any, str | None, str | None]  # values, as_node, task_id


def as_updates(items: Sequence[Any]) -> list[Update]:
    """StateUpdate records (or plain (values, as_node[, task_id]) tuples) as triples."""
    out: list[Update] = []
    for item in items:
        parts = tuple(item)
        if not 1 <= len(parts) <= 3:
            raise InvalidUpdateError(f"Invalid update item: {item!r}")
        values, as_node, task_id = (*parts, None, None)[:3]
        out.append((values, as_node, task_id))
    return out


async def superstep(spec: GraphSpec, chain: ThreadChain, base: Checkpoint | None, updates: list[Update]) -> Checkpoint:
    values, as_node, _ = updates[0]
    if as_node == END and values is None:
        return await _clear(spec, chain, base, updates)
    if as_node == INPUT:
        return await _as_input(spec, chain, base, updates)
    if as_node == COPY:
        return await _copy(spec, chain, base, updates)
    return await _as_nodes(spec, chain, base, updates)


async def _clear(spec: GraphSpec, chain: ThreadChain, base: Checkpoint | None, updates: list[Update]) -> Checkpoint:
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot apply multiple updates when clearing state")
    values = step.live_values(spec, base, chain.ns) if base else spec.schema.initial_values()
    checkpoint = chain.new(base, values, [], {}, base.step + 1 if base else 0, "update", list(base.last) if base else [])
    await chain.save(checkpoint)
    return checkpoint


async def _as_input(spec: GraphSpec, chain: ThreadChain, base: Checkpoint | None, updates: list[Update]) -> Checkpoint:
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot apply multiple updates when updating as input")
    arg = spec.schema.input_values(updates[0][0], spec.input_keys)
    values = dict(base.values) if base else spec.schema.initial_values()
    checkpoint = chain.new(base, values, [{"name": START, "path": [PULL, START], "arg": arg}],
                           dict(base.barriers) if base else {}, base.step + 1 if base else -1, "input", [])
    await chain.save(checkpoint)
    return checkpoint


async def _copy(spec: GraphSpec, chain: ThreadChain, base: Checkpoint | None, updates: list[Update]) -> Checkpoint:
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot copy checkpoint with multiple updates")
    if base is None:
        raise InvalidUpdateError("Cannot copy a non-existent checkpoint")
    copy = chain.new(base, dict(base.values), [dict(t) for t in base.tasks], dict(base.barriers), base.step + 1,
                     "fork", list(base.last))
    copy.parent_id = base.parent_id  # a sibling of the copied checkpoint
    await chain.save(copy)
    follow_up = updates[0][0]
    if isinstance(follow_up, list) and follow_up:
        return await _as_nodes(spec, chain, copy, as_updates(follow_up))
    return copy


async def _as_nodes(spec: GraphSpec, chain: ThreadChain, base: Checkpoint | None, updates: list[Update]) -> Checkpoint:
    valid: list[Update] = []
    for values, as_node, task_id in updates:
        if as_node is None:
            if len(updates) > 1:
                raise InvalidUpdateError("as_node is required when applying multiple updates")
            last = base.last if base else []
            if len(set(last)) > 1:
                raise InvalidUpdateError("Ambiguous update, specify as_node")
            as_node = last[0] if last else START
        if as_node != START and as_node not in spec.nodes:
            raise InvalidUpdateError(f"Node {as_node} does not exist")
        valid.append((values, as_node, task_id))
    schema = spec.schema
    current = step.read_values(schema, base) if base else schema.initial_values()
    new_values = dict(current)
    finished: list[tuple[str, list[Any]]] = []
    results: dict[str, Any] = {}
    open_tasks = [t for t in step.build_tasks(spec, base, chain.ns) if not base.is_done(t.id)] if base else []
    all_writes: list[tuple[str, Any]] = []
    for values, as_node, task_id in valid:
        assert as_node is not None
        writes, shown, goto = schema.result_writes(values, as_node) if values is not None else ([], None, [])
        targets = await step.triggers(spec, as_node, current, writes, None, goto)
        all_writes.extend(writes)
        finished.append((as_node, targets))
        # The task this update stands for, so history shows it as that task's result.
        task = next((t for t in open_tasks if (t.id == task_id if task_id else t.name == as_node)), None)
        if task is not None:
            open_tasks.remove(task)
            results[task.id] = shown
    schema.apply(new_values, all_writes)
    joined = base.barriers.get(step.JOINED, []) if base else []
    tasks, barriers = step.next_tasks(spec, finished, base.barriers if base else {}, joined)
    # `last`: the nodes that last ran, which an update without as_node stands for. An update made as a
    # node does not make it one that ran (LangGraph reads that from the channels each node has seen).
    checkpoint = chain.new(base, new_values, tasks, barriers, base.step + 1 if base else 0, "update",
                           list(base.last) if base else [])
    checkpoint.parent_results = results
    await chain.save(checkpoint)
    return checkpoint
