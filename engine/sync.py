"""The sync face of an async engine: run a coroutine or an async iterator from synchronous code."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .interrupts import current_task

T = TypeVar("T")
_thread_loops = threading.local()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, wherever that code runs."""
    if _running_loop() is not None:
        # Called synchronously from inside a running loop (a sync node of a sync run calling
        # another graph): run on a fresh loop in a helper thread, keeping the context.
        ctx = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(ctx.run, asyncio.run, coro).result()
    scope = current_task.get()
    if scope is not None and scope.loop is not None and scope.loop.is_running():
        # A sync node running in a worker thread of an async run: use the run's own loop, so
        # loop-bound clients (Redis connections) keep working.
        return asyncio.run_coroutine_threadsafe(coro, scope.loop).result()
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _thread_loops.loop = loop
    return loop.run_until_complete(coro)


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    while True:
        try:
            yield run_sync(agen.__anext__())  # type: ignore[arg-type]
        except StopAsyncIteration:
            return
