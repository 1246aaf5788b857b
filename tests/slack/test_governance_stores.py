"""The governance stores on memory, one Redis and a Redis Cluster: the audit trail (oldest first,
trimmed to its maximum), the timers (claimed once), and the N-of-M tally (one Lua script on the
pause's keys, so one cluster slot)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.audit import AuditEntry, MemoryAuditLog, RedisAuditLog
from bot.slack.lifecycle.quorum import MemoryQuorum, RedisQuorum
from bot.slack.lifecycle.timers import MemoryTimers, RedisTimers, Timer
from bot.slack.pause import Pause, PendingInterrupt, Placement
from bot.slack.prompts import SlotDecision
from bot.slack.store import MemoryPauseStore, RedisPauseStore
from tests.conftest import async_client


@pytest.fixture(params=["memory", "redis", "cluster"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield None
        return
    made = async_client(request, request.param)
    yield made
    await made.aclose()


async def test_the_audit_trail_is_oldest_first_and_trimmed(client: Any) -> None:
    log = RedisAuditLog(client, maxlen=3) if client is not None else MemoryAuditLog(maxlen=3)
    thread = str(uuid.uuid4())
    for n in range(5):
        await log.append(AuditEntry(thread, "deploy", f"i{n}", "approve", "U1", at=1000.0 + n,
                                    before={"v": n}, after={"v": n + 1}))
    entries = await log.entries(thread)
    assert [e.interrupt_id for e in entries] == ["i2", "i3", "i4"]
    assert entries[0].before == {"v": 2} and entries[0].after == {"v": 3} and entries[0].at == 1002.0
    assert entries[0].to_json()["time"] == "1970-01-01T00:16:42.000Z"
    assert await log.entries(str(uuid.uuid4())) == []


async def test_timers_are_claimed_once_across_clients(client: Any) -> None:
    if client is None:
        timers: Any = MemoryTimers()
        other: Any = timers
    else:
        timers, other = RedisTimers(client), RedisTimers(client)
    mine = Timer("remind", str(uuid.uuid4()), "c")
    now = time.time() + 10_000  # far from any other test's timers
    await timers.schedule(mine, now)
    claims = await asyncio.gather(*(c.claim(now + 1) for c in (timers, other, timers, other)))
    assert sum(mine in claimed for claimed in claims) == 1
    await timers.done(mine)
    assert await timers.due(mine) is None


async def test_the_tally_counts_each_approver_once_and_reaches_the_quorum_once(client: Any) -> None:
    store: Any = RedisPauseStore(client) if client is not None else MemoryPauseStore()
    quorum: Any = RedisQuorum(client) if client is not None else MemoryQuorum(store)
    pause = Pause(str(uuid.uuid4()), str(uuid.uuid4()), "deploy", "r", (PendingInterrupt("i0", "ok?"),),
                  placement=Placement("C1"), created_at=time.time())
    await store.open(pause)
    approve = SlotDecision("approve", None, "U1")
    assert (await quorum.count(pause, "0.0", approve, 3)).outcome == "counted"
    assert (await quorum.count(pause, "0.0", approve, 3)).outcome == "repeat"
    edited = await quorum.count(pause, "0.0", SlotDecision("edit", "new", "U2"), 3)
    assert edited.outcome == "counted" and edited.approvers == ("U2",)  # the edit resets the others
    results = await asyncio.gather(*(quorum.count(pause, "0.0", SlotDecision("approve", None, u), 3)
                                     for u in ("U3", "U4", "U5")))
    reached = [r for r in results if r.outcome == "reached"]
    assert len(reached) == 1 and [r.outcome for r in results].count("taken") == 1
    assert reached[0].decision == SlotDecision("edit", "new", ",".join(reached[0].approvers))
    assert await quorum.approvers(pause, "0.0") == reached[0].approvers
