"""The runs layer: the only code that starts or resumes a graph.

HTTP requests, Slack decisions and slash commands all come through `RunManager.submit`. A run
joins its thread's queue (`bot.record_store`), executes when it holds the thread's lease, and
ends with its record, the thread's status and its listeners (the Slack notifier) updated. Two
processes on one Redis therefore never run one thread at once, and each pause is resumed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from bot.plain_json import to_wire
from bot.record_store import Records
from bot.records import RunRecord, ThreadRecord, now_iso
from bot.registry import Assistant, Registry
from bot.run_events import RunEvent
from bot.run_request import (
    MULTITASK_STRATEGIES,
    PauseGone,
    RunRequest,
    RunsError,
    breakpoint_of,
    command_from_json,
)
from engine import Checkpointer, CompiledGraph, StateSnapshot
from engine.errors import CheckpointConflict, SluiceError

log = logging.getLogger("sluice.runs")

POLL_S = 0.05
CANCEL_CHECK_S = 0.5
RECOVER_EVERY_S = 2.0
SWEEP_BATCH = 1000
RELEASE_RETRIES_S = (0.2, 0.5, 1.0)
Listener = Callable[[RunEvent], Awaitable[None]]


@dataclass
class _Local:
    """What this process knows of a run it executes: its wake-ups and stream subscribers."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    subscribers: list[asyncio.Queue[tuple[str, Any] | None]] = field(default_factory=list)
    cancel: str | None = None  # "interrupt" | "rollback" once cancelled
    task: asyncio.Task[None] | None = None
    final: RunRecord | None = None  # the ended record (a stateless run's is deleted with its thread)
    thread_changes: dict[str, Any] = field(default_factory=dict)  # applied to the thread as the run ends
    started: bool = False


class RunManager:
    def __init__(self, registry: Registry, saver: Checkpointer, records: Records) -> None:
        self.registry = registry
        self.saver = saver
        self.records = records
        self._listeners: list[Listener] = []
        self._local: dict[str, _Local] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake: dict[str, asyncio.Event] = {}
        self._ended_stateless: dict[str, RunRecord] = {}  # joinable after their thread is deleted

    # -- wiring --------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

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

    def assistant(self, assistant_id: str) -> Assistant:
        found = self.registry.find(assistant_id)
        if found is None:
            raise RunsError(404, f"Assistant '{assistant_id}' not found")
        return found

    def graph(self, assistant: Assistant) -> CompiledGraph:
        return assistant.graph.with_checkpointer(self.saver)

    # -- threads -------------------------------------------------------------------------------
    async def create_thread(
        self, thread_id: str | None = None, metadata: dict[str, Any] | None = None, if_exists: str = "raise"
    ) -> ThreadRecord:
        record = ThreadRecord(thread_id=thread_id or str(uuid.uuid4()), metadata=dict(metadata or {}))
        if await self.records.create_thread(record):
            return record
        existing = await self.records.get_thread(record.thread_id)
        if if_exists == "do_nothing" and existing is not None:
            return existing
        raise RunsError(409, f"Thread with ID {record.thread_id} already exists")

    async def thread(self, thread_id: str) -> ThreadRecord:
        record = await self.records.get_thread(thread_id)
        if record is None:
            raise RunsError(404, f"Thread with ID {thread_id} not found")
        return record

    async def delete_thread(self, thread_id: str) -> None:
        await self.thread(thread_id)
        for run_id in await self.records.queued(thread_id):
            local = self._local.get(run_id)
            if local is not None and local.task is not None:
                local.task.cancel()
        await self.saver.delete_thread(thread_id)
        await self.records.delete_thread(thread_id)

    def thread_graph(self, record: ThreadRecord) -> CompiledGraph:
        """The graph that owns a thread's checkpoints (the thread's last assistant, else any)."""
        assistant = self.registry.find(record.graph_id or "") or next(iter(self.registry), None)
        if assistant is None:
            raise RunsError(404, "No graphs are loaded")
        return self.graph(assistant)

    async def state(self, thread_id: str, checkpoint_id: str | None = None, *, subgraphs: bool = False) -> StateSnapshot:
        record = await self.thread(thread_id)
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        return await self.thread_graph(record).aget_state({"configurable": configurable}, subgraphs=subgraphs)

    # -- runs ----------------------------------------------------------------------------------
    async def submit(
        self, thread_id: str | None, request: RunRequest, *, if_not_exists: str = "reject", temporary: bool = False
    ) -> RunRecord:
        """Validates and queues a run, and starts executing it in the background."""
        assistant = self.assistant(request.assistant_id)
        if request.multitask_strategy not in MULTITASK_STRATEGIES:
            raise RunsError(422, f"multitask_strategy must be one of {', '.join(MULTITASK_STRATEGIES)}")
        self._check_breakpoints(assistant, request)
        if thread_id is None:
            thread = await self.create_thread()
            thread_id = thread.thread_id
            temporary = True
        elif if_not_exists == "create":
            await self.create_thread(thread_id, if_exists="do_nothing")
        run = RunRecord(
            run_id=str(uuid.uuid4()),
            thread_id=thread_id,
            assistant_id=assistant.assistant_id,
            metadata=dict(request.metadata),
            kwargs=request.kwargs(),
            multitask_strategy=request.multitask_strategy,
            temporary=temporary,
        )
        strategy = request.multitask_strategy
        busy = {"status": "busy", "graph_id": assistant.graph_id, "updated_at": now_iso()}
        outcome = await self.records.submit(run, reject_if_busy=strategy == "reject", thread_changes=busy)
        if outcome == "no_thread":
            raise RunsError(404, "Thread or assistant not found.")
        if outcome == "busy":
            raise RunsError(
                409,
                "Thread is already running a task. Wait for it to finish or choose a different multitask strategy.",
            )
        if strategy in ("interrupt", "rollback"):
            for other in await self.records.queued(thread_id):
                if other != run.run_id:
                    await self.cancel(thread_id, other, action=strategy)
        local = _Local()
        self._local[run.run_id] = local
        local.task = self.spawn(self._execute(run, request, assistant, local))
        return run

    def _check_breakpoints(self, assistant: Assistant, request: RunRequest) -> None:
        for names in (request.interrupt_before, request.interrupt_after):
            if names is None or names == "*":
                continue
            listed = [names] if isinstance(names, str) else list(names)
            unknown = [n for n in listed if n not in assistant.graph.spec.nodes]
            if unknown:
                raise RunsError(422, f"Interrupt node `{unknown[0]}` not found in graph '{assistant.graph_id}'")

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord:
        run = await self.records.get_run(thread_id, run_id)
        if run is None:
            raise RunsError(404, f"Run {run_id} not found")
        return run

    async def join(self, thread_id: str, run_id: str) -> RunRecord:
        """Waits for the run to end, wherever it executes; returns its final record."""
        local = self._local.get(run_id)
        while True:
            if run_id in self._ended_stateless:
                return self._ended_stateless[run_id]
            if local is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await local.done.wait()
                if local.final is not None:
                    return local.final
            run = await self.get_run(thread_id, run_id)
            if run.done:
                return run
            if local is None:
                await asyncio.sleep(POLL_S)

    def listen(self, run_id: str) -> asyncio.Queue[tuple[str, Any] | None] | None:
        """A queue of the run's stream events from now on (None once it ended or runs elsewhere);
        registered at once so a caller that listens right after `submit` misses nothing."""
        local = self._local.get(run_id)
        if local is None or local.done.is_set():
            return None
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        local.subscribers.append(queue)
        return queue

    async def cancel(self, thread_id: str, run_id: str, action: str = "interrupt") -> RunRecord:
        run = await self.get_run(thread_id, run_id)
        if run.done:
            return run
        local = self._local.get(run_id)
        if local is not None and local.task is not None:
            local.cancel = action
            local.task.cancel()
            await asyncio.gather(local.task, return_exceptions=True)
            if not local.started:  # cancelled before its first step: its code never ran to end it
                run.status = "interrupted"
                run.updated_at = now_iso()
                await self._finish(run, local, None)
        else:  # executing or waiting in another process: mark it; its owner stops it within a second
            was_running = run.status == "running"
            run.status = "interrupted"
            run.updated_at = now_iso()
            await self.records.put_run(run)
            if not was_running:  # a queued run never ran: take it out of the queue now
                await self.records.release(thread_id, run_id, idle_status=await self._resting_status(thread_id))
            else:
                for _ in range(int(10 / POLL_S)):  # the owner releases the thread once it stopped
                    if run_id not in await self.records.queued(thread_id):
                        break
                    await asyncio.sleep(POLL_S)
        return await self.get_run(thread_id, run_id)

    # -- execution -----------------------------------------------------------------------------
    async def _wait_turn(self, run: RunRecord) -> None:
        """Waits until the run holds its thread, then records it as running (in the same step)."""
        running = replace(run, status="running", updated_at=now_iso())
        while True:
            if await self.records.turn(run.thread_id, run.run_id, start=running):
                run.status, run.updated_at = running.status, running.updated_at
                return
            current = await self.records.get_run(run.thread_id, run.run_id)
            if current is None or current.done:
                raise asyncio.CancelledError
            wake = self._wake.setdefault(run.thread_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await wake.wait()

    # -- taking over the runs of processes that died -------------------------------------------
    async def recover(self, every_s: float = RECOVER_EVERY_S) -> None:
        """Runs until cancelled: adopts runs whose process stopped renewing their lease."""
        while True:
            try:
                await self.adopt_lapsed()
            except Exception:
                log.exception("looking for runs of stopped processes failed; retrying")
            await asyncio.sleep(every_s)

    async def adopt_lapsed(self) -> list[str]:
        adopted = []
        # Threads that finished leave their entry for this sweep to drop: one command less per run.
        for thread_id in await self.records.lapsed(limit=SWEEP_BATCH):
            run_id = await self.records.adopt(thread_id)
            if run_id is None:
                continue
            if await self._continue_orphan(thread_id, run_id):
                adopted.append(run_id)
        return adopted

    async def _continue_orphan(self, thread_id: str, run_id: str) -> bool:
        run = await self.records.get_run(thread_id, run_id)
        assistant = self.registry.find(run.assistant_id) if run is not None else None
        if run is None or run.done or assistant is None:
            await self.records.release(thread_id, run_id)
            return False
        kwargs = run.kwargs
        request = RunRequest(
            assistant_id=assistant.graph_id,
            input=kwargs.get("input"),
            command=kwargs.get("command"),
            config=kwargs.get("config") or {},
            metadata=run.metadata,
            interrupt_before=kwargs.get("interrupt_before"),
            interrupt_after=kwargs.get("interrupt_after"),
            checkpoint_id=kwargs.get("checkpoint_id"),
            stream_mode=tuple(kwargs.get("stream_mode") or ("values",)),
            context=kwargs.get("context"),
            adopted=True,
        )
        state = await self.graph(assistant).aget_state({"configurable": {"thread_id": thread_id}})
        if (state.metadata or {}).get("run_id") == run_id:
            # It had checkpointed: continue from there (an answered pause re-runs with its answer).
            request = replace(request, input=None, command=None, checkpoint_id=None)
        log.warning("run %s of thread %s lost its process; continuing it here", run_id, thread_id)
        local = _Local()
        self._local[run_id] = local
        local.task = self.spawn(self._execute(run, request, assistant, local))
        return True

    async def _renew(self, run: RunRecord, local: _Local) -> None:
        """Keeps the lease while the run executes, and stops the run when another process cancelled it."""
        renew_every = self.records.lease_ms / 3000
        last_renew = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(CANCEL_CHECK_S)
            try:
                stored = await self.records.get_run(run.thread_id, run.run_id)
                if stored is not None and stored.status == "interrupted" and local.task is not None:
                    local.cancel = local.cancel or "interrupt"
                    local.task.cancel()
                    return
                if asyncio.get_running_loop().time() - last_renew >= renew_every:
                    await self.records.turn(run.thread_id, run.run_id)
                    last_renew = asyncio.get_running_loop().time()
            except Exception:  # Redis hiccup: try again next time; a long outage lets the lease lapse
                log.warning("renewing the lease of run %s failed; retrying", run.run_id, exc_info=True)

    async def _execute(self, run: RunRecord, request: RunRequest, assistant: Assistant, local: _Local) -> None:
        local.started = True
        renew: asyncio.Task[None] | None = None
        event: RunEvent | None = None
        try:
            await self._wait_turn(run)
            renew = asyncio.get_running_loop().create_task(self._renew(run, local))
            event = await self._run_graph(run, request, assistant, local)
        except PauseGone as exc:  # nothing ran: the thread keeps its status
            run.status = "error"
            run.result = {"__error__": {"error": "PauseGone", "message": exc.detail}}
        except asyncio.CancelledError:
            run.status = "interrupted"
            run.result = run.result or {"__error__": {"error": "Cancelled", "message": "the run was cancelled"}}
        except Exception as exc:  # a bug of ours or storage failure: the run fails, the server lives
            log.exception("run %s failed outside the graph", run.run_id)
            run.status = "error"
            run.result = {"__error__": {"error": type(exc).__name__, "message": str(exc)}}
            local.thread_changes = {"status": "error", "error": run.result["__error__"]}
        finally:
            if renew is not None:
                renew.cancel()
            run.updated_at = now_iso()
            run.result = to_wire(run.result)
            await asyncio.shield(self._finish(run, local, event))

    async def _finish(self, run: RunRecord, local: _Local, event: RunEvent | None) -> None:
        if event is not None:
            for listener in self._listeners:
                try:
                    await listener(event)
                except Exception:
                    log.exception("a run listener failed on %s of thread %s", event.kind, event.thread_id)
        try:
            await self._release(run, local)
        except Exception:
            # The thread stays leased to this run until the lease lapses; then a process adopts
            # the run and continues it from its last checkpoint, so nothing is lost.
            log.exception("run %s of thread %s ended but storing its end failed", run.run_id, run.thread_id)
        finally:
            if run.temporary:
                self._ended_stateless[run.run_id] = run
                while len(self._ended_stateless) > 1000:
                    self._ended_stateless.pop(next(iter(self._ended_stateless)))
                with contextlib.suppress(Exception):
                    await self.saver.delete_thread(run.thread_id)
                    await self.records.delete_thread(run.thread_id)
            local.final = run
            local.done.set()
            for queue in local.subscribers:
                queue.put_nowait(None)
            self._wake.setdefault(run.thread_id, asyncio.Event()).set()
            self._wake.pop(run.thread_id, None)
            self._local.pop(run.run_id, None)

    async def _release(self, run: RunRecord, local: _Local) -> None:
        """Stores the run's end and hands the thread on; retried briefly through a Redis hiccup."""
        changes = {**local.thread_changes, "updated_at": now_iso()} if local.thread_changes else None
        idle_status = "idle" if changes else await self._resting_status(run.thread_id)
        for pause_s in (*RELEASE_RETRIES_S, None):
            try:
                await self.records.release(
                    run.thread_id,
                    run.run_id,
                    final=run,
                    delete_run=local.cancel == "rollback",
                    thread_changes=changes,
                    idle_status=idle_status,
                )
                return
            except Exception:
                if pause_s is None:
                    raise
                await asyncio.sleep(pause_s)

    async def _resting_status(self, thread_id: str) -> str:
        """The status of a thread whose run ended without running (refused, cancelled): what its
        checkpoints say, not the `busy` the run had set."""
        try:
            record = await self.records.get_thread(thread_id)
            if record is None:
                return "idle"
            state = await self.thread_graph(record).aget_state({"configurable": {"thread_id": thread_id}})
        except Exception:
            log.exception("reading thread %s after its run failed", thread_id)
            return "idle"
        if record.error is not None and not state.next:
            return "error"
        return "interrupted" if state.next else "idle"

    def _publish(self, local: _Local, mode: str, chunk: Any) -> None:
        for queue in local.subscribers:
            queue.put_nowait((mode, chunk))

    async def _run_graph(self, run: RunRecord, request: RunRequest, assistant: Assistant, local: _Local) -> RunEvent:
        graph = self.graph(assistant)
        configurable = {**(request.config.get("configurable") or {}), "thread_id": run.thread_id}
        head = {"configurable": {"thread_id": run.thread_id}}
        if request.checkpoint_id:
            configurable["checkpoint_id"] = request.checkpoint_id
        # As the LangGraph server does, checkpoints name the run that wrote them (adoption needs it).
        stamp = {"run_id": run.run_id, "thread_id": run.thread_id, "graph_id": assistant.graph_id,
                 "assistant_id": assistant.assistant_id}
        config = {**request.config, "configurable": configurable, "metadata": {**request.metadata, **stamp}}
        base: dict[str, Any] = dict(
            thread_id=run.thread_id,
            run_id=run.run_id,
            assistant_id=assistant.graph_id,
            config=request.config,
            metadata=request.metadata,
        )
        command = request.command
        resuming = bool(command and "resume" in command)
        # Read the thread first only when the request depends on it (one round trip saved otherwise).
        before = await graph.aget_state(head) if resuming or request.expected_checkpoint else None
        if before is not None and request.expected_checkpoint is not None:
            current = before.config["configurable"].get("checkpoint_id")
            if current != request.expected_checkpoint or not before.next:
                raise PauseGone("This pause is no longer pending: it was answered elsewhere or the thread moved on.")
        if before is not None and resuming and not before.interrupts and not request.checkpoint_id:
            # Nothing is waiting for an answer: the LangGraph server answers with the current values.
            run.status = "success"
            run.result = before.values
            return RunEvent("finished", checkpoint_id=_checkpoint_id(before), values=before.values, **base)
        graph_input = command_from_json(command) if command else request.input
        last_updated: list[str] = []

        async def stream(graph_input: Any) -> None:
            nonlocal last_updated
            async for mode, chunk in graph.astream(
                graph_input,
                config,
                stream_mode=["values", "updates", *(["custom"] if "custom" in request.stream_mode else [])],
                interrupt_before=request.interrupt_before,
                interrupt_after=request.interrupt_after,
                context=request.context,
            ):
                if mode == "updates" and isinstance(chunk, dict):
                    last_updated = [k for k in chunk if k != "__interrupt__"] or last_updated
                if mode in request.stream_mode:
                    self._publish(local, mode, chunk)

        try:
            try:
                await stream(graph_input)
            except CheckpointConflict:
                if not request.adopted:
                    raise
                # An adopted resume whose answer its dead process had already stored: go on with it.
                await stream(None)
        except CheckpointConflict as exc:
            raise PauseGone(f"The thread moved on while this run started: {exc}") from exc
        except (asyncio.CancelledError, PauseGone):
            raise
        except Exception as exc:
            error = {"error": type(exc).__name__, "message": str(exc)}
            if not isinstance(exc, SluiceError):
                log.info("run %s: node raised %s", run.run_id, type(exc).__name__)
            self._publish(local, "error", error)
            run.status = "error"
            run.result = {"__error__": error}
            after = await graph.aget_state(head)
            local.thread_changes = _state_changes(status="error", error=error, values=after.values)
            return RunEvent("failed", checkpoint_id=_checkpoint_id(after), error_type=error["error"],
                            message=error["message"], **base)
        after = await graph.aget_state(head)
        interrupts = [i.to_json() for i in after.interrupts]
        run.status = "success"
        if len(interrupts) == 1:
            run.result = {**after.values, "__interrupt__": interrupts}
        elif interrupts:
            run.result = {"__interrupt__": interrupts}
        else:
            run.result = after.values
        by_task = {t.id: [i.to_json() for i in t.interrupts] for t in after.tasks if t.interrupts}
        status = "interrupted" if after.next else "idle"
        local.thread_changes = _state_changes(status=status, values=after.values, interrupts=by_task, error=None)
        checkpoint_id = _checkpoint_id(after)
        if interrupts:
            return RunEvent("paused", checkpoint_id=checkpoint_id, interrupts=tuple(interrupts), values=after.values,
                            **base)
        if after.next:
            where = breakpoint_of(graph, request, after, last_updated)
            return RunEvent("paused", checkpoint_id=checkpoint_id, breakpoint=where, values=after.values, **base)
        return RunEvent("finished", checkpoint_id=checkpoint_id, values=after.values, **base)

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
    ) -> None:
        """Resumes a pause and waits for the run to end; `PauseGone` if it was no longer pending."""
        request = RunRequest(
            assistant_id=assistant_id,
            input=None,
            command=None if is_breakpoint else {"resume": value},
            config=config,
            metadata=metadata,
            expected_checkpoint=checkpoint_id,
        )
        run = await self.submit(thread_id, request)
        ended = await self.join(thread_id, run.run_id)
        error = (ended.result or {}).get("__error__") if isinstance(ended.result, dict) else None
        if error and error.get("error") == "PauseGone":
            raise PauseGone(error["message"])


def _state_changes(*, values: Any, **changes: Any) -> dict[str, Any]:
    """Thread fields after a run: its values as plain JSON, stamped."""
    return {**changes, "values": to_wire(values), "state_updated_at": now_iso()}


def _checkpoint_id(state: StateSnapshot) -> str:
    return str((state.config.get("configurable") or {}).get("checkpoint_id") or "")
