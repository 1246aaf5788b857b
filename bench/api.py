"""HTTP API throughput: the seed's interrupt + resume cycle through the real langgraph_sdk client.

Starts `python -m bot serve` (in memory, then on a redis-server it starts itself) and, at 1 and
50 concurrent clients, runs cycles of: create a thread, `runs.wait` to the interrupt,
`runs.wait` with `Command(resume=...)` to the end. Prints cycles/s, requests/s and the median
and p99 cycle latency.

Run: python bench/api.py [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ is first on sys.path, where bench/redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from langgraph_sdk import get_client  # noqa: E402
from langgraph_sdk.schema import Command  # noqa: E402

REPO = HERE.parent
REQUESTS_PER_CYCLE = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


@contextmanager
def server(redis_url: str | None) -> Any:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "SLUICE_GRAPHS": str(REPO / "langgraph.json")})
    if redis_url:
        env["REDIS_URL"] = redis_url
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/ok", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def redis_server() -> Any:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def cycle(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "agent", input={"some_text": "original text"})
    assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}, paused
    done = await client.runs.wait(thread_id, "agent", command=Command(resume="Edited text"))
    assert done == {"some_text": "Edited text"}, done


async def measure(url: str, clients: int, seconds: float) -> dict[str, float]:
    client = get_client(url=url)
    await cycle(client)  # warm up
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await cycle(client)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "cycles_s": len(latencies) / elapsed,
        "requests_s": REQUESTS_PER_CYCLE * len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'store':<8}{'clients':>8}{'cycles/s':>10}{'req/s':>9}{'median ms':>11}{'p99 ms':>9}")
    with redis_server() as redis_url:
        for store, url_for in (("memory", None), ("redis", redis_url)):
            with server(url_for) as url:
                for clients in (1, 50):
                    r = asyncio.run(measure(url, clients, args.seconds))
                    print(f"{store:<8}{clients:>8}{r['cycles_s']:>10.1f}{r['requests_s']:>9.1f}"
                          f"{r['median_ms']:>11.2f}{r['p99_ms']:>9.2f}")


if __name__ == "__main__":
    main()
