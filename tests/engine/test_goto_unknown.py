"""`Command(goto=<a name that is no node>)`: LangGraph 1.2.22 ignores that target with a warning and
completes (the pause is answered, known targets still run); so do we, and say so in the log."""

from __future__ import annotations

import logging
import operator
from typing import Annotated, Any, TypedDict

import pytest

from .harness import Api, Trace, run_both


class ListState(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def resume_with_unknown_goto(api: Api, t: Trace) -> None:
    def ask(state: ListState) -> dict[str, Any]:
        return {"items": [f"ask:{api.interrupt('go?')}"]}

    def after(state: ListState) -> dict[str, Any]:
        return {"items": ["after"]}

    b = api.StateGraph(ListState)
    b.add_node("ask", ask)
    b.add_node("after", after)
    b.add_edge(api.START, "ask")
    b.add_edge("ask", "after")
    b.add_edge("after", api.END)
    g = b.compile(checkpointer=api.InMemorySaver())
    t.call("pause", lambda: g.invoke({"items": []}, cfg("a")))
    t.call("resume+unknown", lambda: g.invoke(api.Command(resume="yes", goto="nope"), cfg("a")))
    t.call("state", lambda: g.get_state(cfg("a")))
    t.call("unknown alone", lambda: g.invoke(api.Command(goto="nope"), cfg("a")))
    t.call("pause again", lambda: g.invoke({"items": []}, cfg("b")))
    t.call("known and unknown", lambda: g.invoke(api.Command(resume="ok", goto=["after", "nope"]), cfg("b")))
    t.call("state b", lambda: g.get_state(cfg("b")))


def test_unknown_goto_target_is_ignored_as_in_langgraph(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="engine"):
        theirs, ours = run_both(resume_with_unknown_goto)
    assert ours == theirs
    assert dict(ours)["state"]["values"] == {"items": ["ask:yes", "after"]}
    assert any("nope" in r.getMessage() for r in caplog.records if r.name == "engine")
