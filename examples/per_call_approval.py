"""An agent whose tool calls are approved one by one, as LangChain's `HumanInTheLoopMiddleware`
does with `interrupt_mode="per_call"`.

`agent` (deterministic, no network) proposes a `send_email` and a `delete_file` call; each runs in
its own task (`Send`) and pauses with a `{"type": "tool_approval", ...}` value and a typed decision
schema: the decisions that tool allows, and for an edit the tool's own arguments. In Slack each
call is its own message, decided and resumed alone: **Approve**, **Edit** (a form of the tool's
arguments), **Reject** (with an optional reason) or **Respond** (a message instead of the result).
"""

from __future__ import annotations

import operator
import re
from typing import Annotated, Any, Literal, NotRequired, Union

from pydantic import BaseModel, Discriminator, Field
from typing_extensions import TypedDict  # the one pydantic can validate on Python 3.11

from engine import END, START, Send, StateGraph, interrupt

DEFAULT_REQUEST = "Send the Q3 report to ana@example.com and delete reports/q3-draft.txt"


class SendEmail(BaseModel):
    """Send an email."""

    to: str = Field(json_schema_extra={"format": "email"})
    subject: str = Field(max_length=150)
    body: str = Field(max_length=2000)
    priority: Literal["low", "normal", "high"] = "normal"


class DeleteFile(BaseModel):
    """Delete a file."""

    path: str = Field(min_length=1)


ARGS: dict[str, type[BaseModel]] = {"send_email": SendEmail, "delete_file": DeleteFile}
ALLOWED: dict[str, tuple[str, ...]] = {
    "send_email": ("approve", "edit", "reject", "respond"),
    "delete_file": ("approve", "reject"),
}


class ApproveDecision(TypedDict):
    type: Literal["approve"]


class RejectDecision(TypedDict):
    type: Literal["reject"]
    message: NotRequired[str]


class RespondDecision(TypedDict):
    type: Literal["respond"]
    message: str


def edit_decision(name: str) -> Any:
    """An edit of this tool only: the name is pinned, the arguments follow the tool's model."""
    action = TypedDict(f"Edited_{name}", {"name": Literal[name], "args": ARGS[name]})  # type: ignore[misc]  # noqa: UP013
    return TypedDict(f"EditDecision_{name}", {"type": Literal["edit"], "edited_action": action})  # type: ignore[operator]  # noqa: UP013


def decision_schema(name: str) -> Any:
    """What a person may answer about a call to `name` (the per-call `response_schema`)."""
    branches = {"approve": ApproveDecision, "reject": RejectDecision, "respond": RespondDecision}
    members = [edit_decision(name) if d == "edit" else branches[d] for d in ALLOWED[name]]
    if len(members) == 1:
        return members[0]
    return Annotated[Union[tuple(members)], Discriminator("type")]  # noqa: UP007


class ToolCall(TypedDict):
    id: str
    name: str
    args: dict[str, Any]


class State(TypedDict, total=False):
    request: str
    tool_calls: list[ToolCall]
    results: Annotated[list[str], operator.add]


def agent(state: State) -> dict[str, Any]:
    """Stands in for an LLM: turns the request into tool calls, deterministically."""
    request = state.get("request") or DEFAULT_REQUEST
    email = re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", request)
    path = re.search(r"[\w./-]+\.(?:txt|csv|md|pdf|log)\b", request)
    to = email.group(0) if email else "team@example.com"
    return {
        "tool_calls": [
            {"id": "call_1", "name": "send_email",
             "args": {"to": to, "subject": "Q3 report", "body": f"Hello, as requested: {request}"}},
            {"id": "call_2", "name": "delete_file", "args": {"path": path.group(0) if path else "reports/old.txt"}},
        ]
    }


def run_tool(call: ToolCall) -> dict[str, list[str]]:
    """Asks a person about this one call, then does what they decided."""
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": call["id"],
            "name": call["name"],
            "args": call["args"],
            "description": f"The agent wants to call {call['name']}.",
        },
        response_schema=decision_schema(call["name"]),
    )
    kind = decision["type"]
    if kind == "approve":
        return {"results": [_run(call["name"], ARGS[call["name"]].model_validate(call["args"]))]}
    if kind == "edit":
        return {"results": [_run(call["name"], decision["edited_action"]["args"])]}
    if kind == "reject":
        return {"results": [f"Rejected {call['name']}: {decision.get('message') or 'no reason given'}"]}
    return {"results": [f"Reply instead of {call['name']}: {decision['message']}"]}


def _run(name: str, args: BaseModel) -> str:
    """The tools are fakes: they only say what they would have done."""
    if isinstance(args, SendEmail):
        return f"Email sent to {args.to}: {args.subject!r} ({args.priority})"
    assert isinstance(args, DeleteFile)
    return f"Deleted {args.path}"


def fan_out(state: State) -> list[Send]:
    return [Send("run_tool", call) for call in state["tool_calls"]]


builder = StateGraph(State)
builder.add_node("agent", agent)
builder.add_node("run_tool", run_tool)
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", fan_out, ["run_tool"])
builder.add_edge("run_tool", END)

graph = builder.compile()
