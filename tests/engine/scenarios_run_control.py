"""Differential scenarios for how a run's tasks run together: the config's `max_concurrency` (async
nodes, sync nodes in worker threads, sync and async calls, a subgraph of a limited run), and a
stream closed by its consumer mid-step (an async stream: the running sibling is cancelled before
the close returns; a sync stream: the close waits for its sync nodes; what finished is kept, so the
thread continues from there)."""

from __future__ import annotations

import asyncio
import operator
import threading
from contextlib import aclosing
from typing import Annotated, Any, TypedDict

from .harness import Api, Trace

FAN_OUT = 12  # a multiple of every limit below: each wave of the pool is full


class Items(TypedDict, total=False):
    items: Annotated[list[Any], operator.add]


class Concurrency:
    """Counts the nodes running at once. Sync nodes meet at a barrier of `wave` parties, so `wave`
    of them really are inside together (no timing luck); too many at once shows in `most`."""

    def __init__(self, wave: int) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.barrier = threading.Barrier(wave, timeout=10)

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def _fan_out(api: Api, count: Concurrency, async_node: bool) -> Any:
    async def work_async(x: int) -> dict[str, Any]:
        count.enter()
        await asyncio.sleep(0.01)  # every task the limit lets in starts before the first wakes
        count.leave()
        return {"items": [x]}

    def work_sync(x: int) -> dict[str, Any]:
        count.enter()
        count.barrier.wait()
        count.leave()
        return {"items": [x]}

    b = api.StateGraph(Items)
    b.add_node("fan", lambda s: {"items": ["fan"]})
    b.add_node("work", work_async if async_node else work_sync)
    b.add_edge(api.START, "fan")
    b.add_conditional_edges("fan", lambda s: [api.Send("work", i) for i in range(FAN_OUT)])
    return b.compile()


def _limited_run(api: Api, t: Trace, label: str, limit: int | None, *, async_node: bool, async_call: bool) -> None:
    count = Concurrency(limit if limit and not async_node else 1)
    g, config = _fan_out(api, count, async_node), {"max_concurrency": limit}
    t.call(label, lambda: asyncio.run(g.ainvoke({"items": []}, config)) if async_call
           else g.invoke({"items": []}, config))
    t.add(f"{label}: at once", count.most)


def max_concurrency(api: Api, t: Trace) -> None:
    """At most `max_concurrency` tasks of a step run at once; None or 0 is no limit."""
    for limit in (None, 0, 3, 1):
        _limited_run(api, t, f"async {limit}", limit, async_node=True, async_call=True)
        if limit:  # sync nodes without a limit: as many as each library's thread pool holds
            _limited_run(api, t, f"sync {limit}", limit, async_node=False, async_call=False)
            _limited_run(api, t, f"sync nodes, ainvoke {limit}", limit, async_node=False, async_call=True)


def max_concurrency_of_a_subgraph(api: Api, t: Trace) -> None:
    """A subgraph run as a node is limited by its caller's config too."""
    count = Concurrency(1)
    outer = api.StateGraph(Items)
    outer.add_node("inner", _fan_out(api, count, True))
    outer.add_edge(api.START, "inner")
    g = outer.compile()
    t.call("invoke", lambda: asyncio.run(g.ainvoke({"items": []}, {"max_concurrency": 2})))
    t.add("at once", count.most)


def max_concurrency_refused(api: Api, t: Trace) -> None:
    """A negative limit is a ValueError before any node runs (the messages differ: ours names the key)."""
    count = Concurrency(1)
    try:
        asyncio.run(_fan_out(api, count, True).ainvoke({"items": []}, {"max_concurrency": -1}))
        t.add("negative", "accepted")
    except ValueError:
        t.add("negative", "ValueError")
    t.add("ran", count.most)


def _quick_and_slow(api: Api, quick: Any, slow: Any, seen: list[str]) -> Any:
    """START runs `quick` and `slow` together; `after` follows `quick` (so runs in the next step)."""
    def after(state: Items) -> dict[str, Any]:
        seen.append("after ran")
        return {"items": ["after"]}

    b = api.StateGraph(Items)
    b.add_node("quick", quick)
    b.add_node("slow", slow)
    b.add_node("after", after)
    b.add_edge(api.START, "quick")
    b.add_edge(api.START, "slow")
    b.add_edge("quick", "after")
    return b.compile(checkpointer=api.InMemorySaver())


def stream_closed_mid_step(api: Api, t: Trace) -> None:
    """The consumer takes the first task's update and closes the stream while its sibling runs."""
    seen: list[str] = []

    async def quick(state: Items) -> dict[str, Any]:
        return {"items": ["quick"]}

    async def slow(state: Items) -> dict[str, Any]:
        seen.append("slow started")
        try:
            await asyncio.Event().wait()  # never set: runs until cancelled
        except asyncio.CancelledError:
            seen.append("slow cancelled")
            raise
        return {"items": ["slow"]}

    g = _quick_and_slow(api, quick, slow, seen)
    config = {"configurable": {"thread_id": "t1"}}

    async def flow() -> list[Any]:
        chunks = []
        async with aclosing(g.astream({"items": ["in"]}, config)) as stream:
            async for chunk in stream:
                chunks.append(chunk)
                break
        seen_at_close = list(seen)
        return [chunks, seen_at_close, await g.aget_state(config)]

    t.call("closed", lambda: asyncio.run(flow()))


def sync_stream_closed_mid_step(api: Api, t: Trace) -> None:
    """A sync stream closed while a sync node runs: the node runs to its end (a thread cannot be
    stopped) and the close waits for it; what the finished node returned is kept and the step after
    them has not run. (Whether LangGraph also keeps the waited-for node's result depends on timing:
    test_engine.py holds ours, which always keeps it.)"""
    seen: list[str] = []
    quick_done, release = threading.Event(), threading.Event()

    def quick(state: Items) -> dict[str, Any]:
        quick_done.set()
        return {"items": ["quick"]}

    def slow(state: Items) -> dict[str, Any]:
        quick_done.wait(10)
        seen.append("slow waiting")
        api.get_stream_writer()("slow waiting")  # the consumer closes the stream on this chunk
        release.wait(10)
        seen.append("slow done")
        return {"items": ["slow"]}

    g = _quick_and_slow(api, quick, slow, seen)
    config = {"configurable": {"thread_id": "t1"}}
    stream = g.stream({"items": ["in"]}, config, stream_mode="custom")
    t.add("first", next(stream))
    release.set()
    stream.close()
    t.add("seen at close", list(seen))
    state = g.get_state(config)
    t.add("kept", ["quick" in state.values["items"], state.metadata["step"], "after ran" in seen])
    t.call("continued", lambda: g.invoke(None, config))


def stream_closed_as_its_step_ends(api: Api, t: Trace) -> None:
    """Both tasks of a step have finished when the consumer closes the stream on the first one's
    update: both results are kept, and continuing runs neither again."""
    runs: list[str] = []

    def node(name: str) -> Any:
        async def run(state: Items) -> dict[str, Any]:
            runs.append(name)
            return {"items": [name]}
        return run

    b = api.StateGraph(Items)
    for name in ("a", "b", "after"):
        b.add_node(name, node(name))
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    b.add_edge(["a", "b"], "after")
    g = b.compile(checkpointer=api.InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}

    async def flow() -> list[Any]:
        async with aclosing(g.astream({"items": []}, config)) as stream:
            first = await anext(stream)
        return [first, await g.aget_state(config), await g.ainvoke(None, config)]

    t.call("closed", lambda: asyncio.run(flow()))
    t.add("runs", runs)


RUN_CONTROL_SCENARIOS = [max_concurrency, max_concurrency_of_a_subgraph, max_concurrency_refused,
                         stream_closed_mid_step, sync_stream_closed_mid_step, stream_closed_as_its_step_ends]
