"""Background work in the order that keeps Slack answered: a few jobs at once, the most urgent first.

Under a burst of clicks, a hundred resumes started together share the event loop evenly with each
other and with the requests still arriving: every ack waits behind them, and every clicker's
message is updated only when all of them are nearly done. A job here first lets the Slack requests
in flight be answered (`AckFirst`, bounded), then takes one of `slots` places, by priority and then
by arrival: the clicked messages are updated first, pauses posted next, new resumes started last.
Each job then finishes sooner, and an ack waits behind at most `slots` of them.

A slot is held only for work, never while waiting on a run (`free()` gives it back early): a slow
graph never holds up anyone else's decisions. Nor while its job waits for Slack's answer, which from
Slack's own Web API takes tens of milliseconds (`outside`: the Web API calls give the slot back for
the wait and take one again, in their turn, for what follows). So a hundred clicks' message updates
wait on Slack together, not `slots` at a time, and `slots` bounds only work on the event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")

URGENT = 0  # what a clicker waits to see: their message updated with who decided what
SOON = 1  # a run's next pause posted, how its run went told in the pause's thread
LATER = 2  # a decision's resume submitted to the runs layer
# bench/slack.py at 100 clicks, Slack 50 ms away, while slots were held during the wait on Slack: update median
# 910-955 ms at 4, 351-362 at 32. Since (`outside`) they bound only work between waits (Redis's included).
SLOTS = 32


class Gate(Protocol):
    async def idle(self) -> None:
        """Returns once no Slack request is being answered (`bot.slack.transport.AckFirst`)."""


class _Held:
    """A job's slot (the job's tasks share it): given back while the job waits on Slack, taken again after."""

    __slots__ = ("lanes", "priority", "held", "ended")

    def __init__(self, lanes: Lanes, priority: int) -> None:
        self.lanes = lanes
        self.priority = priority
        self.held = True
        self.ended = False  # the job's block is over: nothing takes its slot again

    def free(self) -> None:
        if self.held:
            self.held = False
            self.lanes._give()


_HELD: ContextVar[_Held | None] = ContextVar("sluice_lane_slot", default=None)


async def outside(awaitable: Awaitable[T]) -> T:
    """Awaits `awaitable` (an answer from Slack) without the slot the current job holds, if any: the
    slot serves another job meanwhile, and this one takes one again, in its priority's turn, when the
    answer is there. Cancelled while waiting, it takes none (the job is ending)."""
    held = _HELD.get()
    if held is None or not held.held or held.ended:
        return await awaitable
    held.free()
    try:
        answer = await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException:
        await _retake(held)
        raise
    await _retake(held)
    return answer


async def _retake(held: _Held) -> None:
    if held.ended or held.held:  # its block is over, or another of its tasks took the slot again
        return
    await held.lanes._take(held.priority, gated=True)
    if held.ended or held.held:  # (meanwhile): this one is not needed
        held.lanes._give()
    else:
        held.held = True


class Lanes:
    def __init__(self, slots: int = SLOTS, gate: Gate | None = None) -> None:
        self._free = slots
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()
        self._gate = gate

    @asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[Callable[[], None]]:
        """Holds a slot for the block; yields `free`, which gives it back before the block ends."""
        if self._gate is not None:
            await self._gate.idle()
        await self._take(priority)
        held = _Held(self, priority)
        token = _HELD.set(held)
        try:
            yield held.free
        finally:
            held.ended = True
            held.free()
            _HELD.reset(token)

    async def _take(self, priority: int, gated: bool = False) -> None:
        if gated and self._gate is not None:  # the acks of Slack requests still go first
            await self._gate.idle()
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrival), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # given the slot, then cancelled: pass it on
                self._give()
            raise  # (still waiting: its cancelled future is skipped by `_give`)

    def _give(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
