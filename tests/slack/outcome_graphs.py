"""Graphs whose run after a decision fails, finishes or pauses again, for the outcome tests.

`send` fails while the file named by SLUICE_TEST_OUTAGE exists (its content is the error's
detail), so a test makes the failure happen, and stop, at the moment it chooses, in whichever
`serve` process runs the node. `hold` runs until it is cancelled, once it said it started (the file
SLUICE_TEST_HOLD names is created), so a test cancels a run at a moment it knows.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TypedDict

from engine import END, START, StateGraph, interrupt


class State(TypedDict, total=False):
    text: str
    sent: str


def review(state: State) -> State:
    return {"text": interrupt({"text_to_revise": state.get("text", "")})}


def send(state: State) -> State:
    outage = Path(os.environ.get("SLUICE_TEST_OUTAGE") or "/nonexistent")
    if outage.exists():
        raise ConnectionError(f"mail server <smtp.example.com> refused: {outage.read_text()}")
    return {"sent": f"sent: {state.get('text', '')}"}


async def hold(state: State) -> State:
    await asyncio.to_thread(Path(os.environ["SLUICE_TEST_HOLD"]).write_text, state.get("text", ""))
    await asyncio.Event().wait()  # until the run is cancelled
    return {}


async def gate(state: State) -> State:
    """Waits while the file SLUICE_TEST_GATE names exists, once it said it got here (`<file>.reached`)."""
    closed = Path(os.environ["SLUICE_TEST_GATE"])
    await asyncio.to_thread(Path(f"{closed}.reached").write_text, "")
    while await asyncio.to_thread(closed.exists):  # noqa: ASYNC110 - the test removes it from another process
        await asyncio.sleep(0.05)
    return {"sent": f"gate-opened: {state.get('text', '')}"}


def confirm(state: State) -> State:
    return {"text": interrupt({"text_to_revise": f"confirm: {state.get('text', '')}"})}


flaky_graph = (
    StateGraph(State).add_node("review", review).add_node("send", send)
    .add_edge(START, "review").add_edge("review", "send").add_edge("send", END)
)
twice_graph = (
    StateGraph(State).add_node("review", review).add_node("confirm", confirm)
    .add_edge(START, "review").add_edge("review", "confirm").add_edge("confirm", END)
)
held_graph = (
    StateGraph(State).add_node("review", review).add_node("hold", hold)
    .add_edge(START, "review").add_edge("review", "hold").add_edge("hold", END)
)
send_graph = StateGraph(State).add_node("send", send).add_edge(START, "send").add_edge("send", END)
gated_graph = (
    StateGraph(State).add_node("review", review).add_node("gate", gate)
    .add_edge(START, "review").add_edge("review", "gate").add_edge("gate", END)
)
