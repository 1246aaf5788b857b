"""Work on a thread that is not a run, behind the manager's door: searching threads by filters,
and a state update, which holds the thread like a run so it never races one."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot.runs.errors import Conflict, NotFound
from bot.runs.events import RunEvent
from bot.runs.execution import Executor
from bot.runs.plain_json import to_wire
from bot.runs.records import ThreadRecord, now_iso
from bot.runs.store import Records
from engine import Checkpointer, StateSnapshot

log = logging.getLogger("sluice.runs")

SEARCH_PAGE = 100


class ThreadWork:
    def __init__(self, saver: Checkpointer, records: Records, executor: Executor) -> None:
        self.saver = saver
        self.records = records
        self.executor = executor

    async def search(
        self,
        *,
        status: str | None,
        metadata: dict[str, Any] | None,
        values: dict[str, Any] | None,
        limit: int,
        offset: int,
    ) -> list[ThreadRecord]:
        matches: list[ThreadRecord] = []
        read = 0
        # Filters apply after reading, page by page, so `limit` counts matching threads.
        while len(matches) < offset + limit:
            page = await self.records.search_threads(limit=SEARCH_PAGE, offset=read)
            if not page:
                break
            read += len(page)
            for record in page:
                if status and record.status != status:
                    continue
                if metadata and any(record.shown_metadata().get(k) != v for k, v in metadata.items()):
                    continue
                current = record.values if isinstance(record.values, dict) else {}
                if values and any(current.get(k) != v for k, v in values.items()):
                    continue
                matches.append(record)
        return matches[offset : offset + limit]

    async def update_state(
        self, record: ThreadRecord, values: Any, *, as_node: str | None, checkpoint_id: str | None
    ) -> dict[str, Any]:
        thread_id = record.thread_id
        holder = f"state-update:{uuid.uuid4()}"
        claimed = await self.records.claim(thread_id, holder)
        if claimed == "no_thread":
            raise NotFound(f"Thread with ID {thread_id} not found")
        if claimed == "busy":
            raise Conflict("Thread is busy: wait for its run to finish before updating its state.")
        try:
            config, snapshot = await self._write_state(record, values, as_node, checkpoint_id)
        except BaseException:
            await self.records.release(thread_id, holder)
            await self._forget_if_deleted(thread_id)
            raise
        await self.records.release(thread_id, holder, thread_changes=thread_fields(snapshot))
        await self._forget_if_deleted(thread_id)
        await self._tell(record, snapshot, as_node)
        return config

    async def _write_state(
        self, record: ThreadRecord, values: Any, as_node: str | None, checkpoint_id: str | None
    ) -> tuple[dict[str, Any], StateSnapshot]:
        configurable: dict[str, Any] = {"thread_id": record.thread_id}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        graph = self.executor.thread_graph(record)
        config = await graph.aupdate_state({"configurable": configurable}, values, as_node=as_node)
        snapshot = await graph.aget_state({"configurable": {"thread_id": record.thread_id}})
        return config, snapshot

    async def _tell(self, record: ThreadRecord, snapshot: StateSnapshot, as_node: str | None) -> None:
        """Tells the run listeners (the Slack bot) where the update left the thread, as a run's end
        would: a pause still open there must follow it (LangGraph drops the pending interrupts of an
        updated checkpoint; the thread waits at `next` until a run continues it, or is done)."""
        interrupts = tuple(i.to_json() for i in snapshot.interrupts)
        event = RunEvent(
            "updated",
            thread_id=record.thread_id,
            run_id="",
            assistant_id=record.graph_id or "",
            checkpoint_id=str((snapshot.config.get("configurable") or {}).get("checkpoint_id") or ""),
            interrupts=interrupts,
            breakpoint=("before", tuple(snapshot.next)) if snapshot.next and not interrupts else None,
            values=snapshot.values,
            node=as_node or "",
        )
        for listener in self.executor.listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("a run listener failed on the state update of thread %s", record.thread_id)

    async def _forget_if_deleted(self, thread_id: str) -> None:
        """A thread deleted while its state was written keeps no checkpoint of it."""
        if await self.records.get_thread(thread_id) is None:
            await self.saver.delete_thread(thread_id)
            raise NotFound(f"Thread with ID {thread_id} not found")


def thread_fields(snapshot: StateSnapshot) -> dict[str, Any]:
    """The thread record's view of the state an update left, as the LangGraph server rewrites it: its
    values, `interrupted` while tasks are still to run (else `idle`), and the interrupts pending there
    by task. An update's checkpoint has none pending (those of the checkpoint it follows are dropped),
    so the record no longer shows questions a run would not answer. A thread in error is no longer (its
error is cleared), and both stamps move, as there."""
    interrupts = {t.id: [i.to_json() for i in t.interrupts] for t in snapshot.tasks if t.interrupts}
    stamp = now_iso()
    return {"values": to_wire(snapshot.values), "status": "interrupted" if snapshot.next else "idle",
            "interrupts": interrupts, "error": None, "state_updated_at": stamp, "updated_at": stamp}
