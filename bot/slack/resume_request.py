"""What a decision resumes a pause with: the value, the run's config and metadata (pure).

The config carries the pause's place (the next pause goes to the same channel and Slack thread) and
the run's own settings (`config.configurable.sluice`, which hold for its next pauses too); the
metadata says who decided and which pause and message it was, so what the run does next is told in
that pause's Slack thread (`bot.slack.outcomes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.lifecycle import policy
from bot.slack.lifecycle.quorum import SEPARATOR
from bot.slack.outcomes import DECIDED_AT, DECIDED_BY, DECIDED_GROUP, DECIDED_PAUSE, SLACK_ORIGIN
from bot.slack.pause import Pause
from bot.slack.prompts import BreakpointPrompt, SlotDecision, resume_value


@dataclass(frozen=True)
class ResumeRequest:
    value: Any
    is_breakpoint: bool
    config: dict[str, Any]
    metadata: dict[str, Any]


def run_config(pause: Pause) -> dict[str, Any]:
    """The resumed run's config: the pause's channel and Slack thread, and the run's own settings."""
    configurable: dict[str, Any] = {}
    if pause.placement:
        configurable["slack_channel"] = pause.placement.channel
        if pause.placement.thread_ts:
            configurable["slack_thread_ts"] = pause.placement.thread_ts
    if pause.overrides:  # the run's own settings hold for its next pauses too
        configurable[policy.RUN_KEY] = dict(pause.overrides)
    return {"configurable": configurable}


def for_group(pause: Pause, group: int, decided: Mapping[str, SlotDecision], decided_at: float) -> ResumeRequest:
    """The resume of one group of the pause (all of it when it has one group) from its decisions: a
    plain value for a pause of one interrupt, else a map by interrupt id of the group's."""
    prompts = pause.prompts
    values = {
        p: resume_value(prompts[p], [decided[f"{p}.{s}"] for s in range(prompts[p].slots)])
        for p in pause.groups[group]
    }
    value: Any = values[0] if len(prompts) == 1 else {pause.interrupts[p].id: v for p, v in values.items()}
    mine = pause.group_slots(group)
    metadata: dict[str, Any] = {
        DECIDED_BY: sorted({u for s, d in decided.items() if s in mine for u in d.user.split(SEPARATOR)}),
        DECIDED_PAUSE: pause.checkpoint_id,  # what the run does next is told in this pause's thread
        DECIDED_GROUP: group,  # ... under this group's message
        DECIDED_AT: decided_at,
    }
    if pause.from_slack:
        metadata[SLACK_ORIGIN] = True
    if pause.requester:
        metadata["requested_by"] = pause.requester
    is_breakpoint = len(prompts) == 1 and isinstance(prompts[0], BreakpointPrompt)
    return ResumeRequest(value, is_breakpoint, run_config(pause), metadata)
