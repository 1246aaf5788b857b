"""Plain JSON for API responses, as the LangGraph server writes values (no type tags).

Responses are written with orjson (a tenth of the stdlib encoder's time on a run's values); any
value it declines (a type only `to_wire` knows, a non-string key, a huge int, deep nesting) is
written as before, by `to_wire` and the stdlib encoder, so every response means the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from bot.runs import RunFailure, RunRecord
from bot.runs.plain_json import to_wire
from engine import StateSnapshot

# dataclasses and datetimes go through `to_wire` (the `default`), which writes them as the stdlib path does
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps_bytes(value: Any) -> bytes:
    """`value` as plain JSON (UTF-8)."""
    try:
        return orjson.dumps(value, default=to_wire, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: declined; the stdlib path writes it (or raises as it did)
        return json.dumps(to_wire(value), separators=(",", ":")).encode()


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()


def respond(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps_bytes(value), status=status, content_type="application/json", charset="utf-8",
                        headers=headers)


def problem(status: int, detail: str) -> web.Response:
    return respond({"detail": detail}, status=status)


def failure_told(run: RunRecord) -> RunFailure | None:
    """The failure an ended run's waiters and streams are told. None for a cancelled run: the LangGraph
    server ends its stream without an `error` event and answers its last values (observed on langgraph
    dev: a cancelled or superseded run's runs.wait returns values, its join_stream ends quietly)."""
    return run.error if run.error is not None and run.error.cause != "cancelled" else None


def run_result(run: RunRecord) -> Any:
    """What wait and join answer for an ended run: its values, or its failure as `__error__`."""
    failure = failure_told(run)
    if failure is not None:
        return {"__error__": failure.to_json()}
    return {} if run.result is None and run.error is not None else run.result


def checkpoint_ref(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A checkpoint's reference as the LangGraph server writes it: `checkpoint_map` only for a
    subgraph's checkpoint (the root checkpoints it lies in)."""
    if not config:
        return None
    configurable = config.get("configurable") or {}
    ref = {
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable.get("checkpoint_id"),
    }
    if configurable.get("checkpoint_map"):
        ref["checkpoint_map"] = configurable["checkpoint_map"]
    return ref


def _task_checkpoint(state: Any) -> dict[str, Any] | None:
    """A task's `checkpoint`, as the server writes it: a subgraph task's namespace (no checkpoint id
    known there), or null once its state is given (subgraphs=True), which carries its own."""
    if isinstance(state, StateSnapshot):
        return None
    ref = checkpoint_ref(state)
    if ref is not None and ref["checkpoint_id"] is None:
        del ref["checkpoint_id"]
    return ref


def thread_state(state: StateSnapshot) -> dict[str, Any]:
    """A StateSnapshot in the LangGraph server's ThreadState shape (a thread with no checkpoint yet:
    `checkpoint` and `metadata` null, as the server answers)."""
    checkpoint = checkpoint_ref(state.config)
    if checkpoint is not None and checkpoint["checkpoint_id"] is None:
        checkpoint = None
    parent = checkpoint_ref(state.parent_config)
    return {
        "values": to_wire(state.values),
        "next": list(state.next),
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": to_wire(task.path),
                "error": task.error if isinstance(task.error, str) or task.error is None else repr(task.error),
                "interrupts": [i.to_json() for i in task.interrupts],
                "checkpoint": _task_checkpoint(task.state),
                "state": thread_state(task.state) if isinstance(task.state, StateSnapshot) else None,
                "result": to_wire(task.result),
            }
            for task in state.tasks
        ],
        "metadata": to_wire(state.metadata or {}) if checkpoint is not None else None,
        "created_at": state.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": [i.to_json() for i in state.interrupts],
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }
