"""The runs layer: threads, runs and their records. Callers (the HTTP API, the Slack bot) go
through its one door, `RunManager`; the rooms behind it:

  manager.py       the door: threads, submit / join / listen / cancel, the Slack bot's port
  execution.py     executing one run: its thread's turn, lease renewal, the graph, its end
  recovery.py      adopting the runs of processes that died (lapsed leases)
  threads.py       thread work that is no run: search by filters, state updates that hold the thread
  requests.py      what a run is asked to do (RunRequest) and how its command is read
  events.py        what listeners hear when a run pauses, finishes or fails (RunEvent)
  errors.py        how the runs layer refuses
  records.py       the thread and run records (the LangGraph server's Thread and Run shapes)
  store.py         the record store's contract (`Records`): records, run queue, leases
  store_memory.py  that contract for one process
  store_redis.py   that contract on Redis, shared by every process (one Lua script per step)
  plain_json.py    values as plain JSON, as the LangGraph server writes them
"""

from __future__ import annotations

from bot.runs.errors import (
    AnswerRefused,
    Conflict,
    Invalid,
    NotFound,
    PauseGone,
    ResumeConflict,
    RunsError,
    StorageUnavailable,
)
from bot.runs.events import RunEvent
from bot.runs.manager import RunManager
from bot.runs.records import RunFailure, RunRecord, ThreadRecord
from bot.runs.requests import RunRequest

__all__ = [
    "AnswerRefused",
    "Conflict",
    "Invalid",
    "NotFound",
    "RunFailure",
    "StorageUnavailable",
    "PauseGone",
    "ResumeConflict",
    "RunEvent",
    "RunManager",
    "RunRecord",
    "RunRequest",
    "RunsError",
    "ThreadRecord",
]
