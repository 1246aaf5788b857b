"""A tool-calling agent whose tool calls need a person's approval.

`agent` is the "model": deterministic, no network. It proposes a `send_email` and a
`delete_file` call. `review` pauses with the payload of LangChain's `HumanInTheLoopMiddleware`
(`action_requests` + `review_configs`) and is resumed with `{"decisions": [...]}`, one decision
per call in order: approve, edit (new arguments), reject (with a reason) or respond (a message
instead of running the tool). Approved and edited calls run; the final state lists what happened.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from engine import END, START, StateGraph, interrupt

DEFAULT_REQUEST = "Send the Q3 report to ana@example.com and delete reports/q3-draft.txt"


class ToolCall(TypedDict):
    name: str
    args: dict[str, Any]


class State(TypedDict, total=False):
    request: str
    tool_calls: list[ToolCall]
    results: Annotated[list[str], operator.add]


# --- the tools (fakes: they only say what they would have done) ---------------------------


def send_email(to: str, subject: str, body: str) -> str:
    return f"Email sent to {to}: {subject!r}"


def delete_file(path: str) -> str:
    return f"Deleted {path}"


TOOLS: dict[str, Callable[..., str]] = {"send_email": send_email, "delete_file": delete_file}
# Which decisions a person may take on each tool (HumanInTheLoopMiddleware's `interrupt_on`).
ALLOWED: dict[str, list[str]] = {
    "send_email": ["approve", "edit", "reject", "respond"],
    "delete_file": ["approve", "reject"],
}


# --- the graph ------------------------------------------------------------------------------


def agent(state: State) -> dict[str, Any]:
    """Stands in for an LLM: turns the request into tool calls, deterministically."""
    request = state.get("request") or DEFAULT_REQUEST
    email = re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", request)
    path = re.search(r"[\w./-]+\.(?:txt|csv|md|pdf|log)\b", request)
    calls: list[ToolCall] = [
        {
            "name": "send_email",
            "args": {
                "to": email.group(0) if email else "team@example.com",
                "subject": "Q3 report",
                "body": f"Hello, as requested: {request}",
            },
        },
        {"name": "delete_file", "args": {"path": path.group(0) if path else "reports/old-draft.txt"}},
    ]
    return {"tool_calls": calls}


def review(state: State) -> dict[str, Any]:
    """Asks a person about every call at once, then runs what was approved or edited."""
    calls = state["tool_calls"]
    answer = interrupt(
        {
            "action_requests": [
                {"name": c["name"], "args": c["args"], "description": f"The agent wants to call {c['name']}."}
                for c in calls
            ],
            "review_configs": [{"action_name": c["name"], "allowed_decisions": ALLOWED[c["name"]]} for c in calls],
        }
    )
    decisions = answer["decisions"]
    if len(decisions) != len(calls):
        raise ValueError(f"expected {len(calls)} decisions, got {len(decisions)}")

    results: list[str] = []
    for call, decision in zip(calls, decisions, strict=True):
        kind = decision["type"]
        if kind not in ALLOWED[call["name"]]:
            raise ValueError(f"{kind!r} is not allowed for {call['name']}")
        if kind == "approve":
            results.append(TOOLS[call["name"]](**call["args"]))
        elif kind == "edit":
            edited = decision["edited_action"]
            results.append(TOOLS[edited["name"]](**edited["args"]))
        elif kind == "reject":
            results.append(f"Rejected {call['name']}: {decision.get('message') or 'no reason given'}")
        else:  # respond: the person's message stands in for the tool's result
            results.append(f"Reply instead of {call['name']}: {decision['message']}")
    return {"results": results}


builder = StateGraph(State)
builder.add_node("agent", agent)
builder.add_node("review", review)
builder.add_edge(START, "agent")
builder.add_edge("agent", "review")
builder.add_edge("review", END)

graph = builder.compile()
