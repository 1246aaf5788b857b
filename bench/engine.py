"""Engine speed against LangGraph, same machine, same process: ratios ours / LangGraph.

Cases (each the median of many runs; wall time, and CPU time of the process, steadier on a busy machine):
  linear3   a 3-node linear graph, in-memory checkpointer, one invoke on a new thread
  seed      the seed's interrupt + resume cycle (invoke -> __interrupt__, Command(resume=...))
  fanout10  10 parallel branches joined into one node

Run: python bench/engine.py [--runs N]
"""

from __future__ import annotations

import argparse
import operator
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ is first on sys.path, where bench/redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import langgraph.checkpoint.memory as lg_memory  # noqa: E402
import langgraph.graph as lg_graph  # noqa: E402
import langgraph.types as lg_types  # noqa: E402

import engine  # noqa: E402


class TextState(TypedDict):
    some_text: str


class ListState(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def build_cases(sg: Any, start: str, end: str, interrupt: Any, command: Any, saver: Any) -> dict[str, Callable[[], Any]]:
    lin = sg(ListState)
    for name in ("a", "b", "c"):
        lin.add_node(name, lambda s, name=name: {"items": [name]})
    lin.add_edge(start, "a")
    lin.add_edge("a", "b")
    lin.add_edge("b", "c")
    lin.add_edge("c", end)
    linear = lin.compile(checkpointer=saver())

    def human_node(state: TextState) -> dict[str, str]:
        return {"some_text": interrupt({"text_to_revise": state["some_text"]})}

    seed_b = sg(TextState)
    seed_b.add_node("human_node", human_node)
    seed_b.add_edge(start, "human_node")
    seed = seed_b.compile(checkpointer=saver())

    fan_b = sg(ListState)
    names = [f"n{i}" for i in range(10)]
    for name in names:
        fan_b.add_node(name, lambda s, name=name: {"items": [name]})
        fan_b.add_edge(start, name)
    fan_b.add_node("join", lambda s: {"items": ["join"]})
    fan_b.add_edge(names, "join")
    fan = fan_b.compile(checkpointer=saver())

    def cfg() -> dict[str, Any]:
        return {"configurable": {"thread_id": uuid.uuid4().hex}}

    def run_linear() -> Any:
        return linear.invoke({"items": []}, cfg())

    def run_seed() -> Any:
        c = cfg()
        seed.invoke({"some_text": "original text"}, c)
        return seed.invoke(command(resume="Edited text"), c)

    def run_fan() -> Any:
        return fan.invoke({"items": []}, cfg())

    return {"linear3": run_linear, "seed": run_seed, "fanout10": run_fan}


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (every thread) per run, in ms. On a
    shared machine the CPU time is the steadier: it leaves out the time spent waiting for a core."""
    for _ in range(max(5, runs // 10)):
        fn()  # warm up
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    theirs = build_cases(lg_graph.StateGraph, lg_graph.START, lg_graph.END, lg_types.interrupt, lg_types.Command,
                         lg_memory.InMemorySaver)
    ours = build_cases(engine.StateGraph, engine.START, engine.END, engine.interrupt, engine.Command,
                       engine.InMemorySaver)
    assert theirs["seed"]() == ours["seed"](), "the seed cycle must give the same result on both"
    print(f"{'case':<10} {'langgraph ms':>13} {'sluice ms':>10} {'ratio':>7}   {'cpu: langgraph':>14} {'sluice':>7} {'ratio':>7}")
    for name in theirs:
        lg_ms, lg_cpu = median_ms(theirs[name], args.runs)
        our_ms, our_cpu = median_ms(ours[name], args.runs)
        print(f"{name:<10} {lg_ms:>13.3f} {our_ms:>10.3f} {our_ms / lg_ms:>7.3f}   "
              f"{lg_cpu:>14.3f} {our_cpu:>7.3f} {our_cpu / lg_cpu:>7.3f}")

if __name__ == "__main__":
    main()
