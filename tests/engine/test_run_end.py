"""The state a run hands over as it ends (RunEnd) is the state a read of the thread gives then.

Every differential scenario (interrupts, several and in subgraphs, static breakpoints before and
after, errors, Command goto/update, Send fan-out, subgraphs, stream modes, sync and async calls) runs
on our engine with graphs that, at the end of each root run on a stored thread, compare
`aget_state_recalled(config, end)` and the snapshot made from the hand-over with a fresh
`aget_state(config)`. The runs are the engine's own; only the comparison is added, after the run's
last event and before its caller gets control back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import engine
from engine import RunEnd
from engine.loop import GraphExecution

from .harness import OURS, Api, Trace
from .test_differential import SCENARIOS
from .test_differential_subgraphs import SCENARIOS as SUBGRAPH_SCENARIOS

CHECKED: dict[str, int] = {"handed": 0, "fell_back": 0, "no_end": 0, "raised": 0}
# What differed; collected, not raised: a scenario records the errors its calls raise (Trace.call).
MISMATCHES: list[str] = []


class CheckedGraph(engine.CompiledGraph):
    def _execution(self, *args: Any, **kwargs: Any) -> tuple[GraphExecution, Any, Any]:
        execution, forward, ns = super()._execution(*args, **kwargs)
        if execution.opts.nested:
            return execution, forward, ns
        if execution.opts.run_end is None:  # an invoke (a stream given one by its caller keeps it)
            execution.opts.run_end = RunEnd()
        end = execution.opts.run_end
        run = execution.stream

        async def checked(input: Any) -> Any:
            try:
                async for event in run(input):
                    yield event
            except BaseException:
                CHECKED["raised"] += 1
                if end.checkpoint is not None:  # a failed run hands nothing over: the caller reads
                    MISMATCHES.append(f"thread {execution.opts.thread_id}: an end handed over by a failed run")
                raise
            await self._check(end, execution)

        execution.stream = checked  # type: ignore[method-assign]
        return execution, forward, ns

    async def _check(self, end: RunEnd, execution: GraphExecution) -> None:
        thread_id = execution.opts.thread_id
        if not execution.chain.stores:
            CHECKED["no_end"] += 1
            if end.checkpoint is not None:
                MISMATCHES.append(f"thread {thread_id}: an end handed over without a stored thread")
            return
        if end.checkpoint is None:
            MISMATCHES.append(f"thread {thread_id}: no end handed over")
            return
        config = {"configurable": {"thread_id": thread_id}}
        fresh = await self.aget_state(config)
        saver = self._saver()
        assert saver is not None
        handed = self._ended_snapshot(end, await saver.load(str(thread_id), ""), str(thread_id), "")
        if handed is None:
            CHECKED["fell_back"] += 1
        else:
            CHECKED["handed"] += 1
            if handed != fresh:
                MISMATCHES.append(f"thread {thread_id}: handed over {handed!r} != read {fresh!r}")
        recalled = await self.aget_state_recalled(config, end)
        if recalled != fresh:
            MISMATCHES.append(f"thread {thread_id}: recalled {recalled!r} != read {fresh!r}")


class CheckedStateGraph(engine.StateGraph):
    def compile(self, *args: Any, **kwargs: Any) -> Any:
        graph = super().compile(*args, **kwargs)
        graph.__class__ = CheckedGraph
        return graph


CHECKING = dataclasses.replace(OURS, StateGraph=CheckedStateGraph)  # named as ours: scenarios look it up


@pytest.mark.parametrize("scenario", [*SCENARIOS, *SUBGRAPH_SCENARIOS], ids=lambda s: s.__name__)
def test_handed_over_end_is_a_fresh_read(scenario: Any) -> None:
    MISMATCHES.clear()
    scenario(CHECKING, Trace())
    assert not MISMATCHES


def test_the_hand_over_is_taken() -> None:
    """Most ends are made from the hand-over (the rest fell back to decoding the head)."""
    CHECKED.update(handed=0, fell_back=0, no_end=0, raised=0)
    MISMATCHES.clear()
    for scenario in [*SCENARIOS, *SUBGRAPH_SCENARIOS]:
        scenario(CHECKING, Trace())
    assert not MISMATCHES
    assert CHECKED["handed"] > 3 * CHECKED["fell_back"] > 0, CHECKED


def test_a_node_mutating_its_state_in_place_does_not_show() -> None:
    """The hand-over's values are those saved, as a read decodes them, even when a node changed the
    live objects in place before it paused (the run holds those objects, the store does not)."""
    from typing import TypedDict

    class State(TypedDict):
        items: list[str]

    def grab(state: State) -> dict[str, Any]:
        state["items"].append("changed in place")
        return {"items": [*state["items"], engine.interrupt("ok?")]}

    b = CheckedStateGraph(State)
    b.add_node("grab", grab)
    b.add_edge(engine.START, "grab")
    g = b.compile(checkpointer=engine.InMemorySaver())
    before = dict(CHECKED)
    MISMATCHES.clear()
    g.invoke({"items": ["a"]}, {"configurable": {"thread_id": "m"}})
    assert CHECKED["handed"] == before["handed"] + 1
    assert not MISMATCHES
    assert g.get_state({"configurable": {"thread_id": "m"}}).values == {"items": ["a"]}


_ = Api  # the harness's scenario signature
