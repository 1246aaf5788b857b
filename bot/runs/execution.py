"""Executing one run in this process: wait for the thread's turn, keep its lease, run the graph,
publish its stream, store its end and tell the listeners (the Slack notifier).

`RunManager` (bot.runs.manager) hands runs here; so does recovery (bot.runs.recovery) for runs
adopted from a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from bot.audit import AuditLog, MemoryAuditLog
from bot.registry import Assistant, Registry
from bot.runs.errors import NotFound, PauseGone
from bot.runs.events import RunEvent
from bot.runs.local_run import CANCEL_CHECK_S, LocalRun, Renewal
from bot.runs.message_stream import message_tap
from bot.runs.plain_json import to_wire
from bot.runs.records import RunFailure, RunRecord, ThreadRecord, now_iso
from bot.runs.requests import RunRequest, breakpoint_of, command_from_json
from bot.runs.run_start import RunStart, checkpoint_id_of
from bot.runs.store import Records
from engine import Checkpointer, CompiledGraph, RunEnd
from engine.errors import CheckpointConflict, is_invalid_resume

log = logging.getLogger("sluice.runs")

POLL_S = 0.05
RELEASE_RETRIES_S = (0.2, 0.5, 1.0)
Listener = Callable[[RunEvent], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Executor:
    """Runs graphs for this process's runs; `local` holds the runs executing here."""

    def __init__(
        self, registry: Registry, saver: Checkpointer, records: Records, spawn: Spawn, audit: AuditLog | None = None
    ) -> None:
        self.registry = registry
        self.saver = saver
        self.records = records
        self.audit = audit or MemoryAuditLog()
        self.listeners: list[Listener] = []
        self.local: dict[str, LocalRun] = {}
        self._spawn = spawn
        self._wake: dict[str, asyncio.Event] = {}
        self.starts = RunStart(saver, self.audit, records.process_local)

    def graph(self, assistant: Assistant) -> CompiledGraph:
        return assistant.graph.with_checkpointer(self.saver)

    def thread_graph(self, record: ThreadRecord) -> CompiledGraph:
        """The graph that owns a thread's checkpoints: the thread's last assistant, else the `graph_id`
        it was created with (`threads.create(graph_id=...)` puts it in its metadata), else any."""
        named = record.graph_id or record.metadata.get("graph_id")
        assistant = self.registry.find(named if isinstance(named, str) else "") or next(iter(self.registry), None)
        if assistant is None:
            raise NotFound("No graphs are loaded")
        return self.graph(assistant)

    def start(
        self, run: RunRecord, request: RunRequest, assistant: Assistant, *, started: RunRecord | None = None
    ) -> LocalRun:
        """Executes the run in the background (once it holds its thread). `started`: the record
        stored as the run took the thread on submitting (its first turn is done)."""
        local = LocalRun()
        self.local[run.run_id] = local
        local.task = self._spawn(self._execute(run, request, assistant, local, started))
        return local

    async def end_unstarted(self, run: RunRecord, local: LocalRun) -> None:
        """Ends a run cancelled before its first step: its own code never ran to end it."""
        run.status = "interrupted"
        run.updated_at = now_iso()
        assistant = self.registry.find(run.assistant_id)
        await self._finish(run, local, self._unran_event(run, assistant, local))

    async def _wait_turn(self, run: RunRecord, local: LocalRun) -> None:
        """Waits until the run holds its thread, then records it as running (in the same step)."""
        running = replace(run, status="running", updated_at=now_iso())
        while True:
            if await self.records.turn(run.thread_id, run.run_id, start=running):
                run.status, run.updated_at = running.status, running.updated_at
                return
            current = await self.records.get_run(run.thread_id, run.run_id)
            if current is None or current.done:
                _cancelled_from(current, local)
                raise asyncio.CancelledError
            wake = self._wake.setdefault(run.thread_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await wake.wait()

    async def _renew(self, run: RunRecord, local: LocalRun, began: float) -> None:
        """Keeps the lease while the run executes, and stops the run when another process cancelled it
        (from CANCEL_CHECK_S after `began`, see `Renewal`)."""
        renew_every = self.records.lease_ms / 3000
        last_renew = began
        while True:
            try:
                stored = await self.records.get_run(run.thread_id, run.run_id)
                if (stored is None or stored.status == "interrupted") and local.task is not None:
                    _cancelled_from(stored, local)
                    local.task.cancel()
                    return
                if asyncio.get_running_loop().time() - last_renew >= renew_every:
                    await self.records.turn(run.thread_id, run.run_id)
                    last_renew = asyncio.get_running_loop().time()
            except Exception:  # Redis hiccup: try again next time; a long outage lets the lease lapse
                log.warning("renewing the lease of run %s failed; retrying", run.run_id, exc_info=True)
            await asyncio.sleep(CANCEL_CHECK_S)

    async def _execute(
        self, run: RunRecord, request: RunRequest, assistant: Assistant, local: LocalRun, started: RunRecord | None
    ) -> None:
        local.started = True
        renew: Renewal | None = None
        event: RunEvent | None = None
        try:
            if started is None:
                await self._wait_turn(run, local)
            else:
                run.status, run.updated_at = started.status, started.updated_at
            if not self.records.process_local:
                renew = Renewal(lambda began: self._renew(run, local, began))
            event = await self._run_graph(run, request, assistant, local)
        except PauseGone as exc:  # nothing ran: the thread keeps its status
            run.status = "error"
            run.error = RunFailure("PauseGone", exc.detail, cause="pause_gone")
        except asyncio.CancelledError:
            run.status = "interrupted"
            if not run.result and run.error is None:
                run.error = RunFailure("Cancelled", local.cancel_reason or "the run was cancelled", cause="cancelled")
                # As the LangGraph server, waiting on a cancelled run answers the last values it streamed.
                run.result = local.last_values
        except Exception as exc:  # a bug of ours or storage failure: the run fails, the server lives
            log.exception("run %s failed outside the graph", run.run_id)
            run.status = "error"
            run.error = RunFailure(type(exc).__name__, str(exc), cause="internal")
            local.thread_changes = {"status": "error", "error": run.error.to_json()}
        finally:
            if renew is not None:
                renew.stop()
            # One stamp for the run's end: its record, and the thread's state and update (`_release`).
            run.updated_at = local.thread_changes.get("state_updated_at") or now_iso()
            run.result = to_wire(run.result)
            if event is None:
                event = self._unran_event(run, assistant, local)
            finishing = self._finish(run, local, event)
            if self._finish_may_wait():  # stored whatever happens to this task meanwhile
                await asyncio.shield(finishing)
            else:  # never suspends, so nothing can cancel it halfway: no task of its own
                await finishing

    def _finish_may_wait(self) -> bool:
        """Whether ending a run may suspend: unless every store is this process's own memory
        (records, checkpoints, audit) and no listener is told, `_finish` never awaits anything pending."""
        return bool(self.listeners) or not self.starts.all_local or not isinstance(self.audit, MemoryAuditLog)

    def _unran_event(self, run: RunRecord, assistant: Assistant | None, local: LocalRun) -> RunEvent | None:
        """What the listeners hear of a run that ended without the graph ending it: cancelled, or
        failed outside the graph (storage, a bug of ours). A run that found its pause gone says
        nothing: its decider is told by whoever waits on it."""
        if run.status == "interrupted":
            kind: Any = "cancelled"
            failure = RunFailure("Cancelled", local.cancel_reason or "the run was cancelled", cause="cancelled")
        elif run.error is not None and run.error.cause == "internal":
            kind, failure = "failed", run.error
        else:
            return None
        kwargs = run.kwargs or {}
        return RunEvent(
            kind,
            thread_id=run.thread_id,
            run_id=run.run_id,
            assistant_id=assistant.graph_id if assistant is not None else run.assistant_id,
            config=kwargs.get("config") or {},
            metadata=run.metadata,
            error_type=failure.error,
            message=failure.message,
            outside_graph=kind == "failed",
        )

    async def _finish(self, run: RunRecord, local: LocalRun, event: RunEvent | None) -> None:
        if event is not None and event.kind == "paused" and run.temporary:
            # A stateless run's thread goes as it ends (as on the LangGraph server): nobody could answer
            # its pause, so nothing is posted that asks for a decision.
            log.info("stateless run %s paused; its thread is deleted as it ends, so the pause is not posted", run.run_id)
            event = None
        if event is not None:
            for listener in self.listeners:
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
                # Kept before its thread goes, so a join polling from another process finds either
                # the run's record or this, never neither.
                try:
                    await self.records.keep_ended(run)
                except Exception:
                    log.warning("keeping the outcome of stateless run %s failed", run.run_id, exc_info=True)
                with contextlib.suppress(Exception):
                    await self.saver.delete_thread(run.thread_id)
                    await self.records.delete_thread(run.thread_id)
                    await self.audit.forget(run.thread_id)
            local.end(run)
            for queue in local.subscribers:
                queue.put_nowait(None)
            wake = self._wake.pop(run.thread_id, None)  # runs queued behind this one, waiting for their turn
            if wake is not None:
                wake.set()
            self.local.pop(run.run_id, None)

    async def _release(self, run: RunRecord, local: LocalRun) -> None:
        """Stores the run's end and hands the thread on; retried briefly through a Redis hiccup."""
        changes = {**local.thread_changes, "updated_at": run.updated_at} if local.thread_changes else None
        idle_status = "idle" if changes else await self.resting_status(run.thread_id)
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

    async def resting_status(self, thread_id: str) -> str:
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

    def _publish(self, local: LocalRun, mode: str, chunk: Any) -> None:
        for queue in local.subscribers:
            queue.put_nowait((mode, chunk))

    async def _run_graph(self, run: RunRecord, request: RunRequest, assistant: Assistant, local: LocalRun) -> RunEvent:
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
        before, claimed = await self.starts.state_before(run, graph, head, request, resuming)
        if before is not None and resuming and not before.next and not request.checkpoint_id:
            # Nothing left to run: the LangGraph server answers with the current values. (A node still
            # next without an open interrupt, at a static breakpoint or after a state update, runs
            # with the resume, as on the server: its interrupt() returns the value.)
            run.status = "success"
            run.result = before.values
            # A run that ended well leaves its thread idle, its error cleared (a thread left failing by
            # another graph stayed 'error' here), with no state change to stamp.
            local.thread_changes = {"status": "idle", "values": to_wire(before.values), "interrupts": {},
                                    "error": None}
            return RunEvent("finished", checkpoint_id=checkpoint_id_of(before), values=before.values, **base)
        if claimed:
            assert before is not None
            self.starts.ride_claims(run, request, assistant, graph, head, before)
        elif before is not None and resuming and request.audit_as:
            await self.starts.audit_resume(run, request, assistant, before)
        graph_input = command_from_json(command) if command else request.input
        last_updated: list[str] = []
        run_end = RunEnd()  # where the run leaves the thread, handed over by the engine (see starts.ended)
        # Task updates only when something reads them: a subscriber, or breakpoint_of on a run that may
        # stop after a node. Asked for, the engine streams each step through a queue and extra tasks.
        after = request.interrupt_after if request.interrupt_after is not None else graph.interrupt_after_nodes
        tap = message_tap(request.stream_mode, config["metadata"])  # stream_mode messages-tuple / messages
        if tap is not None and before is not None:
            tap.saw(before.values)
        wanted = ("updates",) if tap is not None or after else ()  # a tap reads the nodes' updates too
        modes = ["values", *(m for m in ("updates", "custom") if m in request.stream_mode or m in wanted)]

        async def stream(graph_input: Any) -> None:
            nonlocal last_updated
            async for part in graph.astream(
                graph_input,
                config,
                stream_mode=modes,
                interrupt_before=request.interrupt_before,
                interrupt_after=request.interrupt_after,
                context=request.context,
                subgraphs=request.stream_subgraphs,
                run_end=run_end,
            ):
                ns, mode, chunk = part if request.stream_subgraphs else ((), *part)
                if ns:  # a subgraph's chunk: an event "<mode>|<namespace>", as the LangGraph server names it
                    if request.stream_subgraphs and mode in request.stream_mode:
                        self._publish(local, "|".join((mode, *ns)), chunk)
                    continue
                if mode == "values":
                    local.last_values = chunk
                    if tap is not None:
                        tap.saw(chunk)
                elif mode == "updates" and isinstance(chunk, dict):
                    last_updated = [k for k in chunk if k != "__interrupt__"] or last_updated
                    for event in tap.events(chunk) if tap is not None else ():
                        self._publish(local, *event)
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
            finally:
                if claimed:
                    self.starts.stop_riding(run.thread_id)
        except CheckpointConflict as exc:
            raise PauseGone(f"The thread moved on while this run started: {exc}") from exc
        except (asyncio.CancelledError, PauseGone):
            raise
        except Exception as exc:
            refused = is_invalid_resume(exc)  # pydantic's ValidationError, marked by interrupt()
            failure = RunFailure(type(exc).__name__, str(exc), cause="answer_refused" if refused else "graph")
            self._publish(local, "error", failure.to_json())
            run.status = "error"
            run.error = failure
            after = await graph.aget_state_recalled(head)  # the run's end: see below
            node = next((t.name for t in after.tasks if t.error is not None), "")
            if refused:  # a person's answer, not a crash: no traceback
                log.info("thread %s run %s: node %r refused the answer: %s", run.thread_id, run.run_id, node,
                         failure.message.splitlines()[0])
            else:
                log.error(
                    "thread %s run %s: %s raised %s: %s",
                    run.thread_id, run.run_id, f"node {node!r}" if node else "the graph", failure.error,
                    failure.message, exc_info=exc,
                )
            # As the LangGraph server, a thread in error shows its last checkpoint as saved: its values
            # without what finished tasks of the failed step wrote, and no pending interrupts, even when
            # a pause is still open (an answer its response_schema refused); get_state shows both.
            saved = [snap async for snap in graph.aget_state_history(head, limit=1)]
            local.thread_changes = _state_changes(status="error", error=failure.to_json(),
                                                  values=saved[0].values if saved else after.values, interrupts={})
            return RunEvent("failed", checkpoint_id=checkpoint_id_of(after), error_type=failure.error,
                            message=failure.message, node=node, traceback=_traceback_tail(exc),
                            refused_answer=refused, **base)
        after = await self.starts.ended(run, graph, head, run_end)  # the run's end as it left it, no round trip
        interrupts = [i.to_json() for i in after.interrupts]
        run.status = "success"
        # As the LangGraph server, the result and the thread show the values saved: a step paused after
        # some of its tasks finished keeps their writes pending, shown only by get_state's live view.
        kept = after.values
        if len(after.tasks) > len(after.next):
            kept = [snap async for snap in graph.aget_state_history(head, limit=1)][0].values
        if len(interrupts) == 1:
            run.result = {**kept, "__interrupt__": interrupts}
        elif interrupts:
            run.result = {"__interrupt__": interrupts}
        else:
            run.result = kept
        by_task = {t.id: [i.to_json() for i in t.interrupts] for t in after.tasks if t.interrupts}
        status = "interrupted" if after.next else "idle"
        local.thread_changes = _state_changes(status=status, values=kept, interrupts=by_task, error=None)
        checkpoint_id = checkpoint_id_of(after)
        if interrupts:
            return RunEvent("paused", checkpoint_id=checkpoint_id, interrupts=tuple(interrupts), values=after.values,
                            **base)
        if after.next:
            where = breakpoint_of(graph, request, after, last_updated)
            return RunEvent("paused", checkpoint_id=checkpoint_id, breakpoint=where, values=after.values, **base)
        return RunEvent("finished", checkpoint_id=checkpoint_id, values=after.values, **base)


def _state_changes(*, values: Any, **changes: Any) -> dict[str, Any]:
    """Thread fields after a run: its values as plain JSON, stamped."""
    return {**changes, "values": to_wire(values), "state_updated_at": now_iso()}


def _traceback_tail(exc: BaseException, limit: int = 6000) -> str:
    """The end of the exception's traceback: the frames nearest the error matter most."""
    text = "".join(traceback.format_exception(exc))
    return text if len(text) <= limit else "…" + text[-limit:]


def _cancelled_from(stored: RunRecord | None, local: LocalRun) -> None:
    """The run was cancelled by another process (its record says so) or its record is gone (rolled
    back, or its thread deleted): it stops, and its end keeps no record unless one is left to keep."""
    rolled_back = stored is None or stored.rolled_back
    local.cancel = local.cancel or ("rollback" if rolled_back else "interrupt")
    if stored is not None and stored.error is not None:
        local.cancel_reason = local.cancel_reason or stored.error.message
