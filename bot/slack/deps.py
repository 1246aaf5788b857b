"""The parts every Slack module shares, assembled once by `bot.slack.build`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.audit import AuditLog, MemoryAuditLog
from bot.slack.approvers import Approvers
from bot.slack.dedupe import MemorySeen, Seen
from bot.slack.lanes import Lanes
from bot.slack.lifecycle.timers import MemoryTimers, Timers
from bot.slack.ports import Assistants, Runs, Spawn
from bot.slack.store import PauseStore
from bot.slack.web import SlackCalls


@dataclass
class Deps:
    calls: SlackCalls
    store: PauseStore
    approvers: Approvers
    runs: Runs
    assistants: Assistants
    spawn: Spawn
    default_channel: str | None = None
    seen: Seen = field(default_factory=MemorySeen)  # Slack deliveries already handled
    audit: AuditLog = field(default_factory=MemoryAuditLog)  # every decision (`bot.audit`)
    timers: Timers = field(default_factory=MemoryTimers)  # reminders and deadlines (`bot.slack.lifecycle`)
    lanes: Lanes = field(default_factory=Lanes)  # background work, most urgent first, after the acks
