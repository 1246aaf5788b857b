"""Background work in the order that keeps Slack answered: a few jobs at once, the most urgent first.

Under a burst of clicks, a hundred resumes started together share the event loop evenly with each
other and with the requests still arriving: every ack waits behind them, and every clicker's
message is updated only when all of them are nearly done. A job here first lets the Slack requests
in flight be answered (`AckFirst`, bounded), then takes one of `slots` places, by priority and then
by arrival: the clicked messages are updated first, pauses posted next, new resumes started last.
Each job then finishes sooner, and an ack waits behind at most `slots` of them.

A slot is held only for work, never while waiting on a run (`free()` gives it back early): a slow
graph never holds up anyone else's decisions. It is held while its job waits for Slack's answer,
though, which from Slack's own Web API takes tens of milliseconds: hence `SLOTS` is 32, not 4 (at
4, a hundred clicks' updates went out four Slack round trips at a time).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

URGENT = 0  # what a clicker waits to see: their message updated with who decided what
SOON = 1  # a run's next pause posted, how its run went told in the pause's thread
LATER = 2  # a decision's resume submitted to the runs layer
SLOTS = 32  # bench/slack.py at 100 clicks, Slack 50 ms away: update median 910-955 ms at 4, 351-362 at 32


class Gate(Protocol):
    async def idle(self) -> None:
        """Returns once no Slack request is being answered (`bot.slack.transport.AckFirst`)."""


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
        held = True

        def free() -> None:
            nonlocal held
            if held:
                held = False
                self._give()

        try:
            yield free
        finally:
            free()

    async def _take(self, priority: int) -> None:
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
