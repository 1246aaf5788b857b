"""Pure step maths: which tasks a checkpoint holds, what they read, where their writes lead.

Stateless functions over a GraphSpec and a Checkpoint, called by the superstep loop and by the
compiled graph's state API (get_state, update_state) alike. The only code they run that is not
ours is a conditional edge's routing function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidUpdateError
from .ids import task_id
from .record import Checkpoint
from .spec import Branch, GraphSpec
from .state import StateSchema
from .types import END, START, Interrupt, Send

PULL = "__pregel_pull"
PUSH = "__pregel_push"
INTERRUPT_KEY = "__interrupt__"
JOINED = "__joined__"  # the barrier key listing next tasks that a completed join triggered
DEFERRED = "__deferred__"  # the barrier key listing deferred nodes that wait for the graph to go quiet
NO_ARG = object()


@dataclass
class Task:
    id: str
    name: str
    path: tuple[Any, ...]
    ns: str
    arg: Any = NO_ARG


@dataclass
class TaskOutcome:
    writes: list[tuple[str, Any]]
    triggers: list[Any]  # node names and Send packets
    update: Any  # what `updates` streaming shows for this task

    def to_json(self) -> dict[str, Any]:
        return {
            "writes": [list(w) for w in self.writes],
            "triggers": [trigger_json(t) for t in self.triggers],
            "update": self.update,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskOutcome:
        return cls([tuple(w) for w in data["writes"]], [trigger_from_json(t) for t in data["triggers"]],
                   data["update"])


def trigger_json(target: Any) -> Any:
    if isinstance(target, Send):
        return {"send": target.node, "arg": target.arg}
    return target


def trigger_from_json(data: Any) -> Any:
    if isinstance(data, dict):
        return Send(data["send"], data["arg"])
    return data


# -- the tasks of a checkpoint -----------------------------------------------------------------
def task_ns(parent_ns: str, name: str, tid: str) -> str:
    own = f"{name}:{tid}"
    return f"{parent_ns}|{own}" if parent_ns else own


def build_tasks(spec: GraphSpec, checkpoint: Checkpoint, parent_ns: str) -> list[Task]:
    """The checkpoint's tasks that this graph can run. As LangGraph does, a task naming a node the graph
    lacks (the thread was last run by another graph) is no task: the thread reads as having none."""
    out = []
    for record in checkpoint.tasks:
        if record["name"] not in spec.nodes and record["name"] != START:
            continue
        path = tuple(record["path"])
        tid = task_id(checkpoint.id, parent_ns, record["name"], path)
        out.append(Task(tid, record["name"], path, task_ns(parent_ns, record["name"], tid), record.get("arg", NO_ARG)))
    return out


def path_sort_key(task: Task) -> tuple[Any, ...]:
    """Task-path order, in which a step's writes apply: pull tasks by name, then pushes by position."""
    if task.path[0] == PULL:
        return (0, str(task.path[1]), 0)
    return (1, "", task.path[1])


def step_tasks(spec: GraphSpec, checkpoint: Checkpoint, ns: str) -> list[Task]:
    """The tasks of the step: the checkpoint's own plus those Command inputs sent there (added to it)."""
    tasks = build_tasks(spec, checkpoint, ns)
    names = {t.name for t in tasks if t.path[0] == PULL}
    extra: list[dict[str, Any]] = []
    for record in checkpoint.commands():
        for target in record["goto"]:
            if isinstance(target, str):
                if target != END and target not in names:
                    names.add(target)
                    extra.append({"name": target, "path": [PULL, target]})
            else:
                extra.append({"name": target["send"], "path": [PUSH, 1000 + len(extra)], "arg": target["arg"]})
    if extra:
        checkpoint.tasks = list(checkpoint.tasks) + extra
        tasks = build_tasks(spec, checkpoint, ns)
    return tasks


def pending_interrupts(checkpoint: Checkpoint, tasks: Sequence[Task]) -> dict[str, tuple[Task, Interrupt]]:
    """Interrupts raised at this checkpoint and not answered yet, by interrupt id."""
    pending: dict[str, tuple[Task, Interrupt]] = {}
    for task in tasks:
        if checkpoint.is_done(task.id):
            continue
        for interrupt in checkpoint.raised(task.id):
            if not checkpoint.is_answered(task.id, interrupt.id):
                pending[interrupt.id] = (task, interrupt)
    return pending


def answered_but_unfinished(checkpoint: Checkpoint, tasks: Sequence[Task]) -> bool:
    return any(not checkpoint.is_done(t.id) and checkpoint.answers(t.id) for t in tasks)


def matches(breakpoints: Any, tasks: Sequence[Task]) -> bool:
    if not breakpoints:
        return False
    if breakpoints == "*":
        return any(t.name != START for t in tasks)
    return any(t.name in breakpoints for t in tasks)


# -- values --------------------------------------------------------------------------------------
def read_values(schema: StateSchema, checkpoint: Checkpoint) -> dict[str, Any]:
    """Values tasks of this step read: the checkpoint plus updates given with Command inputs."""
    values = dict(checkpoint.values)
    for record in checkpoint.commands():
        if record["update"]:
            schema.apply(values, [tuple(w) for w in record["update"]])
    return values


def live_values(spec: GraphSpec, checkpoint: Checkpoint, ns: str, include_done: bool = True,
                tasks: Sequence[Task] | None = None) -> dict[str, Any]:
    """The values as of now: read values plus the writes of tasks that finished in a paused step
    (`tasks`: the checkpoint's, when the caller built them already)."""
    schema = spec.schema
    values = read_values(schema, checkpoint)
    if include_done and checkpoint.writes:  # no pending write, no finished task
        tasks = sorted(build_tasks(spec, checkpoint, ns) if tasks is None else tasks, key=path_sort_key)
        writes = [tuple(w) for t in tasks for w in (checkpoint.outcome(t.id) or {}).get("writes", ())]
        if writes:
            schema.apply(values, writes)
    return values


# -- routing -------------------------------------------------------------------------------------
async def triggers(spec: GraphSpec, source: str, values: dict[str, Any], writes: list[tuple[str, Any]],
                   config: dict[str, Any] | None, goto: list[Any]) -> list[Any]:
    """Where a task's writes lead: its gotos, static edges and conditional edges (END dropped)."""
    targets: list[Any] = [g for g in goto]
    targets.extend(spec.edges.get(source, ()))
    branches = spec.branches.get(source, ())
    if branches:
        fresh = dict(values)
        spec.schema.apply(fresh, writes)
        for branch in branches:
            view = (branch.input_schema or spec.schema).to_node_input(fresh)
            targets.extend(await follow(spec, branch, view, config))
    return [t for t in targets if t != END]


async def follow(spec: GraphSpec, branch: Branch, view: Any, config: dict[str, Any] | None) -> list[Any]:
    kwargs = {"config": config or {}} if branch.wants_config else {}
    result = await branch.path(view, **kwargs) if branch.is_async else branch.path(view, **kwargs)
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
        if item != END and item not in spec.nodes:
            raise InvalidUpdateError(f"Conditional edge from '{branch.source}' leads to unknown node {item!r}")
        out.append(item)
    return out


def next_tasks(spec: GraphSpec, finished: list[tuple[str, list[Any]]], barriers: dict[str, list[str]],
               still_joined: Sequence[str] = ()) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The next step's task records and join barriers, from what each finished task triggered.

    `still_joined`: targets of joins that completed earlier and have not run yet (an update_state
    in between does not run them); they stay next, as LangGraph's barrier channels keep them."""
    pushes: list[dict[str, Any]] = []
    pulls: set[str] = set(still_joined)
    joined: list[str] = list(still_joined)
    barriers = {k: list(v) for k, v in barriers.items() if k != JOINED}
    for _name, targets in finished:
        for target in targets:
            if isinstance(target, Send):
                if target.node not in spec.nodes:
                    raise InvalidUpdateError(f"Send to unknown node {target.node!r}")
                pushes.append({"name": target.node, "path": [PUSH, len(pushes)], "arg": target.arg})
            else:
                pulls.add(target)
    for sources, target in spec.joins:
        key = f"join:{'+'.join(sources)}:{target}"
        seen = barriers.get(key, [])
        for name, _ in finished:
            if name in sources and name not in seen:
                seen.append(name)
        if set(seen) >= set(sources):
            seen = []
            if target != END:
                pulls.add(target)
                joined.append(target)
        if seen:
            barriers[key] = seen
        else:
            barriers.pop(key, None)
    deferred = [n for n in pulls if n in spec.nodes and spec.nodes[n].defer]
    if deferred or DEFERRED in barriers:
        # A deferred node waits until nothing else is left to run.
        previous = barriers.pop(DEFERRED, [])
        waiting = previous + [n for n in sorted(deferred) if n not in previous]
        pulls -= set(deferred)
        if pushes or pulls:
            barriers[DEFERRED] = waiting
        else:
            pulls = set(waiting)
    order = spec.order
    tasks = pushes + [{"name": n, "path": [PULL, n]} for n in sorted(pulls, key=lambda n: order.get(n, -1))]
    if joined:
        barriers[JOINED] = sorted(set(joined) & pulls)
    return tasks, barriers
