"""The sync face of an async engine: run a coroutine or an async iterator from synchronous code.

A sync call (`invoke`, `stream`) of a graph whose storage and nodes never wait (the in-memory
saver, sync nodes run inline) would spend a sixth of its time in the event loop's machinery: a
task, a selector poll and two loop passes per call. Such a call is run `eager`: its coroutine is
first driven directly, on the calling thread, with the thread's loop marked running (code that
asks for the running loop gets it, as it would inside the loop). When it completes without
waiting, no loop pass was needed. The first time it waits on something (a worker thread running
a fan-out's node, a stream's queue), the loop takes over the suspended coroutine where it stands
and runs it to its end, in a task with the same context.

Eager is only for code known to need no loop task before it first waits: until then there is no
current task, and code that needs one (asyncio.timeout, as Redis clients use it) would fail.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .interrupts import current_task

T = TypeVar("T")
_thread_loops = threading.local()


def run_sync(coro: Coroutine[Any, Any, T], *, eager: bool = False, self_contained: bool = False) -> T:
    """Run a coroutine to completion from synchronous code, wherever that code runs; `eager`: it
    may start outside the loop (see above); `self_contained`: it runs every async generator it
    starts to its end (an invoke does; a stream's item leaves the stream's suspended), so none
    needs the loop's finaliser hooks while it runs eagerly."""
    running = asyncio._get_running_loop()  # no RuntimeError raised and caught, as get_running_loop
    if running is not None and _foreign(running):
        # Called synchronously from code running in someone else's loop (a notebook, an async program).
        return asyncio.run_coroutine_threadsafe(coro, _shared_loop()).result()  # keeps the context
    if running is not None:
        # Called synchronously from inside one of the engine's loops (a sync node of a sync run calling
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
    if not eager or not isinstance(loop, asyncio.BaseEventLoop):
        return loop.run_until_complete(coro)
    return _drive(loop, coro, not self_contained)


def _drive(loop: asyncio.BaseEventLoop, coro: Coroutine[Any, Any, T], hooks_needed: bool) -> T:
    """Run `coro` on this thread until it first waits; the loop runs the rest, if any."""
    ctx = contextvars.copy_context()  # as a task would: the call's context changes stay its own
    # What run_forever sets up, so the code run here sees what it would see inside the loop: the
    # running loop (and is_running(), which a worker thread's run_sync asks), and async generators
    # finalised by this loop. BaseEventLoop's own attributes, as run_forever sets them.
    inner: Any = loop
    hooks = sys.get_asyncgen_hooks() if hooks_needed else None
    if hooks is not None:
        sys.set_asyncgen_hooks(firstiter=inner._asyncgen_firstiter_hook, finalizer=inner._asyncgen_finalizer_hook)
    inner._thread_id = threading.get_ident()
    asyncio._set_running_loop(loop)
    try:
        waiting_on = ctx.run(coro.send, None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        asyncio._set_running_loop(None)
        inner._thread_id = None
        if hooks is not None:
            sys.set_asyncgen_hooks(*hooks)
    return loop.run_until_complete(loop.create_task(_rest(coro, waiting_on), context=ctx))


async def _rest(coro: Coroutine[Any, Any, T], waiting_on: Any) -> T:
    return await _Continue(coro, waiting_on)


class _Continue:
    """Awaitable that hands the task driving it whatever `coro` waits on, and `coro` what comes back:
    the loop's task then runs `coro` from where it was suspended, as if it had run it from the start."""

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as exc:  # noqa: BLE001 - cancellation and the like go to coro
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration as done:
                    return done.value


def iterate_sync(agen: AsyncGenerator[T, None], *, eager: bool = False) -> Iterator[T]:
    """Iterate an async generator from sync code; closing this iterator early (a `break` out of the
    loop reading it) closes the async generator at once, as closing an async stream does.

    Read inside a running loop, the whole iteration runs on one loop in another thread (the shared
    one, or a private one inside the engine's own loops): the stream's tasks live from item to item,
    where a fresh loop per item would cancel them after the first."""
    finished = False
    running = asyncio._get_running_loop()
    private = _PrivateLoop() if running is not None and not _foreign(running) else None
    step = private.run if private is not None else functools.partial(run_sync, eager=eager)
    try:
        while True:
            try:
                item = step(agen.__anext__())
            except StopAsyncIteration:
                finished = True
                return
            except BaseException:
                finished = True  # it raised: nothing left to close
                raise
            yield item
    finally:
        try:
            if not finished:
                step(agen.aclose())
        finally:
            if private is not None:
                private.close()


_shared: asyncio.AbstractEventLoop | None = None
_shared_lock = threading.Lock()


def _shared_loop() -> asyncio.AbstractEventLoop:
    """The loop, in a daemon thread of its own, that runs every sync call made from code running in
    someone else's loop: one loop for all, so what a call leaves bound to its loop (a Redis client's
    connections) serves the next call too."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = asyncio.new_event_loop()
            threading.Thread(target=_shared.run_forever, name="sluice-sync-calls", daemon=True).start()
        return _shared


def _foreign(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a running loop is not one of the engine's (a thread's sync-call loop, the shared one)."""
    return loop is not _shared and loop is not getattr(_thread_loops, "loop", None)


class _PrivateLoop:
    """An event loop of its own, run in one helper thread, one awaitable at a time."""

    def __init__(self) -> None:
        self.ctx = contextvars.copy_context()
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(max_workers=1)

    def run(self, awaitable: Any) -> Any:
        return self.pool.submit(self.ctx.run, self.loop.run_until_complete, awaitable).result()

    def close(self) -> None:
        try:
            self.run(self.loop.shutdown_asyncgens())  # async generators left open inside the stream
        finally:
            self.pool.submit(self.loop.close).result()
            self.pool.shutdown()
