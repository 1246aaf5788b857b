"""Slack decision latency: signed click -> ack, and click -> chat.update / next pause posted.

The bot runs on a real port with slack-bolt, a real Redis (REDIS_URL, else a redis-server started
here), and the local Slack Web API on another port; every click is a signed HTTP request.
The graph pauses again right after each decision, so "next pause posted" is the full loop.

    python bench/slack.py [--rounds 200] [--concurrency 1 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

HERE = Path(__file__).resolve().parent
# The repo root instead of bench/, whose redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import redis.asyncio as aioredis  # noqa: E402

from bot.app import MAX_CONNECTIONS, redis_retries  # noqa: E402
from engine import END, StateGraph, interrupt  # noqa: E402
from tests.slack.harness import APPROVER, CHANNEL, button, make_env  # noqa: E402


class State(TypedDict):
    text: str


def review(state: State) -> dict[str, str]:
    return {"text": interrupt({"text_to_revise": state["text"]})}


def again(state: State) -> str:
    return "review" if state["text"] != "stop" else END


def looping_graph() -> Any:
    """Pauses, and after each decision pauses again (until someone answers "stop")."""
    builder = StateGraph(State)
    builder.add_node("review", review)
    builder.set_entry_point("review")
    builder.add_conditional_edges("review", again, ["review", END])
    return builder


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_redis() -> tuple[str, subprocess.Popen[bytes] | None]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--dir",
            tempfile.gettempdir(),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return f"redis://127.0.0.1:{port}/0", proc


async def click(env: Any, thread_id: str, ts: str, action: str, acks: list[float], clicked: dict[str, float]) -> None:
    """One signed click; records its ack time and when it was sent."""
    started = time.perf_counter()
    delivery = await env.slack.click(APPROVER, CHANNEL, ts, action)
    assert delivery.status == 200, delivery
    acks.append(delivery.elapsed_s)
    clicked[thread_id] = started


async def run(rounds: int, concurrencies: list[int]) -> None:
    url, proc = start_redis()
    try:
        await measure(url, rounds, concurrencies)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


async def measure(url: str, rounds: int, concurrencies: list[int]) -> None:
    # Pooled as the service pools it (bot.app): a burst of clicks waits for a connection, never fails.
    redis = aioredis.Redis.from_pool(
        aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=30, **redis_retries())
    )
    env, close = await make_env(redis, extra_graphs={"loop": looping_graph()})
    updated: dict[str, float] = {}
    posted: dict[str, float] = {}

    def observe(method: str, args: dict[str, Any]) -> None:
        now = time.perf_counter()
        if method == "chat.update":
            updated.setdefault(str(args.get("ts")), now)
        elif method == "chat.postMessage":
            blocks = json.dumps(args.get("blocks"))
            for thread_id in threads:
                if thread_id in blocks:
                    posted.setdefault(thread_id, now)

    env.slack.observers.append(observe)
    threads: list[str] = []
    try:
        for concurrency in concurrencies:
            threads = [await env.start("loop", {"text": f"draft {i}"}) for i in range(concurrency)]
            acks: list[float] = []
            to_update: list[float] = []
            to_next: list[float] = []
            for _ in range(max(1, rounds // concurrency)):
                messages = [env.pause_message(t) for t in threads]
                updated.clear()
                posted.clear()
                clicked: dict[str, float] = {}
                await asyncio.gather(
                    *(
                        click(env, t, m.ts, button(m, "Approve"), acks, clicked)
                        for t, m in zip(threads, messages, strict=True)
                    )
                )
                await env.settle()
                for t, m in zip(threads, messages, strict=True):
                    to_update.append(updated[m.ts] - clicked[t])
                    to_next.append(posted[t] - clicked[t])
            print(f"concurrency {concurrency:>3}: {len(acks)} clicks")
            for name, values in (
                ("click -> ack", acks),
                ("click -> chat.update", to_update),
                ("click -> next pause posted", to_next),
            ):
                ms = [v * 1000 for v in values]
                print(f"  {name:<28} median {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms")
    finally:
        await close()
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="clicks per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 100])
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
