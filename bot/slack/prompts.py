"""What a pause asks of a person, read from its interrupt payload (pure; no Slack here).

Each interrupt becomes one `Prompt`; a static breakpoint is a `BreakpointPrompt`. A prompt has
one or more *slots*: the things a person decides one by one (a text revision has one, a batch
of tool calls one per call). The pause is resumed once every slot of every prompt is decided.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.slack import decision_schema

Decision = Literal["approve", "edit", "reject", "respond", "continue", "answer"]
DECISIONS: tuple[Decision, ...] = ("approve", "edit", "reject", "respond", "continue", "answer")
LABELS: dict[Decision, str] = {
    "approve": "Approve",
    "edit": "Edit",
    "reject": "Reject",
    "respond": "Respond",
    "continue": "Continue",
    "answer": "Answer",
}
ToolShape = Literal["hitl", "inbox", "tool_approval"]


@dataclass(frozen=True)
class TextPrompt:
    """A proposed text: Approve keeps it, Edit changes it. The resume value is the text."""

    text: str
    field: str | None = None

    @property
    def slots(self) -> int:
        return 1

    def allowed(self, slot: int) -> tuple[Decision, ...]:
        return ("approve", "edit")


@dataclass(frozen=True)
class ToolAction:
    name: str
    args: Any
    description: str | None
    allowed: tuple[Decision, ...]
    args_schema: Mapping[str, Any] | None = None  # per-call pauses: what an edit's arguments must be
    schema: Mapping[str, Any] | None = None  # per-call pauses: the whole decision schema


@dataclass(frozen=True)
class ToolPrompt:
    """Tool calls to review (HumanInTheLoopMiddleware, agent-inbox or per-call shape)."""

    shape: ToolShape
    actions: tuple[ToolAction, ...]

    @property
    def slots(self) -> int:
        return len(self.actions)

    def allowed(self, slot: int) -> tuple[Decision, ...]:
        return self.actions[slot].allowed


@dataclass(frozen=True)
class ValuePrompt:
    """Any other value: shown as JSON, answered with Respond."""

    value: Any

    @property
    def slots(self) -> int:
        return 1

    def allowed(self, slot: int) -> tuple[Decision, ...]:
        return ("respond",)


@dataclass(frozen=True)
class FormPrompt:
    """A pause with a `response_schema`: the question, and a form generated from the schema."""

    question: Any
    schema: Mapping[str, Any]

    @property
    def slots(self) -> int:
        return 1

    def allowed(self, slot: int) -> tuple[Decision, ...]:
        return ("answer",)


@dataclass(frozen=True)
class BreakpointPrompt:
    """A static breakpoint: Continue resumes with None."""

    when: str
    nodes: tuple[str, ...]

    @property
    def slots(self) -> int:
        return 1

    def allowed(self, slot: int) -> tuple[Decision, ...]:
        return ("continue",)


Prompt = TextPrompt | ToolPrompt | ValuePrompt | FormPrompt | BreakpointPrompt

_HITL_DECISIONS: tuple[Decision, ...] = ("approve", "edit", "reject", "respond")


def classify(value: Any, response_schema: Any = None) -> Prompt:
    """The prompt an interrupt value (and the schema its answer must follow, if any) asks for."""
    schema = response_schema if isinstance(response_schema, Mapping) else None
    if isinstance(value, Mapping):
        if value.get("type") == "tool_approval" and isinstance(value.get("name"), str):
            return _tool_approval(value, schema)
        if schema is not None:
            return FormPrompt(value, schema)
        if "action_requests" in value:
            hitl = _hitl(value)
            if hitl is not None:
                return hitl
        if "text_to_revise" in value and isinstance(value["text_to_revise"], str):
            return TextPrompt(value["text_to_revise"], "text_to_revise")
        if len(value) == 1:
            ((key, only),) = value.items()
            if isinstance(only, str):
                return TextPrompt(only, str(key))
    if schema is not None:
        return FormPrompt(value, schema)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        inbox = _inbox(value)
        if inbox is not None:
            return inbox
    return ValuePrompt(value)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _tool_approval(value: Mapping[str, Any], schema: Mapping[str, Any] | None) -> ToolPrompt:
    """LangChain's per-call pause: exactly the decisions its schema allows; Edit typed by the tool's args."""
    allowed = decision_schema.allowed(schema)
    action = ToolAction(
        value["name"],
        value.get("args"),
        _str_or_none(value.get("description")),
        tuple(d for d in _HITL_DECISIONS if d in allowed) if allowed else _HITL_DECISIONS,
        decision_schema.edit_args_schema(schema),
        schema,
    )
    return ToolPrompt("tool_approval", (action,))


def _hitl(value: Mapping[str, Any]) -> ToolPrompt | None:
    requests = value.get("action_requests")
    configs = value.get("review_configs") or []
    if not isinstance(requests, list) or not requests or not isinstance(configs, list):
        return None
    by_name: dict[str, tuple[Decision, ...]] = {}
    for config in configs:
        if isinstance(config, Mapping) and isinstance(config.get("action_name"), str):
            allowed = config.get("allowed_decisions") or list(_HITL_DECISIONS)
            by_name[config["action_name"]] = tuple(d for d in _HITL_DECISIONS if d in allowed)
    actions = []
    for request in requests:
        if not isinstance(request, Mapping) or not isinstance(request.get("name"), str):
            return None
        allowed = by_name.get(request["name"], _HITL_DECISIONS)
        actions.append(
            ToolAction(request["name"], request.get("args"), _str_or_none(request.get("description")), allowed)
        )
    return ToolPrompt("hitl", tuple(actions))


def _inbox(value: Sequence[Any]) -> ToolPrompt | None:
    if not value:
        return None
    actions = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("action_request"), Mapping):
            return None
        request, config = item["action_request"], item.get("config") or {}
        if not isinstance(request.get("action"), str):
            return None
        flags = {
            "approve": config.get("allow_accept", True),
            "edit": config.get("allow_edit", True),
            "reject": config.get("allow_ignore", True),
            "respond": config.get("allow_respond", True),
        }
        allowed = tuple(d for d in _HITL_DECISIONS if flags[d])
        actions.append(
            ToolAction(request["action"], request.get("args"), _str_or_none(item.get("description")), allowed)
        )
    return ToolPrompt("inbox", tuple(actions))


# --- resume values --------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotDecision:
    """One decided slot: what, the value it carries (edited text/args, reason, reply), by whom, and when
    (epoch seconds: when it was made, kept with it so a message redrawn later still says when; not
    part of what a decision is, so two alike decisions compare equal)."""

    decision: Decision
    value: Any = None
    user: str = ""
    at: float = field(default_factory=time.time, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "value": self.value, "user": self.user, "at": self.at}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlotDecision:
        at = data.get("at")  # decisions stored before it was kept have no time: 0, shown without one
        return cls(data["decision"], data.get("value"), data.get("user", ""), at if isinstance(at, (int, float)) else 0.0)


def resume_value(prompt: Prompt, decisions: Sequence[SlotDecision]) -> Any:
    """The resume value for one prompt once all its slots are decided, in the shape it expects."""
    if isinstance(prompt, BreakpointPrompt):
        return None
    if isinstance(prompt, TextPrompt):
        d = decisions[0]
        return prompt.text if d.decision == "approve" else d.value
    if isinstance(prompt, (ValuePrompt, FormPrompt)):
        return decisions[0].value
    if prompt.shape == "inbox":
        return [_inbox_response(a, d) for a, d in zip(prompt.actions, decisions, strict=True)]
    made = [tool_decision(a, d) for a, d in zip(prompt.actions, decisions, strict=True)]
    return made[0] if prompt.shape == "tool_approval" else {"decisions": made}


def tool_decision(action: ToolAction, d: SlotDecision) -> dict[str, Any]:
    if d.decision == "edit":
        return {"type": "edit", "edited_action": {"name": action.name, "args": d.value}}
    if d.decision in ("reject", "respond"):
        out: dict[str, Any] = {"type": d.decision}
        if d.value is not None and d.value != "":
            out["message"] = d.value
        return out
    return {"type": "approve"}


def _inbox_response(action: ToolAction, d: SlotDecision) -> dict[str, Any]:
    if d.decision == "edit":
        return {"type": "edit", "args": {"action": action.name, "args": d.value}}
    if d.decision == "respond":
        return {"type": "response", "args": d.value}
    if d.decision == "reject":  # a person's carries nothing; a deadline's says it timed out
        return {"type": "ignore", "args": d.value if d.value not in (None, "") else None}
    return {"type": "accept", "args": None}


NULL_REPLY = ('null cannot be an answer: a graph is never resumed with null. Write a value, or "null" in quotes '
              "to send the text.")


def parse_reply(text: str) -> Any:
    """A free-text answer: JSON when it is valid JSON, else the string itself."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text
