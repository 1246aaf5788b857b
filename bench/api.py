"""HTTP API cost and throughput: the seed's interrupt + resume cycle through the real langgraph_sdk client.

A cycle is: create a thread, `runs.wait` to the interrupt, `runs.wait` with `Command(resume=...)` to
the end. For `python -m bot serve` in memory, on a redis-server started here, and two serve processes
on that one Redis, at 1 and 50 concurrent clients, it prints cycles/s, the median and p99 cycle
latency, and the server's CPU per cycle (the server process's own CPU time from /proc, so the
client's work on the same cores does not count) against the engine's own CPU per cycle in process
(same graph, no HTTP), measured in the same run. With `--langgraph-python` (a venv with
`langgraph-cli[inmem]`), the same cycle against `langgraph dev` is a row too.

Clients run in their own processes, so a client never shares the server's event loop: one at 1
client, `--client-procs` (2) sharing the 50 clients, since one langgraph_sdk process (httpx) spends
more CPU per cycle than the server and alone would be the bottleneck on a 2-core machine. Each
concurrent client is an SDK client of its own, as 50 users would have (sharing one, httpx keeps 20
connections alive and opens and closes the others per request: twice the client's CPU per cycle).
Each client process reports its CPU per cycle too (the `client CPU ms` column).

Run: python bench/api.py [--seconds S] [--only memory|redis] [--client-procs N]
                         [--langgraph-python /tmp/lgcli/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ is first on sys.path, where bench/redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.serving import cpu_seconds, langgraph_dev, redis_server, sluice  # noqa: E402

ENGINE_CYCLES = 300


async def cycle(client: Any, command: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "agent", input={"some_text": "original text"})
    assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}, paused
    done = await client.runs.wait(thread_id, "agent", command=command(resume="Edited text"))
    assert done == {"some_text": "Edited text"}, done


async def load(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """Client side (a process of its own): `clients` concurrent cycle loops for `seconds`."""
    from langgraph_sdk import get_client
    from langgraph_sdk.schema import Command

    # One SDK client per concurrent client, as N users would have: a shared one would keep only
    # httpx's 20 pooled connections alive and open and close the rest for every request.
    sdk_clients = [get_client(url=url) for _ in range(clients)]
    await cycle(sdk_clients[0], Command)  # warm up
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker(client: Any) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await cycle(client, Command)
            latencies.append(time.perf_counter() - started)

    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(client) for client in sdk_clients))
    return {"cycles": len(latencies), "elapsed": time.perf_counter() - began, "latencies": latencies,
            "cpu": time.process_time() - cpu_began}


def drive(targets: list[tuple[str, int]], clients: int, seconds: float, client_procs: int = 1) -> dict[str, float]:
    """Runs `client_procs` client processes per server at once, sharing `clients` concurrent cycle
    loops between them; sums their cycles, the servers' CPU and the clients' CPU (each client
    process times its own measured window)."""
    shares = [clients // client_procs + (i < clients % client_procs) for i in range(client_procs)]
    cpu_before = [cpu_seconds(pid) for _, pid in targets]
    procs = [subprocess.Popen([sys.executable, __file__, "--client", url, "--clients", str(share),
                               "--seconds", str(seconds)], stdout=subprocess.PIPE)
             for url, _ in targets for share in shares if share]
    results = [json.loads(p.communicate()[0]) for p in procs]
    cpu = sum(cpu_seconds(pid) - before for (_, pid), before in zip(targets, cpu_before, strict=True))
    cycles = sum(r["cycles"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    elapsed = max(r["elapsed"] for r in results)
    warmups = len(procs)  # each client process warms up with one cycle, inside the servers' CPU window
    return {
        "cycles_s": cycles / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "cpu_ms": cpu * 1000 / (cycles + warmups),
        "client_cpu_ms": sum(r["cpu"] for r in results) * 1000 / cycles,
    }


async def engine_cycle_ms(redis_url: str | None) -> float:
    """CPU per seed cycle of the engine in this process (ainvoke to the pause, then the resume)."""
    from engine import Command, InMemorySaver, RedisSaver
    from examples.text_revision import builder

    saver: Any = RedisSaver.from_url(redis_url) if redis_url else InMemorySaver()
    graph = builder.compile(checkpointer=saver)

    async def one(i: int) -> None:
        config = {"configurable": {"thread_id": f"engine-{redis_url is not None}-{i}-{time.monotonic_ns()}"}}
        await graph.ainvoke({"some_text": "original text"}, config)
        assert await graph.ainvoke(Command(resume="Edited text"), config) == {"some_text": "Edited text"}

    for i in range(20):
        await one(i)
    samples = []
    for _ in range(5):
        t0 = time.process_time()
        for i in range(ENGINE_CYCLES):
            await one(i)
        samples.append((time.process_time() - t0) / ENGINE_CYCLES)
    if redis_url:
        await saver.aclose()
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--langgraph-python", help="python of a venv with langgraph-cli[inmem] (adds its row)")
    parser.add_argument("--only", choices=("memory", "redis"), help="measure one store only (both by default)")
    parser.add_argument("--client-procs", type=int, default=2,
                        help="client processes sharing the 50 clients of a server (one langgraph_sdk client "
                             "process saturates a core before the server does); 1 client runs in one")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(load(args.client, args.clients, args.seconds))))
        return
    many = args.client_procs
    with redis_server() as redis_url:
        engine_ms = {"memory": asyncio.run(engine_cycle_ms(None)),
                     "redis": asyncio.run(engine_cycle_ms(redis_url)) if args.only != "memory" else float("nan")}
        print(f"engine in process, CPU per cycle: memory {engine_ms['memory']:.3f} ms, "
              f"Redis {engine_ms['redis']:.3f} ms (ratios below are against memory's, as the issue states them)")
        print(f"{'server':<22}{'clients':>8}{'procs':>6}{'cycles/s':>10}{'median ms':>11}{'p99 ms':>9}"
              f"{'CPU ms/cycle':>14}{'x engine':>10}{'client CPU ms':>15}")

        def row(name: str, clients: int, procs: int, r: dict[str, float]) -> None:
            print(f"{name:<22}{clients:>8}{procs:>6}{r['cycles_s']:>10.1f}{r['median_ms']:>11.2f}{r['p99_ms']:>9.2f}"
                  f"{r['cpu_ms']:>14.2f}{r['cpu_ms'] / engine_ms['memory']:>10.1f}{r['client_cpu_ms']:>15.2f}",
                  flush=True)

        one_redis = 0.0
        stores = (("sluice memory", None), ("sluice redis", redis_url))
        for store, url_for in [s for s in stores if args.only is None or s[0].endswith(args.only)]:
            with sluice(url_for) as target:
                for clients, procs in ((1, 1), (50, many)):
                    r = drive([target], clients, args.seconds, procs)
                    row(store, clients, procs, r)
                    one_redis = r["cycles_s"]
        if args.only is None:
            with ExitStack() as stack:
                targets = [stack.enter_context(sluice(redis_url)) for _ in range(2)]
                r = drive(targets, 50, args.seconds, many)
                row("sluice redis x2 procs", 100, 2 * many, r)
                print(f"two processes / one process on one Redis (50 clients each): {r['cycles_s'] / one_redis:.2f}x")
        if args.langgraph_python:
            with langgraph_dev(args.langgraph_python) as target:
                for clients, procs in ((1, 1), (50, many)):
                    r = drive([target], clients, max(args.seconds, 10.0), procs)
                    row("langgraph dev (inmem)", clients, procs, r)


if __name__ == "__main__":
    main()
