"""Graphs of the Slack tests: a plain JSON question (Slack shows it with Respond), and LangChain's
real per-call tool approval pauses replayed on our engine."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from engine import END, START, Send, StateGraph, interrupt
from tests.slack.langchain_pauses import real_pauses

LANGCHAIN_PAUSES = real_pauses()  # made once, by LangChain's middleware running on LangGraph


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


class State(TypedDict, total=False):
    answer: Any


def ask(state: State) -> State:
    return {"answer": interrupt({"question": "which?", "options": [1, 2]})}


question_graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").add_edge("ask", END)


# --- LangChain's per-call tool approvals, replayed -----------------------------------------------


class AgentState(TypedDict, total=False):
    decisions: Annotated[dict[str, Any], _merge]


def _ask_about(call: dict[str, Any]) -> AgentState:
    """Pauses with exactly what LangChain's middleware published for this call (value and schema)."""
    real = LANGCHAIN_PAUSES[call["name"]]
    return {"decisions": {call["name"]: interrupt(real.value, response_schema=real.response_schema)}}


def _each_call(state: AgentState) -> list[Send]:
    return [Send("ask_about", {"name": name}) for name in LANGCHAIN_PAUSES]


langchain_graph = (
    StateGraph(AgentState)
    .add_node("ask_about", _ask_about)
    .add_conditional_edges(START, _each_call, ["ask_about"])
    .add_edge("ask_about", END)
)


# --- one node asking three times: every pause after the first waits at the same checkpoint -------


class AskedState(TypedDict, total=False):
    answers: list[Any]


def _ask_three_times(state: AskedState) -> AskedState:
    return {"answers": [interrupt({"text_to_revise": f"draft {n}"}) for n in (1, 2, 3)]}


asked_again_graph = (
    StateGraph(AskedState).add_node("ask", _ask_three_times).add_edge(START, "ask").add_edge("ask", END)
)
