"""Thread and run records: what the runs layer keeps about threads beyond their checkpoints.

They are JSON documents (stored by `bot.runs.store`) whose fields are the LangGraph server's
`Thread` and `Run` shapes, so the HTTP API returns them as they are.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from bot.registry import assistant_uuid

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "success", "error", "interrupted", "timeout"]
TERMINAL: frozenset[str] = frozenset({"success", "error", "interrupted", "timeout"})
# Why a run failed: its graph raised, its interrupt's response_schema refused the answer (the
# pause stays open), its resume found the pause gone, it was cancelled (and, "rolled_back", its
# record is to go once it stopped), or the runs layer itself failed (a bug, storage down).
FailureCause = Literal["graph", "answer_refused", "pause_gone", "cancelled", "rolled_back", "internal"]


_second: list[Any] = [None, ""]  # the last whole second written, and its text up to the seconds


def now_iso() -> str:
    """`datetime.now(UTC).isoformat()`, formatting the date only once a second (records take a few
    stamps per run). The clock is `time.time`, looked up on each call (freezegun's clock in tests)."""
    micros = int(time.time() * 1_000_000)
    second, fraction = divmod(micros, 1_000_000)
    if second != _second[0]:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).isoformat()[:-6]]
    return f"{_second[1]}.{fraction:06d}+00:00" if fraction else f"{_second[1]}+00:00"


def _encode_nested(value: Any) -> Any:
    """JSON's fallback: a dataclass inside a record as `asdict` would give it, anything else as text."""
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else str(value)


# Made once: `json.dumps` with arguments builds an encoder per call (~2 us, more than encoding a
# short value), and a Redis seed cycle encodes some 40 values. The same text as json.dumps gives.
_encode = json.JSONEncoder(separators=(",", ":"), default=_encode_nested).encode
_encode_field = json.JSONEncoder(separators=(",", ":"), default=str).encode

_NAMES: dict[type, tuple[str, ...]] = {}
_KEPT = frozenset({str, int, float, bool, type(None)})  # immutable, and JSON gives them back as they are
R = TypeVar("R", "ThreadRecord", "RunRecord")


def _names(cls: type) -> tuple[str, ...]:
    if cls not in _NAMES:
        _NAMES[cls] = tuple(f.name for f in fields(cls))
    return _NAMES[cls]


def plain_copy(value: Any) -> Any:
    """A copy of `value` as a JSON round trip would give it back (`json.loads(json.dumps(value,
    default=...))`, as records are stored in Redis), without the text: JSON's own types are copied
    directly (dicts, lists; tuples become lists), anything else goes through JSON. A record's
    `RunFailure` is frozen, so it is kept as it is."""
    kind = type(value)
    if kind in _KEPT or kind is RunFailure:
        return value
    # Leaves are kept without a call each: most of a record's nested values are text.
    if kind is dict:
        return {k if type(k) is str else _json_key(k): v if type(v) in _KEPT else plain_copy(v)
                for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _KEPT else plain_copy(v) for v in value]
    return json.loads(json.dumps(value, default=_encode_nested))


def _json_key(key: Any) -> str:
    """A dict key as JSON writes it (1 -> "1", True -> "true"); TypeError for keys JSON refuses."""
    return next(iter(json.loads(json.dumps({key: None}))))


def copy_record(record: R) -> R:
    """A record no one else holds: every field copied as `plain_copy` does (what storing it and
    reading it back gives), so changing the copy's fields or nested values never changes the original."""
    copied = object.__new__(type(record))
    copied.__dict__.update({name: value if type(value) in _KEPT else plain_copy(value)  # most fields are text
                            for name, value in record.__dict__.items()})
    return copied


def evolve(record: R, **changes: Any) -> R:
    """`dataclasses.replace(record, **changes)` without running `__init__` again (records have no
    `__post_init__` and only init fields): a shallow copy with those fields changed."""
    changed = object.__new__(type(record))
    changed.__dict__.update(record.__dict__)
    changed.__dict__.update(changes)
    return changed


def _dumps(record: ThreadRecord | RunRecord) -> str:
    """The record as JSON, the same text as `json.dumps(asdict(record))` without asdict's deep copy
    (which cost most of a store operation: records are written several times per run)."""
    body = {name: getattr(record, name) for name in _names(type(record))}
    return _encode(body)


@dataclass
class ThreadRecord:
    thread_id: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    state_updated_at: str = field(default_factory=now_iso)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: ThreadStatus = "idle"
    config: dict[str, Any] = field(default_factory=dict)
    values: Any = None
    interrupts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: Any = None
    graph_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The LangGraph server's Thread (nested values shared with the record, not copied)."""
        out = {name: getattr(self, name) for name in _names(ThreadRecord) if name != "graph_id"}
        if self.graph_id is not None:
            out["metadata"] = self.shown_metadata()
        if self.values is None and self.error is None and not self.interrupts:
            del out["error"], out["interrupts"]  # no state given to it yet: the server has no such fields then
        return out

    def shown_metadata(self) -> dict[str, Any]:
        """Its metadata as the LangGraph server shows it: a run stamps the graph and the assistant it ran
        (clients list a graph's threads by them)."""
        if self.graph_id is None:
            return self.metadata
        return {**self.metadata, "graph_id": self.graph_id, "assistant_id": assistant_uuid(self.graph_id)}

    def dumps(self) -> str:
        return _dumps(self)

    @classmethod
    def loads(cls, raw: str | bytes) -> ThreadRecord:
        return cls(**json.loads(raw))

    def fields(self) -> dict[str, str]:
        """One JSON value per field: stored as a hash, so a status change writes only its fields."""
        return {name: _encode(getattr(self, name)) for name in _names(ThreadRecord)}

    @classmethod
    def from_fields(cls, stored: dict[Any, Any]) -> ThreadRecord:
        return cls(**{_text(k): json.loads(v) for k, v in stored.items()})


def encode_fields(changes: dict[str, Any]) -> dict[str, str]:
    return {name: _encode_field(value) for name, value in changes.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class RunFailure:
    """How a run failed; `error` and `message` are what the LangGraph server reports."""

    error: str  # the exception's type name
    message: str
    cause: FailureCause = "graph"

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message}


_RUN_INTERNAL = frozenset({"result", "temporary", "error"})


@dataclass
class RunRecord:
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    status: RunStatus = "pending"
    metadata: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "enqueue"
    result: Any = None  # the values wait/join return once the run ended (unless it failed)
    temporary: bool = False  # a stateless run: its thread is deleted when it ends
    error: RunFailure | None = None  # set when the run failed

    def to_json(self) -> dict[str, Any]:
        """The LangGraph server's Run (nested values shared with the record, not copied)."""
        return {name: getattr(self, name) for name in _names(RunRecord) if name not in _RUN_INTERNAL}

    def dumps(self) -> str:
        return _dumps(self)

    @classmethod
    def loads(cls, raw: str | bytes) -> RunRecord:
        fields = json.loads(raw)
        error = fields.pop("error", None)
        return cls(**fields, error=RunFailure(**error) if error else None)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def rolled_back(self) -> bool:
        """Cancelled with action "rollback" by another process: whoever stops it deletes its record."""
        return self.error is not None and self.error.cause == "rolled_back"
