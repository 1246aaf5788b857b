"""The policy of one pause: the assistant's `sluice` settings with the run's own on top.

    config = {"configurable": {"sluice": {"deadline_seconds": 60, "on_timeout": "approve"}}}

A run's keys are the graphs file's keys (`bot.assistant_settings`), checked the same way; the run
wins key by key. What a timeout resumes with depends on the pause's shape (`timeout_decision`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.assistant_settings import AssistantSettings
from bot.slack.prompts import BreakpointPrompt, Prompt, SlotDecision, TextPrompt, ToolPrompt

TIMER = "timer"  # the actor of every decision a deadline makes (never a Slack user id)
RUN_KEY = "sluice"  # config.configurable.<this>: a run's own settings


def run_overrides(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's `config.configurable.sluice` mapping (empty when absent)."""
    configurable = (config or {}).get("configurable") or {}
    raw = configurable.get(RUN_KEY) if isinstance(configurable, Mapping) else None
    return dict(raw) if isinstance(raw, Mapping) else {}


def effective(settings: AssistantSettings, overrides: Mapping[str, Any]) -> AssistantSettings:
    """The assistant's settings with the run's keys replacing theirs (already checked at submit)."""
    if not overrides:
        return settings
    merged = {**settings.model_dump(mode="json", exclude_unset=True), **overrides}
    return AssistantSettings.model_validate(merged)


def requester(metadata: Mapping[str, Any]) -> str | None:
    """Who asked for the run: the Slack user who started it, else the API run's `requested_by`."""
    for key in ("slack_user", "requested_by"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def on_timeout(settings: AssistantSettings) -> str | dict[str, Any]:
    """The configured outcome; "reject" is the default once a deadline is set."""
    chosen = settings.on_timeout
    if chosen is None:
        return "reject"
    if isinstance(chosen, str):
        return chosen
    return {"resume": chosen.resume}


def waited(seconds: float) -> str:
    """`1 h 5 min`, `90 s`: how long a pause waited, in words a message can use."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours and minutes else f"{hours} h" if hours else f"{minutes} min"


def timeout_message(seconds: float) -> str:
    """What a timed-out reject tells the graph: a deadline passed, not a person's choice."""
    return f"Timed out: no decision was made within {waited(seconds)}, so this was not approved."


def timeout_decision(prompt: Prompt, slot: int, outcome: str, seconds: float) -> SlotDecision | None:
    """The decision a deadline takes on one slot, or None when `outcome` means nothing for this shape
    (the pause then expires instead: a text revision cannot be rejected, a question has no approve)."""
    allowed = prompt.allowed(slot)
    if isinstance(prompt, ToolPrompt):
        if outcome == "approve" and "approve" in allowed:
            return SlotDecision("approve", None, TIMER)
        if outcome == "reject" and "reject" in allowed:
            value: Any = timeout_message(seconds)
            return SlotDecision("reject", value, TIMER)
        return None
    if isinstance(prompt, TextPrompt) and outcome == "approve":
        return SlotDecision("approve", None, TIMER)
    if isinstance(prompt, BreakpointPrompt) and outcome == "approve":
        return SlotDecision("continue", None, TIMER)
    return None


def of(pause: Any) -> AssistantSettings:
    """The settings a pause was opened with (`Pause.policy`)."""
    return AssistantSettings.model_validate(pause.policy or {})


def snapshot(settings: AssistantSettings) -> dict[str, Any]:
    """What a pause keeps of its settings (plain JSON)."""
    return settings.model_dump(mode="json", exclude_defaults=True)
