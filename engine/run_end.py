"""RunEnd: where a run left its thread, handed over by the run itself.

A caller that runs a graph on a thread it holds (the runs layer) and then wants the thread's state
gives the run a RunEnd (`astream(..., run_end=...)`). When the run's stream ends without error, it
holds the checkpoint the run wrote last, as the run has it, and the tasks the run built for that
checkpoint's step. `aget_state_recalled(config, end=...)` then makes the snapshot from those instead
of reading the head, decoding it and building its tasks again, while the saver's head is still that
checkpoint with the same pending writes (Checkpoint.saved_view says when else it reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .record import Checkpoint
    from .spec import GraphSpec
    from .step import Task
    from .types import Interrupt


class RunEnd:
    def __init__(self) -> None:
        self.checkpoint: Checkpoint | None = None  # None: the run failed, runs on no stored thread, or runs
        self.tasks: list[Task] | None = None  # None: not built (the run stopped before that step)
        self.raised: dict[str, tuple[Interrupt, ...]] | None = None  # the pauses its tasks raised, by task id
        self.spec: GraphSpec | None = None
        self.thread_id: str | None = None
        self.ns = ""

    def reached(self, spec: GraphSpec, thread_id: str | None, ns: str, checkpoint: Checkpoint | None,
                stepped: tuple[Checkpoint, list[Task]] | None, raised: dict[str, tuple[Interrupt, ...]]) -> None:
        """The run ended at `checkpoint`; `stepped`: the last checkpoint whose step it built, and the tasks;
        `raised`: the pauses that step's tasks raised (the interrupt records they wrote), by task id."""
        self.spec, self.thread_id, self.ns, self.checkpoint = spec, thread_id, ns, checkpoint
        built = stepped is not None and stepped[0] is checkpoint
        self.tasks = stepped[1] if stepped is not None and built else None
        self.raised = raised if built else None

    def clear(self) -> None:
        self.checkpoint = self.tasks = self.raised = None
