"""Real per-call tool approval pauses, made by LangChain's `HumanInTheLoopMiddleware` on LangGraph.

A scripted chat model asks for two tool calls; the middleware (`interrupt_mode="per_call"`) pauses
once per call. What it publishes (value, id, response_schema) is what the Slack bot must render,
and a decision it accepts is what the bot must send. LangChain and LangGraph are test-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command


@tool
def send_email(to: str, subject: str, body: str, priority: Literal["low", "normal", "high"] = "normal") -> str:
    """Send an email."""
    return f"Email sent to {to}: {subject!r} ({priority})"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"Deleted {path}"


@tool
def schedule_meeting(title: str, minutes: int, attendees: list[str]) -> str:
    """Schedule a meeting."""
    return f"Meeting {title!r}, {minutes} min, with {', '.join(attendees)}"


TOOLS = [send_email, delete_file, schedule_meeting]
CALLS: list[dict[str, Any]] = [
    {"name": "send_email", "args": {"to": "ana@example.com", "subject": "Q3", "body": "Numbers attached."}, "id": "c1"},
    {"name": "delete_file", "args": {"path": "reports/q3-draft.txt"}, "id": "c2"},
    {"name": "schedule_meeting", "args": {"title": "Q3 review", "minutes": 30, "attendees": ["ana", "bo"]}, "id": "c3"},
]
INTERRUPT_ON: dict[str, Any] = {
    "send_email": True,
    "delete_file": {"allowed_decisions": ["approve", "reject"]},
    "schedule_meeting": {"allowed_decisions": ["approve", "edit"]},
}


class _ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@dataclass(frozen=True)
class RealPause:
    id: str
    value: dict[str, Any]
    response_schema: dict[str, Any]


class Agent:
    """One LangChain agent thread: its per-call pauses, and what a resume makes of them."""

    def __init__(self) -> None:
        script = iter([AIMessage(content="", tool_calls=CALLS), AIMessage(content="Done.")])
        self.graph = create_agent(
            _ScriptedModel(messages=script),
            tools=TOOLS,
            checkpointer=InMemorySaver(),
            middleware=[HumanInTheLoopMiddleware(interrupt_on=INTERRUPT_ON, interrupt_mode="per_call")],
        )
        self.config: dict[str, Any] = {"configurable": {"thread_id": "t"}}
        self.result = self.graph.invoke({"messages": [{"role": "user", "content": "go"}]}, self.config)

    def pauses(self) -> dict[str, RealPause]:
        """The pending pauses by tool name."""
        return {
            i.value["name"]: RealPause(i.id, i.value, i.response_schema)  # type: ignore[attr-defined]
            for i in self.graph.get_state(self.config).interrupts
        }

    def resume(self, answers: dict[str, Any]) -> dict[str, str]:
        """Resumes with `{interrupt id: decision}`; the tool messages by tool name."""
        self.result = self.graph.invoke(Command(resume=answers), self.config)
        return {m.name or "": str(m.content) for m in self.result["messages"] if isinstance(m, ToolMessage)}


def real_pauses() -> dict[str, RealPause]:
    return Agent().pauses()
