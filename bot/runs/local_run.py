"""What this process keeps of a run it executes (`bot.runs.execution.Executor`): its end, for the
requests that wait on it, its stream subscribers, its cancel, and its lease renewal's timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.runs.records import RunRecord

CANCEL_CHECK_S = 0.5  # a run renews its lease (and looks for a cancel from another process) this often


@dataclass
class LocalRun:
    """What this process knows of a run it executes: its wake-ups and stream subscribers."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    subscribers: list[asyncio.Queue[tuple[str, Any] | None]] = field(default_factory=list)
    cancel: str | None = None  # "interrupt" | "rollback" once cancelled
    cancel_reason: str = ""  # who or what cancelled it, as the listeners are told
    task: asyncio.Task[None] | None = None
    final: RunRecord | None = None  # the ended record (a stateless run's is deleted with its thread)
    thread_changes: dict[str, Any] = field(default_factory=dict)  # applied to the thread as the run ends
    started: bool = False
    last_values: Any = None  # the run's latest root values chunk: what wait/join answer if it is cancelled
    _end_waiters: list[asyncio.Future[bool]] = field(default_factory=list, init=False, repr=False)

    def end(self, final: RunRecord) -> None:
        """The run ended as `final`: wakes whoever waits for it."""
        self.final = final
        self.done.set()
        for waiter in self._end_waiters:
            if not waiter.done():
                waiter.set_result(True)
        self._end_waiters.clear()

    async def ended_within(self, seconds: float) -> bool:
        """Whether the run ends within `seconds`. One future and one loop timer: an Event's wait under
        asyncio.timeout costs more per wait (a timeout object, its context, the Event's own future),
        which every runs.wait paid. A cancelled caller drops only its own future."""
        if self.done.is_set():
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._end_waiters.append(waiter)
        timer = loop.call_later(seconds, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            if waiter in self._end_waiters:
                self._end_waiters.remove(waiter)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)



class Renewal:
    """A run's lease renewal, begun CANCEL_CHECK_S after the run took its thread: until then a timer,
    then the renewing task. Most runs end sooner, and cost a timer instead of a task made, woken and
    cancelled (about 35K instructions a seed cycle on Redis)."""

    def __init__(self, renew: Callable[[float], Coroutine[Any, Any, None]]) -> None:
        loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = loop.call_later(CANCEL_CHECK_S, self._begin, renew, loop.time())

    def _begin(self, renew: Callable[[float], Coroutine[Any, Any, None]], began: float) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(renew(began))

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
