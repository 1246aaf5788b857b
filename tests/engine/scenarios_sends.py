"""Differential scenarios for Send tasks as the thread's state shows them: each task's `path`
(LangGraph's `("__pregel_push", i, False)` for a Send), and a Send task that paused re-running alone
on resume while its finished siblings keep their results."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from .harness import Api, Trace


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _tasks(snapshot: Any) -> list[Any]:
    return [(task.name, tuple(task.path), task.result) for task in snapshot.tasks]


def send_task_paths_and_results(api: Api, t: Trace) -> None:
    calls: dict[str, int] = {"review": 0, "draft": 0}

    def plan(state: Log) -> dict[str, Any]:
        return {"log": ["plan"]}

    def draft(topic: str) -> dict[str, Any]:
        calls["draft"] += 1
        return {"log": [f"draft {topic}"]}

    def review(topic: str) -> dict[str, Any]:
        calls["review"] += 1
        verdict = api.interrupt(f"review {topic}?")
        return {"log": [f"{topic}: {verdict}"]}

    def summary(state: Log) -> dict[str, Any]:
        return {"log": ["summary"]}

    b = api.StateGraph(Log)
    b.add_node("plan", plan)
    b.add_node("draft", draft)
    b.add_node("review", review)
    b.add_node("summary", summary)
    b.add_edge(api.START, "plan")
    b.add_conditional_edges("plan", lambda s: [api.Send("draft", "x"), api.Send("review", "y"),
                                               api.Send("draft", "z"), "summary"])
    g = b.compile(checkpointer=api.InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    t.call("paused", lambda: g.invoke({"log": []}, config))
    t.add("tasks at the pause", _tasks(g.get_state(config)))
    t.call("resumed", lambda: g.invoke(api.Command(resume="ok"), config))
    t.add("calls", dict(calls))
    t.add("history tasks", [_tasks(s) for s in g.get_state_history(config)])


SEND_SCENARIOS = [send_task_paths_and_results]
