"""Taking over the runs of processes that died: a run whose lease lapsed (its process stopped
renewing it) is adopted by exactly one other process and continued from its last checkpoint."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from bot.registry import Registry
from bot.runs.execution import Executor
from bot.runs.requests import RunRequest
from bot.runs.store import Records

log = logging.getLogger("sluice.runs")

RECOVER_EVERY_S = 2.0
SWEEP_BATCH = 1000


class Recovery:
    def __init__(self, registry: Registry, records: Records, executor: Executor) -> None:
        self.registry = registry
        self.records = records
        self.executor = executor

    async def run_forever(self, every_s: float = RECOVER_EVERY_S) -> None:
        """Runs until cancelled: adopts runs whose process stopped renewing their lease."""
        while True:
            try:
                await self.adopt_lapsed()
            except Exception:
                log.exception("looking for runs of stopped processes failed; retrying")
            await asyncio.sleep(every_s)

    async def adopt_lapsed(self) -> list[str]:
        adopted = []
        # Threads that finished leave their entry for this sweep to drop: one command less per run;
        # the sweep looks at all of them in a step (a few network exchanges, not a few per thread).
        lapsed = await self.records.lapsed(limit=SWEEP_BATCH)
        for thread_id, run_id in (await self.records.adopt_many(lapsed)).items():
            if await self._continue_orphan(thread_id, run_id):
                adopted.append(run_id)
        return adopted

    async def _continue_orphan(self, thread_id: str, run_id: str) -> bool:
        run = await self.records.get_run(thread_id, run_id)
        assistant = self.registry.find(run.assistant_id) if run is not None else None
        if run is None or run.done or assistant is None:
            # a run rolled back from another process while its own was gone: its record goes with it
            await self.records.release(thread_id, run_id, delete_run=run is not None and run.rolled_back)
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
            stream_subgraphs=bool(kwargs.get("stream_subgraphs")),
            context=kwargs.get("context"),
            adopted=True,
        )
        state = await self.executor.graph(assistant).aget_state({"configurable": {"thread_id": thread_id}})
        if (state.metadata or {}).get("run_id") == run_id:
            # It had checkpointed: continue from there (an answered pause re-runs with its answer).
            request = replace(request, input=None, command=None, checkpoint_id=None)
        log.warning("run %s of thread %s lost its process; continuing it here", run_id, thread_id)
        self.executor.start(run, request, assistant)
        return True
