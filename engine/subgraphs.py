"""Subgraphs: where a graph running inside a node keeps its checkpoints, and how its stream and
its place in a replay reach it.

A graph run from a node (as the node itself, or called from the node's function) stores its
checkpoints in the caller's checkpointer, under a namespace built from the caller's task:

  compile()                   "node:<task id>"  the state lives as long as that task: each new task
                                                starts fresh, a re-run of the same task continues
  compile(checkpointer=True)  "node"            task ids removed: one history per thread, so every
                                                call continues the state the previous one left
  compile(checkpointer=False) nothing is stored (and nothing can pause inside)

Namespaces nest with "|" ("outer:<task>|inner:<task>"); `stream(subgraphs=True)` labels a chunk
with its namespace split into a tuple, so a `checkpointer=True` subgraph streams as ("node",).

Time travel: when a run replays a checkpoint (a `checkpoint_id` and no resume), every subgraph
first loads the latest checkpoint it had before the replayed one, as LangGraph does, so a stateful
subgraph sees the state it had at that moment. A subgraph's own snapshot config carries a
`checkpoint_map` (namespace -> checkpoint id, its ancestors' and its own); running the root graph
with such a config replays that subgraph checkpoint inside the root checkpoint it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .together import stop

if TYPE_CHECKING:
    from .chain import ThreadChain
    from .record import Checkpoint

NS_SEP = "|"
NS_END = ":"
SUBGRAPH_EVENT = "__subgraph__"  # the mode of a stream event forwarded from a subgraph: (ns, mode, chunk)


def stable_ns(ns: str) -> str:
    """The namespace without task ids: where a `checkpointer=True` subgraph keeps its history."""
    return NS_SEP.join(part.split(NS_END)[0] for part in ns.split(NS_SEP)) if ns else ""


def node_path(ns: str) -> list[str]:
    """The node names a namespace runs through, outermost first (numeric call counters dropped)."""
    return [part.split(NS_END)[0] for part in ns.split(NS_SEP) if part and not part.isdigit()] if ns else []


def stream_ns(ns: str) -> tuple[str, ...]:
    return tuple(ns.split(NS_SEP)) if ns else ()


def checkpoint_map(parents: dict[str, str], ns: str, checkpoint_id: str) -> dict[str, str]:
    """A snapshot's `checkpoint_map`: the checkpoints of its ancestors, then its own."""
    return {**parents, ns: checkpoint_id}


LoadRule = Literal["latest", "before", "exact"]


@dataclass
class Replay:
    """What one replaying run tells the subgraphs it runs; shared by reference down the tree.

    `bound`: a subgraph's first run in this replay loads its latest checkpoint older than this
    checkpoint id (later runs of the same subgraph, e.g. in a loop, load their latest as usual).
    `targets`: namespace -> checkpoint id a subgraph must load instead (travelling to a
    subgraph's own checkpoint).
    """

    bound: str | None
    targets: dict[str, str] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, checkpoint_id: str, parent_id: str | None, source: str, known: Replay | None) -> Replay:
        """Replaying a checkpoint: subgraphs first load the checkpoint they had before it (before the
        one an update or fork was made from, since theirs came before that)."""
        bound = parent_id if source in ("update", "fork") and parent_id else checkpoint_id
        if known is None:
            return cls(bound)
        known.bound = bound
        return known

    def rule(self, ns: str) -> tuple[LoadRule, str | None]:
        stable = stable_ns(ns)
        first = stable not in self.visited
        self.visited.add(stable)
        if ns in self.targets:
            return ("exact", self.targets[ns]) if first else ("latest", None)
        if first and self.bound is not None:
            return "before", self.bound
        return "latest", None


async def load_checkpoint(chain: ThreadChain, checkpoint_id: str | None,
                          replay: Replay | None) -> tuple[Checkpoint | None, LoadRule]:
    """The checkpoint a run continues: the head, the one asked for, or, for a subgraph of a
    replaying run (`replay`), the one the replay says; and which of those it is."""
    if replay is not None:
        rule, ref = replay.rule(chain.ns)
        if rule == "before" and ref is not None:
            return await chain.load_before(ref), rule
        if rule == "exact":
            return await chain.load(ref), rule
    return await chain.load(checkpoint_id), "latest"


class SubgraphStream:
    """Carries stream chunks of subgraphs (and nodes' custom writes) to the run that streams them.

    Thread-safe: sync nodes run in worker threads, and a sync node may run a subgraph on a loop of
    its own. `modes` are the stream modes the caller asked for; others are dropped at the source.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], modes: frozenset[str],
                 subgraphs: bool) -> None:
        self.loop = loop
        self.queue = queue
        self.modes = modes
        self.subgraphs = subgraphs

    def put(self, ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        if mode not in self.modes or (ns and not self.subgraphs):
            return
        item = (mode, chunk) if not ns else (SUBGRAPH_EVENT, (ns, mode, chunk))
        # Always through the loop's callback queue, even from the loop's own thread: one FIFO for
        # every source keeps the chunks in the order they happened.
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def writer(self, ns: tuple[str, ...]) -> Any:
        """The `get_stream_writer()` of nodes running in namespace `ns`, or None when nobody listens."""
        if "custom" not in self.modes or (ns and not self.subgraphs):
            return None
        return lambda chunk: self.put(ns, "custom", chunk)


async def live_events(queue: asyncio.Queue[Any], work: Awaitable[list[Any]],
                      results: list[Any]) -> AsyncGenerator[Any, None]:
    """Yields what arrives on `queue` while `work` (a step's tasks) runs: nodes' custom writes,
    subgraphs' chunks, each task's update as it finishes; puts the work's results in `results` as it
    ends, before yielding the events left."""
    running = asyncio.ensure_future(work)
    try:
        while not running.done():
            getter = asyncio.ensure_future(queue.get())
            try:
                await asyncio.wait({running, getter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()
    except BaseException:
        await stop([running])  # the consumer went away or the run was cancelled: stop the step, wait for it
        _take_results(running, results)  # it had ended: the caller keeps them (see loop._execute)
        raise
    _take_results(running, results)  # known before the last events go out
    await asyncio.sleep(0)  # events a worker thread scheduled just before its task ended
    while not queue.empty():
        yield queue.get_nowait()
    running.result()  # what the work raised, once its events are out


def _take_results(work: asyncio.Future[list[Any]], results: list[Any]) -> None:
    if not work.cancelled() and work.exception() is None:
        results.extend(work.result())


__all__ = [
    "NS_SEP",
    "SUBGRAPH_EVENT",
    "Replay",
    "SubgraphStream",
    "checkpoint_map",
    "live_events",
    "load_checkpoint",
    "node_path",
    "stable_ns",
    "stream_ns",
]
