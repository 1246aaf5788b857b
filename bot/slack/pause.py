"""A pause as the bot keeps it: what is pending on a thread, where it was posted, what is decided.

Values that cross the bot's modules; JSON in and out (stored in Redis or in memory, never pickled).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.slack.prompts import BreakpointPrompt, Prompt, classify

SLOT = re.compile(r"^[0-9]+\.[0-9]+$")  # "<prompt>.<slot>", both indexes from 0


@dataclass(frozen=True)
class Placement:
    """Where a pause's messages go: a channel, and a Slack thread in it when there is one."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class PendingInterrupt:
    id: str
    value: Any
    response_schema: dict[str, Any] | None = None  # JSON Schema the answer must follow (LangGraph 1.2)


@dataclass(frozen=True)
class Pause:
    thread_id: str
    checkpoint_id: str
    assistant_id: str
    run_id: str
    interrupts: tuple[PendingInterrupt, ...] = ()
    breakpoint: tuple[str, tuple[str, ...]] | None = None
    summary: str = ""
    placement: Placement | None = None
    ts: str | None = None  # the posted message, once posted
    created_at: float = 0.0
    from_slack: bool = False
    copies: tuple[str, ...] = ()  # earlier messages of this pause (posted again): updated with it

    @property
    def messages(self) -> list[str]:
        """Every posted message of this pause (ts), the current one first."""
        return [self.ts, *self.copies] if self.ts else list(self.copies)

    @property
    def prompts(self) -> list[Prompt]:
        if self.breakpoint is not None and not self.interrupts:
            return [BreakpointPrompt(self.breakpoint[0], self.breakpoint[1])]
        return [classify(i.value, i.response_schema) for i in self.interrupts]

    def slot_keys(self) -> list[str]:
        """Every decision this pause needs, as `"<prompt>.<slot>"`, in order."""
        return [f"{p}.{s}" for p, prompt in enumerate(self.prompts) for s in range(prompt.slots)]

    def interrupt_id(self, prompt_index: int) -> str:
        return self.interrupts[prompt_index].id if prompt_index < len(self.interrupts) else "-"

    def posted(self, placement: Placement, ts: str) -> Pause:
        """Posted (again) at `ts`: a message posted before in the same channel becomes a copy."""
        earlier = [t for t in self.messages if t != ts] if self.placement and placement.channel == self.placement.channel else []
        return replace(self, placement=placement, ts=ts, copies=tuple(earlier))

    def to_json(self) -> str:
        return json.dumps(
            {
                "thread_id": self.thread_id,
                "checkpoint_id": self.checkpoint_id,
                "assistant_id": self.assistant_id,
                "run_id": self.run_id,
                "interrupts": [
                    {"id": i.id, "value": i.value, "response_schema": i.response_schema} for i in self.interrupts
                ],
                "breakpoint": [self.breakpoint[0], list(self.breakpoint[1])] if self.breakpoint else None,
                "summary": self.summary,
                "placement": (
                    {"channel": self.placement.channel, "thread_ts": self.placement.thread_ts}
                    if self.placement
                    else None
                ),
                "ts": self.ts,
                "created_at": self.created_at,
                "from_slack": self.from_slack,
                "copies": list(self.copies),
            },
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Pause:
        data: Mapping[str, Any] = json.loads(raw)
        bp = data.get("breakpoint")
        pl = data.get("placement")
        return cls(
            thread_id=data["thread_id"],
            checkpoint_id=data["checkpoint_id"],
            assistant_id=data["assistant_id"],
            run_id=data["run_id"],
            interrupts=tuple(
                PendingInterrupt(i["id"], i["value"], i.get("response_schema")) for i in data.get("interrupts") or []
            ),
            breakpoint=(bp[0], tuple(bp[1])) if bp else None,
            summary=data.get("summary", ""),
            placement=Placement(pl["channel"], pl.get("thread_ts")) if pl else None,
            ts=data.get("ts"),
            created_at=float(data.get("created_at") or 0.0),
            from_slack=bool(data.get("from_slack")),
            copies=tuple(data.get("copies") or ()),
        )


@dataclass(frozen=True)
class ButtonRef:
    """What a button (or a modal's private_metadata) carries: ids only, never the payload."""

    thread_id: str
    checkpoint_id: str
    interrupt_id: str
    slot: str  # "<prompt>.<slot>"
    decision: str = field(default="")

    def encode(self) -> str:
        return "|".join((self.thread_id, self.checkpoint_id, self.interrupt_id, self.slot, self.decision))

    @classmethod
    def decode(cls, raw: str) -> ButtonRef | None:
        parts = raw.split("|")
        if len(parts) != 5 or not all(parts[:4]) or not SLOT.match(parts[3]):
            return None
        return cls(*parts)

    @property
    def prompt_index(self) -> int:
        return int(self.slot.split(".")[0])

    @property
    def slot_index(self) -> int:
        return int(self.slot.split(".")[1])
