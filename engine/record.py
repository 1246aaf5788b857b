"""The checkpoint record: one decoded checkpoint and the pending writes saved against it.

Pending writes (key -> value) record what a paused step has already done. Their keys are spelled
only by `write_key`:
  done:<task>           a finished task's writes and the nodes it triggers (not re-run on resume)
  int:<task>            the interrupts a task raised
  res:<task>:<int id>   the answer to one interrupt (saved exclusively: the resume claim; removed
                        again when the interrupt's response_schema refuses it)
  err:<task>            the error a task failed with
  cmd:<n>               updates and gotos given with a Command input, in the order given
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from . import serde
from .checkpoint.base import SavedCheckpoint
from .types import START, Interrupt

WriteKind = Literal["done", "int", "res", "err", "cmd"]


def write_key(kind: WriteKind, owner: str, interrupt_id: str | None = None) -> str:
    """The key of a pending write: `owner` is a task id (a sequence number for `cmd`)."""
    return f"{kind}:{owner}" if interrupt_id is None else f"{kind}:{owner}:{interrupt_id}"


NULL_ANSWER_KEY = write_key("res", "null")


def interrupt_from_json(data: dict[str, Any]) -> Interrupt:
    return Interrupt.from_json(data)


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def now_iso() -> str:
    """The time now as `datetime.now(UTC).isoformat()` spells it; the date and time of day are
    formatted once per second (a checkpoint is made every step)."""
    global _second
    micros = time.time_ns() // 1000
    seconds, fraction = divmod(micros, 1_000_000)
    cached = _second
    if cached[0] != seconds:
        cached = _second = (seconds, dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()[:19])
    return f"{cached[1]}.{fraction:06d}+00:00" if fraction else f"{cached[1]}+00:00"


@dataclass
class Checkpoint:
    """A decoded checkpoint plus its pending writes."""

    id: str
    parent_id: str | None
    values: dict[str, Any]
    tasks: list[dict[str, Any]]  # {"name", "path", "arg"?}
    barriers: dict[str, list[str]]
    step: int
    source: str
    created_at: str
    last: list[str]
    metadata: dict[str, Any]
    writes: dict[str, Any] = field(default_factory=dict)
    # What each task of the parent checkpoint returned (by task id): its result in history.
    parent_results: dict[str, Any] = field(default_factory=dict)
    # A subgraph's: the checkpoints its callers were at, by namespace ("" for the root graph).
    parents: dict[str, str] = field(default_factory=dict)
    # The body as this process last encoded it to save (JSON-safe: a deep copy of the values taken at
    # that moment), None when it was decoded; what `saved_view` rebuilds a read's checkpoint from.
    saved_body: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    # -- pending writes, by what they say ------------------------------------------------------
    def outcome(self, task_id: str) -> dict[str, Any] | None:
        """What a finished task wrote and triggered (None while it has not finished)."""
        if not self.writes:  # the common case, every step: skip building the key
            return None
        done: dict[str, Any] | None = self.writes.get(write_key("done", task_id))
        return done

    def is_done(self, task_id: str) -> bool:
        return write_key("done", task_id) in self.writes

    def raised(self, task_id: str) -> list[Interrupt]:
        return [interrupt_from_json(r) for r in self.writes.get(write_key("int", task_id), ())]

    def answers(self, task_id: str) -> dict[str, Any]:
        """The resume values given to the task's interrupts, by interrupt id."""
        if not self.writes:
            return {}
        prefix = write_key("res", task_id, "")
        return {key[len(prefix):]: value for key, value in self.writes.items() if key.startswith(prefix)}

    def null_answer(self) -> Any:
        """A resume value given for no interrupt id in particular (interrupts.NULL_RESUME), or None."""
        return self.writes.get(NULL_ANSWER_KEY)

    def is_answered(self, task_id: str, interrupt_id: str) -> bool:
        return write_key("res", task_id, interrupt_id) in self.writes

    def error(self, task_id: str) -> dict[str, Any] | None:
        err: dict[str, Any] | None = self.writes.get(write_key("err", task_id))
        return err

    def commands(self) -> list[dict[str, Any]]:
        """The Command inputs' records ({"update": [...], "goto": [...]}), in the order given."""
        if not self.writes:
            return []
        prefix = write_key("cmd", "")
        return [self.writes[k] for k in sorted(k for k in self.writes if k.startswith(prefix))]

    def next_command_key(self) -> str:
        return write_key("cmd", f"{len(self.commands()):04d}")

    # -- storage -------------------------------------------------------------------------------
    @classmethod
    def decode(cls, saved: SavedCheckpoint) -> Checkpoint:
        body = serde.loads(saved.blob)
        writes = {key: serde.loads(blob) for key, blob in saved.writes.items()}
        return cls(
            id=saved.id,
            parent_id=saved.parent_id,
            values=body["values"],
            tasks=body["tasks"],
            barriers=body["barriers"],
            step=body["step"],
            source=body["source"],
            created_at=body["ts"],
            last=body["last"],
            metadata=body["meta"],
            writes=writes,
            parent_results=body.get("results", {}),
            parents=body.get("parents", {}),
        )

    def encode(self) -> SavedCheckpoint:
        # Only values, task inputs and user metadata can hold non-JSON types; the rest is ours.
        # The stored body (read back by decode), each value made JSON-safe once.
        encoded: dict[str, Any] = {
            "values": serde.check_state(self.values),  # an error names the state key
            "tasks": [
                {**t, "arg": serde.to_jsonable(t["arg"], f"the input of task {t['name']!r}")} if "arg" in t else t
                for t in self.tasks
            ],
            "barriers": self.barriers,
            "step": self.step,
            "source": self.source,
            "ts": self.created_at,
            "last": self.last,
            "meta": serde.to_jsonable(self.metadata, "metadata") if self.metadata else self.metadata,
        }
        if self.parent_results:
            encoded["results"] = serde.to_jsonable(self.parent_results, "the results of the step's tasks")
        if self.parents:
            encoded["parents"] = self.parents
        self.saved_body = encoded
        return SavedCheckpoint(self.id, self.parent_id, serde.dumps_jsonable(encoded))

    def saved_view(self) -> Checkpoint | None:
        """This checkpoint as `decode` would read back what this process saved of it, without parsing
        the saved bytes: values and metadata rebuilt from the body kept at encoding (so nothing a node
        did to the live objects since shows), pending writes as attached here. None when it was not
        encoded here, or when the live one holds what its record does not: tasks added by Command
        inputs (step.step_tasks), a START task carrying its input (kept in the body, encoded)."""
        body = self.saved_body
        if body is None or any(t["name"] == START for t in self.tasks) or self.commands():
            return None
        meta = body["meta"]
        return Checkpoint(
            id=self.id, parent_id=self.parent_id, values=serde.from_jsonable(body["values"]), tasks=self.tasks,
            barriers=self.barriers, step=self.step, source=self.source, created_at=self.created_at, last=self.last,
            metadata=serde.from_jsonable(meta) if meta else {}, writes=self.writes,
            parent_results=self.parent_results, parents=self.parents,
        )

    def full_metadata(self) -> dict[str, Any]:
        return {**self.metadata, "source": self.source, "step": self.step, "parents": dict(self.parents)}
