"""A separate process for the fault tests: runs or resumes a graph through RedisSaver, prints JSON.

  python -m tests.checkpoint.worker fan    URL THREAD EFFECTS [--hang] [--resume]
  python -m tests.checkpoint.worker pause  URL THREAD
  python -m tests.checkpoint.worker resume URL THREAD VALUE
  python -m tests.checkpoint.worker race   URL THREAD N TAG      (prints ready, fires on a line of stdin)

Every node appends its name to EFFECTS when it finishes, so the test can count what ran.
A CheckpointerError ends the process with status 3 and its message as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

from engine import START, CheckpointConflict, CheckpointerError, Command, RedisSaver, StateGraph, interrupt


class Fan(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def fan_graph(effects: Path, hang: bool) -> Any:
    def record(name: str) -> None:
        with effects.open("a") as out:
            out.write(name + "\n")

    def node(name: str) -> Any:
        async def run(state: Fan) -> Fan:
            if name == "c" and hang:
                record("c:hang")  # the test kills us here, with a and b already saved
                await asyncio.sleep(3600)
            record(name)
            return {"log": [name]}
        return run

    builder = StateGraph(Fan)
    for name in "sabcd":
        builder.add_node(name, node(name))
    builder.add_edge(START, "s")
    for name in "abc":
        builder.add_edge("s", name)
    builder.add_edge(["a", "b", "c"], "d")
    return builder


class Text(TypedDict):
    some_text: str


def slow_seed() -> Any:
    """The seed graph, whose node takes a while after it gets its answer: resumes overlap it."""

    async def human_node(state: Text) -> Text:
        value = interrupt({"text_to_revise": state["some_text"]})
        await asyncio.sleep(1.5)
        return {"some_text": value}

    builder = StateGraph(Text)
    builder.add_node("human_node", human_node)
    builder.add_edge(START, "human_node")
    return builder


def jsonable(result: dict[str, Any]) -> dict[str, Any]:
    out = dict(result)
    if "__interrupt__" in out:
        out["__interrupt__"] = [{"id": i.id, "value": i.value} for i in out["__interrupt__"]]
    return out


async def race(saver: RedisSaver, cfg: dict[str, Any], n: int, tag: str) -> dict[str, Any]:
    graph = slow_seed().compile(checkpointer=saver)
    await saver.load(cfg["configurable"]["thread_id"], "")  # connect and load scripts before the start
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test says go to both processes at once

    async def attempt(i: int) -> str:
        try:
            await graph.ainvoke(Command(resume=f"{tag}-{i}"), cfg)
        except CheckpointConflict:
            return "conflict"
        return f"won:{tag}-{i}"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(n)), return_exceptions=True)
    return {
        "won": [o.removeprefix("won:") for o in outcomes if isinstance(o, str) and o.startswith("won:")],
        "conflicts": sum(o == "conflict" for o in outcomes),
        "other": [repr(o) for o in outcomes if not isinstance(o, str)],
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    saver = RedisSaver.from_url(args.url, cluster=False)
    cfg = {"configurable": {"thread_id": args.thread}}
    try:
        if args.cmd == "fan":
            graph = fan_graph(Path(args.effects), args.hang).compile(checkpointer=saver)
            return jsonable(await graph.ainvoke(None if args.resume else {"log": []}, cfg))
        if args.cmd == "pause":
            return jsonable(await slow_seed().compile(checkpointer=saver).ainvoke({"some_text": "original text"}, cfg))
        if args.cmd == "resume":
            return jsonable(await slow_seed().compile(checkpointer=saver).ainvoke(Command(resume=args.value), cfg))
        return await race(saver, cfg, args.n, args.tag)
    finally:
        await saver.aclose()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("fan", "pause", "resume", "race"):
        cmd = sub.add_parser(name)
        cmd.add_argument("url")
        cmd.add_argument("thread")
        if name == "fan":
            cmd.add_argument("effects")
            cmd.add_argument("--hang", action="store_true")
            cmd.add_argument("--resume", action="store_true")
        elif name == "resume":
            cmd.add_argument("value")
        elif name == "race":
            cmd.add_argument("n", type=int)
            cmd.add_argument("tag")
    return parser.parse_args()


if __name__ == "__main__":
    try:
        result = asyncio.run(main(parse()))
    except CheckpointerError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        sys.exit(3)
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)
