"""Differential scenarios for what a thread's records say when read or run again: a checkpoint whose
tasks name nodes the graph now running lacks, task results at past checkpoints, the metadata a run's
config and an update's config put on checkpoints, and the recursion limit's lower bound."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from .harness import Api, Trace


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def tasks_of_another_graph(api: Api, t: Trace) -> None:
    """A thread last run by another graph (one that failed, paused, or sent) holds tasks naming nodes
    this graph lacks: LangGraph skips them, so the thread reads as done and a resume returns its values."""
    def fail(state: Log) -> dict[str, Any]:
        raise ValueError("boom!")

    def ask(state: Log) -> dict[str, Any]:
        return {"log": [f"ask:{api.interrupt('q')}"]}

    def work(topic: str) -> dict[str, Any]:
        return {"log": [f"work {topic}"]}

    saver = api.InMemorySaver()
    failing = api.StateGraph(Log).add_node("fail", fail).add_edge(api.START, "fail").compile(checkpointer=saver)
    asking = api.StateGraph(Log).add_node("ask", ask).add_edge(api.START, "ask").compile(checkpointer=saver)
    sending = (api.StateGraph(Log).add_node("ask", ask).add_node("work", work)
               .add_conditional_edges(api.START, lambda s: [api.Send("work", "x"), "ask"]).compile(checkpointer=saver))
    b = api.StateGraph(Log)
    b.add_node("other", lambda s: {"log": ["other"]})
    b.add_node("ask", ask)
    b.add_edge(api.START, "other")
    b.add_edge("other", "ask")
    other = b.compile(checkpointer=saver)
    for thread, first in (("failed", failing), ("paused", asking), ("sent", sending)):
        _run_after(api, t, first, other, thread)


def _run_after(api: Api, t: Trace, first: Any, other: Any, thread: str) -> None:
    """`first` runs on the thread, then `other` reads it, resumes it and runs it anew."""
    t.call(f"{thread}: first", lambda: first.invoke({"log": ["in"]}, cfg(thread)))
    t.call(f"{thread}: state", lambda: other.get_state(cfg(thread)))
    t.call(f"{thread}: resume", lambda: other.invoke(api.Command(resume=1), cfg(thread)))
    t.call(f"{thread}: none", lambda: other.invoke(None, cfg(thread)))
    t.call(f"{thread}: stream", lambda: list(other.stream(None, cfg(thread), stream_mode=["values", "updates"])))
    t.call(f"{thread}: input", lambda: other.invoke({"log": ["x"]}, cfg(thread)))
    t.call(f"{thread}: history", lambda: list(other.get_state_history(cfg(thread))))
    if thread != "failed":
        # LangGraph would show `fail` as next again: its trigger stays unread in the channels that the
        # other graph's run carried on. Our checkpoints list next tasks, not triggers: we show none.
        t.call(f"{thread}: as first", lambda: first.get_state(cfg(thread)))


RECORD_SCENARIOS = [tasks_of_another_graph]


def _tasks(snapshot: Any) -> list[Any]:
    return [(task.name, task.result, task.error is not None) for task in snapshot.tasks]


def past_checkpoint_task_results(api: Api, t: Trace) -> None:
    """get_state at a past checkpoint shows what each of its tasks returned, as its history entry does,
    on the main line and on a fork made by an update at an old checkpoint."""
    def ask(state: Log) -> dict[str, Any]:
        return {"log": [f"ask:{api.interrupt('q')}"]}

    b = api.StateGraph(Log)
    b.add_node("a", lambda s: {"log": ["a"]})
    b.add_node("b", lambda s: {"log": ["b"]})
    b.add_node("ask", ask)
    b.add_edge(api.START, "a")
    b.add_edge(api.START, "b")
    b.add_edge(["a", "b"], "ask")
    g = b.compile(checkpointer=api.InMemorySaver())
    g.invoke({"log": ["in"]}, cfg("t"))
    g.invoke(api.Command(resume="yes"), cfg("t"))
    history = list(g.get_state_history(cfg("t")))
    t.add("by id", [_tasks(g.get_state(s.config)) for s in history])
    t.add("history", [_tasks(s) for s in history])
    fork = g.update_state(history[-2].config, {"log": ["forked"]})
    t.call("fork", lambda: g.invoke(None, fork))
    t.add("by id after fork", [_tasks(g.get_state(s.config)) for s in g.get_state_history(cfg("t"))])


RECORD_SCENARIOS.append(past_checkpoint_task_results)


class Opaque:
    """A configurable value that is no scalar: checkpoints' metadata leaves it out."""


def _metadata(graph: Any, thread: str) -> list[dict[str, Any]]:
    return [dict(s.metadata) for s in graph.get_state_history(cfg(thread))]


def metadata_from_configs(api: Api, t: Trace) -> None:
    """A run's config adds its `metadata` and the scalar values of its `configurable` to every checkpoint
    it writes (not keys starting with "__" nor those locating a checkpoint; NULs dropped from strings;
    the metadata's value wins); an update's config does the same for the checkpoint it writes."""
    g = api.StateGraph(Log).add_node("a", lambda s: {"log": ["a"]}).add_edge(api.START, "a").compile(
        checkpointer=api.InMemorySaver())
    configurable = {
        "thread_id": "t", "checkpoint_ns": "", "checkpoint_id": None, "foo": 1, "s": "x\x00y", "f": 1.5,
        "b": True, "n": None, "l": [1], "d": {"a": 1}, "o": Opaque(), "__hidden": 1, "_under": 2, "api_key": "k",
        "shared": "from configurable", "langgraph_node": "n", "run_id": "r", "user_id": "u",
    }
    t.call("run", lambda: g.invoke({"log": []}, {"configurable": configurable, "metadata": {"shared": "meta"}}))
    t.add("run metadata", _metadata(g, "t"))
    t.call("update", lambda: g.update_state(
        {"configurable": {"thread_id": "t", "foo": 2, "bar": "b"}, "metadata": {"mm": 2, "source": "x", "step": 9}},
        {"log": ["u"]}, as_node="a") and None)
    t.call("update without", lambda: g.update_state(cfg("t"), {"log": ["v"]}) and None)
    t.call("bulk", lambda: g.bulk_update_state({"configurable": {"thread_id": "t", "foo": 3}, "metadata": {"k": 1}},
                                               [[({"log": ["u1"]}, "a", None)], [({"log": ["u2"]}, "a", None)]]) and None)
    t.add("update metadata", _metadata(g, "t")[:4])


RECORD_SCENARIOS.append(metadata_from_configs)


def recursion_limit_below_one(api: Api, t: Trace) -> None:
    """A recursion_limit below 1 is refused before the run stores anything; None is the default."""
    g = api.StateGraph(Log).add_node("a", lambda s: {"log": ["a"]}).add_edge(api.START, "a").compile(
        checkpointer=api.InMemorySaver())
    for limit in (0, -1, None, 1, 2):
        config = {**cfg(f"limit {limit}"), "recursion_limit": limit}
        t.call(f"{limit}: invoke", lambda config=config: g.invoke({"log": []}, config))
        t.call(f"{limit}: stream", lambda config=config: list(g.stream({"log": []}, config)))
        t.call(f"{limit}: checkpoints", lambda limit=limit: len(list(g.get_state_history(cfg(f"limit {limit}")))))


RECORD_SCENARIOS.append(recursion_limit_below_one)


def subgraphs_see_and_record_the_callers_config(api: Api, t: Trace) -> None:
    """A subgraph (a node, or called by one) runs with its caller's configurable values and metadata: its
    nodes see them and its checkpoints record them, as the root graph's do."""
    seen: list[Any] = []

    def look(state: Log, config: dict[str, Any]) -> dict[str, Any]:
        seen.append((config["configurable"].get("foo"), config["metadata"].get("m")))
        return {"log": ["look"]}

    def ask(state: Log) -> dict[str, Any]:
        return {"log": [f"ask:{api.interrupt('q')}"]}

    inner = (api.StateGraph(Log).add_node("look", look).add_node("ask", ask)
             .add_edge(api.START, "look").add_edge("look", "ask").compile())
    middle = api.StateGraph(Log).add_node("inner", inner).add_edge(api.START, "inner").compile()

    def call(state: Log) -> Any:
        return middle.invoke(state)

    g = api.StateGraph(Log).add_node("call", call).add_edge(api.START, "call").compile(checkpointer=api.InMemorySaver())

    def metadata() -> list[Any]:
        outer = g.get_state(cfg("t"), subgraphs=True)
        mid = outer.tasks[0].state
        return [{k: v for k, v in s.metadata.items() if k != "parents"} for s in (outer, mid, mid.tasks[0].state)]

    t.call("run", lambda: g.invoke({"log": []}, {"configurable": {"thread_id": "t", "foo": 1}, "metadata": {"m": "x"}}))
    t.call("paused", metadata)
    t.call("resume", lambda: g.invoke(api.Command(resume="ok"), {"configurable": {"thread_id": "t", "foo": 2}}))
    t.add("seen", seen)


RECORD_SCENARIOS.append(subgraphs_see_and_record_the_callers_config)
