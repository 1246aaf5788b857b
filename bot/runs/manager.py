"""The runs layer's one door: the only code that starts or resumes a graph.

HTTP requests, Slack decisions and slash commands all come through `RunManager`. A run joins its
thread's queue (`bot.runs.store`), executes when it holds the thread's lease
(`bot.runs.execution`), and ends with its record, the thread's status and its listeners (the
Slack notifier) updated. Two processes on one Redis therefore never run one thread at once, and
each pause is resumed once; runs of a process that died are adopted (`bot.runs.recovery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.assistant_settings import run_settings_problem
from bot.audit import AuditLog, MemoryAuditLog
from bot.registry import Assistant, Registry
from bot.runs.errors import AnswerRefused, Conflict, Invalid, NotFound, PauseGone
from bot.runs.execution import POLL_S, Executor, Listener
from bot.runs.ids import new_id
from bot.runs.records import RunFailure, RunRecord, ThreadRecord, evolve, now_iso
from bot.runs.recovery import RECOVER_EVERY_S, Recovery
from bot.runs.requests import MULTITASK_STRATEGIES, RunRequest
from bot.runs.store import Records
from bot.runs.threads import ThreadWork
from engine import Checkpointer, CompiledGraph, StateSnapshot

log = logging.getLogger("sluice.runs")

CANCEL_WAIT_S = 10.0  # how long a cancel waits for another process to stop the run
# Told before a thread's records go; what it returns is awaited once they are gone.
DeletionListener = Callable[[str], Awaitable[Callable[[], Awaitable[None]] | None]]


class RunManager:
    def __init__(self, registry: Registry, saver: Checkpointer, records: Records, audit: AuditLog | None = None) -> None:
        self.registry = registry
        self.cancel_wait_s = CANCEL_WAIT_S
        self.audit = audit or MemoryAuditLog()  # every decision on a thread's pauses (`bot.audit`)
        self.saver = saver
        self.records = records
        self._tasks: set[asyncio.Task[Any]] = set()
        self.executor = Executor(registry, saver, records, self.spawn, self.audit)
        self.recovery = Recovery(registry, records, self.executor)
        self.thread_work = ThreadWork(saver, records, self.executor)
        self._watchers: dict[str, list[Callable[[RunRecord], None]]] = {}
        self._on_delete: list[DeletionListener] = []

    # -- wiring --------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self.executor.listeners.append(listener)

    def add_deletion_listener(self, listener: DeletionListener) -> None:
        """Called with the id of each thread this process deletes, before its records go (so it can read
        what hangs on them, e.g. the Slack messages of its pauses); what it returns, if anything, is
        awaited once they are gone."""
        self._on_delete.append(listener)

    def watch_thread(self, thread_id: str, on_run: Callable[[RunRecord], None]) -> Callable[[], None]:
        """Calls `on_run` with each run this process submits on the thread, before the run takes its
        first step (so `listen` from inside it misses none of its events); returns the unwatch."""
        self._watchers.setdefault(thread_id, []).append(on_run)

        def unwatch() -> None:
            watchers = self._watchers.get(thread_id, [])
            if on_run in watchers:
                watchers.remove(on_run)
            if not watchers:
                self._watchers.pop(thread_id, None)

        return unwatch

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Runs `coro` in the background, tracked so that `drain` waits for it on shutdown."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, grace_s: float = 30.0) -> None:
        """Waits for runs and background work in flight (SIGTERM loses no decision)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(self, every_s: float = RECOVER_EVERY_S) -> None:
        """Runs until cancelled: adopts runs whose process stopped renewing their lease."""
        await self.recovery.run_forever(every_s)

    async def adopt_lapsed(self) -> list[str]:
        return await self.recovery.adopt_lapsed()

    def assistant(self, assistant_id: str) -> Assistant:
        found = self.registry.find(assistant_id)
        if found is None:
            raise NotFound(f"Assistant '{assistant_id}' not found")
        return found

    def graph(self, assistant: Assistant) -> CompiledGraph:
        return self.executor.graph(assistant)

    # -- threads -------------------------------------------------------------------------------
    async def create_thread(
        self, thread_id: str | None = None, metadata: dict[str, Any] | None = None, if_exists: str = "raise"
    ) -> ThreadRecord:
        now = now_iso()  # one stamp: created, updated and state-updated as one
        record = ThreadRecord(thread_id=thread_id or new_id(), metadata=dict(metadata or {}), created_at=now,
                              updated_at=now, state_updated_at=now)
        if await self.records.create_thread(record):
            return record
        existing = await self.records.get_thread(record.thread_id)
        if if_exists == "do_nothing" and existing is not None:
            return existing
        raise Conflict(f"Thread with ID {record.thread_id} already exists")

    async def thread(self, thread_id: str) -> ThreadRecord:
        record = await self.records.get_thread(thread_id)
        if record is None:
            raise NotFound(f"Thread with ID {thread_id} not found")
        return record

    async def search_threads(
        self,
        *,
        status: str | None = None,
        metadata: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[ThreadRecord]:
        """Threads newest first that match every filter given."""
        return await self.thread_work.search(status=status, metadata=metadata, values=values, limit=limit, offset=offset)

    async def patch_thread_metadata(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord:
        """Merges keys into a thread's metadata; its status and values stay as a run leaves them."""
        record = await self.records.merge_metadata(thread_id, metadata)
        if record is None:
            raise NotFound(f"Thread with ID {thread_id} not found")
        return record

    async def delete_thread(self, thread_id: str) -> None:
        await self.thread(thread_id)
        afterwards = []
        for listener in self._on_delete:
            try:
                after = await listener(thread_id)
            except Exception:
                log.exception("a deletion listener failed on thread %s", thread_id)
                continue
            if after is not None:
                afterwards.append(after)
        for run_id in await self.records.queued(thread_id):
            local = self.executor.local.get(run_id)
            if local is not None and local.task is not None:
                local.task.cancel()
        await self.saver.delete_thread(thread_id)
        await self.records.delete_thread(thread_id)  # on Redis, with its audit stream and Slack pauses
        await self.audit.forget(thread_id)
        for after in afterwards:
            try:
                await after()
            except Exception:
                log.exception("a deletion listener failed on thread %s", thread_id)

    def thread_graph(self, record: ThreadRecord) -> CompiledGraph:
        """The graph that owns a thread's checkpoints (the thread's last assistant, else any)."""
        return self.executor.thread_graph(record)

    async def state(self, thread_id: str, checkpoint_id: str | None = None, *, subgraphs: bool = False,
                    checkpoint_ns: str = "") -> StateSnapshot:
        """The thread's state, at `checkpoint_id` if given; with `checkpoint_ns`, a subgraph's (as its
        tasks' `checkpoint` in a state with subgraphs names it)."""
        record = await self.thread(thread_id)
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        if checkpoint_ns:
            configurable["checkpoint_ns"] = checkpoint_ns
        return await self.thread_graph(record).aget_state({"configurable": configurable}, subgraphs=subgraphs)

    async def update_state(
        self, thread_id: str, values: Any, *, as_node: str | None = None, checkpoint_id: str | None = None
    ) -> dict[str, Any]:
        """Writes a checkpoint as if `as_node` had returned `values`; returns its config. The thread
        is held meanwhile (runs submitted in between wait), and a thread deleted meanwhile stays
        deleted, checkpoints included."""
        record = await self.thread(thread_id)
        return await self.thread_work.update_state(record, values, as_node=as_node, checkpoint_id=checkpoint_id)

    # -- runs ----------------------------------------------------------------------------------
    async def submit(
        self,
        thread_id: str | None,
        request: RunRequest,
        *,
        if_not_exists: str = "reject",
        temporary: bool = False,
        run_id: str | None = None,
    ) -> RunRecord:
        """Validates and queues a run, and starts executing it in the background. With `run_id`
        given and such a run stored already, that run is returned: submitting twice queues once."""
        assistant = self.assistant(request.assistant_id)
        if request.multitask_strategy not in MULTITASK_STRATEGIES:
            raise Invalid(f"multitask_strategy must be one of {', '.join(MULTITASK_STRATEGIES)}")
        self._check_breakpoints(assistant, request)
        problem = run_settings_problem(request.config, request.metadata)
        if problem:
            raise Invalid(problem)
        if thread_id is None:
            thread = await self.create_thread()
            thread_id = thread.thread_id
            temporary = True
        elif if_not_exists == "create":
            await self.create_thread(thread_id, if_exists="do_nothing")
        now = now_iso()  # one stamp for the run's creation and the thread it makes busy
        run = RunRecord(
            run_id=run_id or new_id(),
            thread_id=thread_id,
            assistant_id=assistant.assistant_id,
            created_at=now,
            updated_at=now,
            metadata=dict(request.metadata),
            kwargs=request.kwargs(),
            multitask_strategy=request.multitask_strategy,
            temporary=temporary,
        )
        strategy = request.multitask_strategy
        busy = {"status": "busy", "graph_id": assistant.graph_id, "updated_at": now,
                "config": request.thread_config()}
        # On an idle thread the run holds it at once and is stored as running in the same step
        # (its first turn done); the caller is answered with the run as submitted, pending.
        running = evolve(run, status="running")
        outcome = await self.records.submit(run, reject_if_busy=strategy == "reject", thread_changes=busy,
                                            start=running)
        if outcome == "no_thread":
            raise NotFound("Thread or assistant not found.")
        if outcome == "exists":  # queued by another process (or earlier): its owner executes it
            return await self.get_run(thread_id, run.run_id)
        if outcome == "busy":
            raise Conflict(
                "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
            )
        if strategy in ("interrupt", "rollback"):
            for other in await self.records.queued(thread_id):
                if other != run.run_id:
                    with contextlib.suppress(NotFound):  # a state update holding the thread is no run
                        await self.cancel(thread_id, other, action=strategy,
                                          reason=f"a newer run took the thread (multitask_strategy={strategy})")
        self.executor.start(run, request, assistant, started=running if outcome == "started" else None)
        for on_run in list(self._watchers.get(thread_id, ())):
            on_run(run)
        return run

    def _check_breakpoints(self, assistant: Assistant, request: RunRequest) -> None:
        for names in (request.interrupt_before, request.interrupt_after):
            if names is None or names == "*":
                continue
            listed = [names] if isinstance(names, str) else list(names)
            unknown = [n for n in listed if n not in assistant.graph.spec.nodes]
            if unknown:
                raise Invalid(f"Interrupt node `{unknown[0]}` not found in graph '{assistant.graph_id}'")

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord:
        run = await self.records.get_run(thread_id, run_id)
        if run is None:  # a stateless run that ended went with its thread: still readable and joinable
            run = await self.records.get_ended(run_id)
        if run is None or run.thread_id != thread_id:
            raise NotFound(f"Run {run_id} not found")
        return run

    async def list_runs(
        self, thread_id: str, *, status: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[RunRecord]:
        """Runs of an existing thread, newest first."""
        await self.thread(thread_id)
        runs = [r for r in await self.records.list_runs(thread_id) if status is None or r.status == status]
        return runs[offset : offset + limit]

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        run = await self.get_run(thread_id, run_id)
        if not run.done:
            raise Conflict("Run is still active: cancel it before deleting it.")
        await self.records.delete_run(thread_id, run_id)

    async def join(self, thread_id: str, run_id: str) -> RunRecord:
        """Waits for the run to end, wherever it executes; returns its final record. A run executing
        here is waited for on its end alone, without reading storage meanwhile: a storage outage
        while it runs fails the run or not, and the waiter learns which (a Slack decision whose run
        was waited for by polling was given back as "not applied" when a poll met the outage)."""
        local = self.executor.local.get(run_id)
        if local is not None:
            await local.done.wait()
            if local.final is not None:
                return local.final
        while True:
            run = await self.get_run(thread_id, run_id)
            if run.done:
                return run
            await asyncio.sleep(POLL_S)

    async def join_within(self, thread_id: str, run_id: str, seconds: float) -> RunRecord | None:
        """The run's final record if it ends within `seconds`, else None (waiting is read-only, so
        stopping it is harmless). A run executing here is waited for on its end alone: one timer."""
        local = self.executor.local.get(run_id)
        if local is not None:
            if not await local.ended_within(seconds):
                return None
            if local.final is not None:
                return local.final
        try:
            async with asyncio.timeout(seconds) as within:
                return await self.join(thread_id, run_id)
        except TimeoutError:
            if not within.expired():  # a TimeoutError of the join's own
                raise
            return None

    def listen(self, run_id: str) -> asyncio.Queue[tuple[str, Any] | None] | None:
        """A queue of the run's stream events from now on (None once it ended or runs elsewhere);
        registered at once so a caller that listens right after `submit` misses nothing."""
        local = self.executor.local.get(run_id)
        if local is None or local.done.is_set():
            return None
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        local.subscribers.append(queue)
        return queue

    async def cancel(self, thread_id: str, run_id: str, action: str = "interrupt",
                     reason: str = "cancelled over the API") -> RunRecord:
        run = await self.get_run(thread_id, run_id)
        if run.done:
            return run
        local = self.executor.local.get(run_id)
        if local is not None and local.task is not None:
            local.cancel = action
            local.cancel_reason = reason
            local.task.cancel()
            await asyncio.gather(local.task, return_exceptions=True)
            if not local.started:  # cancelled before its first step: its code never ran to end it
                await self.executor.end_unstarted(run, local)
        else:  # executing or waiting in another process: mark it; its owner stops it within a second
            was_running = run.status == "running"
            run.status = "interrupted"
            # its owner tells the listeners why, and deletes the record of a rolled-back run as it stops
            run.error = RunFailure("Cancelled", reason, cause="rolled_back" if action == "rollback" else "cancelled")
            run.updated_at = now_iso()
            await self.records.put_run(run)
            stopped = True
            if not was_running:  # a queued run never ran: take it out of the queue now
                idle_status = await self.executor.resting_status(thread_id)
                await self.records.release(thread_id, run_id, idle_status=idle_status)
            else:
                stopped = await self._released(thread_id, run_id)
            if action == "rollback" and stopped:
                await self.records.delete_run(thread_id, run_id)
            # Not stopped yet (its process is stalled, or died and its lease has not lapsed): the record
            # stays, marked, since it is what stops the run: its owner, or the process that adopts it
            # once the lease lapses, reads it, stops it and deletes it. Deleted now, the run would go on.
        try:
            return await self.get_run(thread_id, run_id)
        except NotFound:
            if action != "rollback":
                raise
            return run  # rolled back: its record is deleted, as asked


    async def _released(self, thread_id: str, run_id: str) -> bool:
        """Whether the run's owner stops it and releases the thread within `cancel_wait_s`."""
        for _ in range(max(1, int(self.cancel_wait_s / POLL_S))):
            if run_id not in await self.records.queued(thread_id):
                return True
            await asyncio.sleep(POLL_S)
        return run_id not in await self.records.queued(thread_id)

    # -- the Slack bot's port (bot.slack.ports.Runs) ---------------------------------------------
    async def start(self, assistant_id: str, input: Any, *, config: dict[str, Any], metadata: dict[str, Any]) -> str:
        thread = await self.create_thread(metadata=metadata)
        request = RunRequest(assistant_id=assistant_id, input=input, config=config, metadata=metadata)
        await self.submit(thread.thread_id, request)
        return thread.thread_id

    async def resume(
        self,
        thread_id: str,
        assistant_id: str,
        value: Any,
        *,
        is_breakpoint: bool,
        config: dict[str, Any],
        metadata: dict[str, Any],
        checkpoint_id: str | None = None,
        run_id: str | None = None,
        on_queued: Callable[[], Awaitable[None]] | None = None,
        interrupt_ids: tuple[str, ...] = (),
    ) -> None:
        """Resumes a pause and waits for the run to end; `PauseGone` if it was no longer pending (with
        `interrupt_ids`: if any of those interrupts is no longer pending),
        `AnswerRefused` if the graph refused the answer (the pause stays open). With `run_id`,
        resuming twice (two processes) queues one run; `on_queued` runs once it is queued."""
        request = RunRequest(
            assistant_id=assistant_id,
            input=None,
            command=None if is_breakpoint else {"resume": value},
            config=config,
            metadata=metadata,
            expected_checkpoint=checkpoint_id,
            expected_interrupts=interrupt_ids,
        )
        await self._submit_and_join(thread_id, request, run_id, on_queued)

    async def head(self, thread_id: str) -> str | None:
        """The id of the thread's latest checkpoint (None: no such thread, or no checkpoint yet), as
        stored: not decoded into a state (the Slack side asks it to know whether a thread still exists
        or moved on). A thread deleted between the two reads has no checkpoint left: None too."""
        if await self.records.get_thread(thread_id) is None:
            return None
        saved = await self.saver.load(thread_id, "")
        return saved.id if saved is not None else None

    async def retry(
        self, thread_id: str, assistant_id: str, *, checkpoint_id: str, config: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        """Continues a failed thread from its last checkpoint (the failed step runs again) and waits
        for the run to end; `PauseGone` if the thread is no longer at `checkpoint_id`."""
        request = RunRequest(
            assistant_id=assistant_id, input=None, config=config, metadata=metadata, expected_checkpoint=checkpoint_id
        )
        await self._submit_and_join(thread_id, request)

    async def _submit_and_join(
        self,
        thread_id: str,
        request: RunRequest,
        run_id: str | None = None,
        on_queued: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        run = await self.submit(thread_id, request, run_id=run_id)
        if on_queued is not None:
            await on_queued()
        ended = await self.join(thread_id, run.run_id)
        if ended.error is not None and ended.error.cause == "pause_gone":
            raise PauseGone(ended.error.message)
        if ended.error is not None and ended.error.cause == "answer_refused":
            raise AnswerRefused(ended.error.message)
