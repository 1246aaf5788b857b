"""A pause as the bot keeps it: what is pending on a thread, where it was posted, what is decided.

Values that cross the bot's modules; JSON in and out (stored in Redis or in memory, never pickled).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from bot.slack.prompts import BreakpointPrompt, FormPrompt, Prompt, ToolPrompt, classify

SLOT = re.compile(r"^[0-9]+\.[0-9]+$")  # "<prompt>.<slot>", both indexes from 0
# Decisions one message shows: a group needing more (a review of many tool calls, many questions
# asked at once) is split over several messages, so that every slot keeps its buttons within Slack's
# 50 blocks a message. A tool call takes up to 3 blocks (the call, then its buttons or its decision and
# what was sent); any other prompt up to 4 (title, text, then the same two); a prompt of several in the
# group 1 more ("Interrupt k of n"); the headline, part, notes, note and footer take the rest.
PAGE_SLOTS = 14
PAGE_BLOCKS = 3 * PAGE_SLOTS


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
    ts: str | None = None  # the (first group's) posted message, once posted
    created_at: float = 0.0
    from_slack: bool = False
    copies: tuple[str, ...] = ()  # earlier messages of this pause (posted again): updated with it
    more_ts: tuple[str, ...] = ()  # the other messages (`units`: other groups', other pages'), in order
    # Governance (bot.slack.lifecycle): the effective settings, the run's own ones (carried to the
    # next pause), who asked for the run, the current deadline, where it was escalated.
    policy: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    requester: str | None = None
    deadline_at: float | None = None
    escalated: Placement | None = None  # the escalation's (first) message: channel and ts
    escalated_more: tuple[str, ...] = ()  # the escalation's other messages (same order as `more_ts`)
    # The thread checkpoint a decision resumes at, when it is not `checkpoint_id`: a pause opened by a
    # state update (`Notifier._updated`) is keyed apart from the question its Continue brings back on
    # the same checkpoint.
    head: str | None = None

    @property
    def at(self) -> str:
        """The thread checkpoint this pause waits at (what a resume expects the thread's head to be)."""
        return self.head or self.checkpoint_id

    @property
    def messages(self) -> list[str]:
        """Every posted message of this pause (ts), the current ones first."""
        return [t for _, t, _ in self._own_refs()]

    def units(self) -> list[tuple[int, int]]:
        """(group, page) of each message the pause is posted as, in posting order (`ts`, then `more_ts`)."""
        return [(g, k) for g in range(len(self.groups)) for k in range(len(self.pages(g)))]

    def pages(self, group: int) -> list[tuple[str, ...]]:
        """The slots each message of a group shows, in order: as many as fit in PAGE_BLOCKS blocks."""
        several = len(self.prompts) > 1
        pages: list[list[str]] = [[]]
        used = 0
        for slot in self.group_slots(group):
            p, s = (int(x) for x in slot.split("."))
            prompt = self.prompts[p]
            cost = 3 if isinstance(prompt, ToolPrompt) else 4
            opens = several and (s == 0 or not pages[-1])  # its "Interrupt k of n" on this page
            if pages[-1] and used + cost + (1 if several and s == 0 else 0) > PAGE_BLOCKS:
                pages.append([])
                used = 0
                opens = several
            used += cost + (1 if opens else 0)
            pages[-1].append(slot)
        return [tuple(page) for page in pages]

    def _own_refs(self) -> list[tuple[int, str, int]]:
        """(group, ts, page) of every posted message, copies (earlier posts of the first) included."""
        posted = [self.ts, *self.more_ts] if self.ts else []
        refs = [(g, t, k) for (g, k), t in zip(self.units(), posted, strict=False) if t]
        return refs + [(0, t, 0) for t in self.copies]

    def messages_of(self, group: int) -> list[str]:
        """The posted messages of one group, in page order (the first group's copies after)."""
        return [t for g, t, _ in self._own_refs() if g == group]

    def page_refs(self, group: int) -> list[tuple[str, str, int]]:
        """(channel, ts, page) of every message showing this group: its own and copies, and the
        escalation's (which repeats every message of the pause in its channel)."""
        refs = [(self.placement.channel, t, k) for g, t, k in self._own_refs() if g == group] if self.placement else []
        if self.escalated is not None and self.escalated.thread_ts:
            posted = [self.escalated.thread_ts, *self.escalated_more]
            refs += [(self.escalated.channel, t, k) for (g, k), t in zip(self.units(), posted, strict=False) if g == group]
        return refs

    def message_refs(self, group: int) -> list[tuple[str, str]]:
        """(channel, ts) of every message showing this group (see `page_refs`)."""
        return [(channel, t) for channel, t, _ in self.page_refs(group)]

    @cached_property
    def prompts(self) -> list[Prompt]:
        if self.breakpoint is not None and not self.interrupts:
            return [BreakpointPrompt(self.breakpoint[0], self.breakpoint[1])]
        return [classify(i.value, i.response_schema) for i in self.interrupts]

    @cached_property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """Prompts posted in one message and resumed together, in order.

        A typed pause (a form, or LangChain's per-call tool approval) is a group of its own: its
        message is decided and resumed alone, by its interrupt id, while the others stay pending.
        The other prompts of the pause share one message and are resumed together.
        """
        alone = [p for p, prompt in enumerate(self.prompts) if _stands_alone(prompt)]
        shared = tuple(p for p in range(len(self.prompts)) if p not in alone)
        return tuple(sorted([(p,) for p in alone] + ([shared] if shared else [])))

    def group_of(self, prompt_index: int) -> int:
        return next(g for g, members in enumerate(self.groups) if prompt_index in members)

    def group_slots(self, group: int) -> list[str]:
        """The decisions one group needs, as `"<prompt>.<slot>"`."""
        return [f"{p}.{s}" for p in self.groups[group] for s in range(self.prompts[p].slots)]

    def group_at(self, ts: str) -> int | None:
        """The group whose message (or copy) is `ts`."""
        return next((g for g in range(len(self.groups)) if ts in self.messages_of(g)), None)

    def slot_keys(self) -> list[str]:
        """Every decision this pause needs, as `"<prompt>.<slot>"`, in order."""
        return [f"{p}.{s}" for p, prompt in enumerate(self.prompts) for s in range(prompt.slots)]

    def interrupt_id(self, prompt_index: int) -> str:
        return self.interrupts[prompt_index].id if prompt_index < len(self.interrupts) else "-"

    def posted(self, placement: Placement, ts: str, more_ts: tuple[str, ...] = ()) -> Pause:
        """Posted (again) at `ts` (and its other messages at `more_ts`, see `units`): a first message
        posted before in the same channel becomes a copy."""
        same_channel = self.placement and placement.channel == self.placement.channel
        earlier = [t for t in ([self.ts] if self.ts else []) + list(self.copies) if t != ts] if same_channel else []
        return replace(self, placement=placement, ts=ts, copies=tuple(earlier), more_ts=more_ts)

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
                "more_ts": list(self.more_ts),
                "created_at": self.created_at,
                "from_slack": self.from_slack,
                "copies": list(self.copies),
                "policy": dict(self.policy),
                "overrides": dict(self.overrides),
                "requester": self.requester,
                "deadline_at": self.deadline_at,
                "escalated": [self.escalated.channel, self.escalated.thread_ts] if self.escalated else None,
                "escalated_more": list(self.escalated_more),
                "head": self.head,
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
            more_ts=tuple(data.get("more_ts") or ()),
            created_at=float(data.get("created_at") or 0.0),
            from_slack=bool(data.get("from_slack")),
            copies=tuple(data.get("copies") or ()),
            policy=data.get("policy") or {},
            overrides=data.get("overrides") or {},
            requester=data.get("requester"),
            deadline_at=data.get("deadline_at"),
            escalated=Placement(*data["escalated"]) if data.get("escalated") else None,
            escalated_more=tuple(data.get("escalated_more") or ()),
            head=data.get("head"),
        )


def _stands_alone(prompt: Prompt) -> bool:
    return isinstance(prompt, FormPrompt) or (isinstance(prompt, ToolPrompt) and prompt.shape == "tool_approval")


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
