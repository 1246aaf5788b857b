"""LocalRun.ended_within: how a request waits for a run executing in this process to end."""

from __future__ import annotations

import asyncio

from bot.runs.local_run import LocalRun
from bot.runs.records import RunRecord


def _record() -> RunRecord:
    return RunRecord(run_id="r", thread_id="t", assistant_id="a", status="success")


async def test_a_waiter_wakes_when_the_run_ends_and_leaves_nothing_behind() -> None:
    local = LocalRun()
    waiting = asyncio.ensure_future(local.ended_within(60))
    await asyncio.sleep(0)  # the waiter is registered
    assert not waiting.done()
    final = _record()
    local.end(final)
    assert await waiting is True
    assert local.final is final and local.done.is_set() and not local._end_waiters
    assert await local.ended_within(60) is True  # ended already: answered at once


async def test_a_waiter_gives_up_after_its_seconds_and_the_run_goes_on() -> None:
    local = LocalRun()
    assert await local.ended_within(0.01) is False
    assert not local._end_waiters and not local.done.is_set()
    later = asyncio.ensure_future(local.ended_within(60))
    await asyncio.sleep(0)
    local.end(_record())
    assert await later is True


async def test_a_cancelled_waiter_drops_only_its_own_wait() -> None:
    local = LocalRun()
    cancelled = asyncio.ensure_future(local.ended_within(60))
    other = asyncio.ensure_future(local.ended_within(60))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    assert cancelled.cancelled() and len(local._end_waiters) == 1 and not local.done.is_set()
    local.end(_record())
    assert await other is True and not local._end_waiters
