"""Run one superstep's tasks at once, as LangGraph's async runner does.

The first task to fail cancels its async siblings (sync ones, already in worker threads, run to
their end); at most `limit` tasks run at a time (the config's `max_concurrency`); and when the run
itself stops (cancelled, or its stream closed by the consumer) every task still running is
cancelled and waited for before the run ends, and what the finished ones returned is handed to
`keep`, so the thread continues from them as LangGraph keeps their writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

CANCELLED = object()  # the result of a task stopped because a sibling failed

Call = Callable[[], Awaitable[Any]]


async def run_together(calls: Sequence[Call], plain_sync: Sequence[bool], is_failure: Callable[[Any], bool], *,
                       limit: int | None = None, keep: Callable[[list[Any]], Awaitable[None]] | None = None,
                       wait_sync: bool = False) -> list[Any]:
    """The calls' results in order (CANCELLED for a call stopped by a sibling's failure).

    `plain_sync[i]`: call i runs a sync node in a thread, which a cancellation cannot stop.
    `wait_sync`: a run that stops waits for those to end and keeps their results, as LangGraph's
    sync runs do (a sync caller waits anyway); else they are left to end on their own."""
    gate = asyncio.Semaphore(limit) if limit else None
    running = [asyncio.ensure_future(call() if gate is None else _gated(call, gate)) for call in calls]
    try:
        if all(plain_sync) and not wait_sync:
            # Nothing to cancel when one fails (sync nodes run to their end): wait for each in turn.
            # (Awaiting a task passes a cancellation on to it, hence not with wait_sync.)
            return [await fut for fut in running]
        sync_ones = {fut for fut, sync in zip(running, plain_sync, strict=True) if sync}
        pending = set(running)
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(is_failure(f.result()) for f in finished):
                # As in LangGraph: async siblings are cancelled; sync ones, already in their
                # threads, run to the end and keep what they wrote.
                for other in pending - sync_ones:
                    other.cancel()
                if pending:
                    await asyncio.wait(pending)
                break
    except BaseException:
        # The run was cancelled or its consumer went away.
        await stop([f for f, sync in zip(running, plain_sync, strict=True) if not (sync and wait_sync)])
        if wait_sync and any(plain_sync):
            await asyncio.wait([f for f, sync in zip(running, plain_sync, strict=True) if sync])
        if keep is not None:
            await keep([f.result() if f.done() and not f.cancelled() else CANCELLED for f in running])
        raise
    return [f.result() if not f.cancelled() else CANCELLED for f in running]


async def stop(futures: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the futures and wait until each has stopped (its node saw the cancellation)."""
    for fut in futures:
        fut.cancel()
    if futures:
        await asyncio.wait(futures)


async def _gated(call: Call, gate: asyncio.Semaphore) -> Any:
    async with gate:
        return await call()


__all__ = ["CANCELLED", "run_together", "stop"]
