"""RedisSaver on the seed's interrupt + resume cycle, against a redis-server this script starts.

Prints, for one cycle (invoke -> pause, Command(resume=...) -> done, 3 checkpoints written):
  round trips per cycle and per checkpoint write   client calls counted at the client, per run too; and
                                                   the same for a saver that remembers no head
                                                   (remember=0: every run reads its thread first)
                                                   4 is the floor: each run writes once before its
                                                   node runs (input+step 0 / the resume claim: no node
                                                   runs on a state no write confirmed, and one pause
                                                   is claimed once) and once after (the pause / step 1)
  Redis commands per cycle                         every command Redis ran (INFO commandstats, which
                                                   also counts the commands inside our Lua scripts)
  bytes per paused thread, per checkpoint          INFO memory over 1,000 paused threads (TTL set)
  median cycle latency vs its round-trip floor     floor = round trips per cycle x median PING
  throughput at 1, 10, 100 and 1,000 threads       cycles/s, all threads cycling concurrently

LangGraph's Redis saver needs Redis modules (RedisJSON, RediSearch) that a plain redis-server lacks,
so it cannot run here; its figures, measured on this machine with Redis 8, are printed as the
reference.

Run: python bench/redis.py [--cycles N] [--seconds S] [--redis-server PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# This file is named redis.py: keep its own directory off the path, or `import redis` finds it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import redis.asyncio as aioredis  # noqa: E402

from bench.serving import redis_server  # noqa: E402
from engine import Command, InMemorySaver, RedisSaver  # noqa: E402
from examples.text_revision import builder  # noqa: E402

# LangGraph 1.x with langgraph-checkpoint-redis on Redis 8 with modules, same machine (from issue 3).
LANGGRAPH = {"commands": 42.0, "cycle_ms": 16.7, "bytes": 37_000.0, "tput_1000": 48.0, "ping_ms": 0.14}
TTL = 7 * 24 * 3600


class CountingSaver(RedisSaver):
    """Counts checkpoints written (a save with `then=` writes two in one call)."""

    saves = 0

    async def save(self, *args: Any, **kwargs: Any) -> None:
        CountingSaver.saves += 2 if kwargs.get("then") is not None else 1
        await super().save(*args, **kwargs)


async def cycle(graph: Any) -> None:
    cfg = {"configurable": {"thread_id": uuid.uuid4().hex}}
    paused = await graph.ainvoke({"some_text": "original text"}, cfg)
    assert "__interrupt__" in paused
    done = await graph.ainvoke(Command(resume="Edited text"), cfg)
    assert done == {"some_text": "Edited text"}


async def commands_per_cycle(url: str, cycles: int, ttl: int | None = TTL, remember: int = 10_000) -> dict[str, float]:
    admin = aioredis.from_url(url)
    saver = CountingSaver.from_url(url, ttl=ttl, remember=remember)
    graph = builder.compile(checkpointer=saver)
    await cycle(graph)  # the first call of each script loads it (NOSCRIPT): not part of a cycle
    sent = saver.sent
    CountingSaver.saves = 0
    await admin.config_resetstat()
    first_run = 0
    for _ in range(cycles):
        cfg = {"configurable": {"thread_id": uuid.uuid4().hex}}
        before = saver.sent[1]
        paused = await graph.ainvoke({"some_text": "original text"}, cfg)
        first_run += saver.sent[1] - before
        assert "__interrupt__" in paused
        assert await graph.ainvoke(Command(resume="Edited text"), cfg) == {"some_text": "Edited text"}
    stats = await admin.info("commandstats")
    commands, round_trips = (now - then for now, then in zip(saver.sent, sent, strict=True))
    await saver.aclose()
    await admin.aclose()
    ran = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    ran.pop("config|resetstat", None)
    return {
        "checkpoints": CountingSaver.saves / cycles,
        "sent": commands / cycles,
        "round_trips": round_trips / cycles,
        "first_run": first_run / cycles,
        "evalsha": ran.get("evalsha", 0) / cycles,
        "commands": sum(ran.values()) / cycles,
    }


async def bytes_per_thread(url: str, threads: int) -> float:
    admin = aioredis.from_url(url)
    saver = RedisSaver.from_url(url, ttl=TTL)
    graph = builder.compile(checkpointer=saver)
    await admin.flushall()
    await graph.ainvoke({"some_text": "original text"}, {"configurable": {"thread_id": "warm"}})
    before = (await admin.info("memory"))["used_memory"]
    for start in range(0, threads, 100):
        await asyncio.gather(*(
            graph.ainvoke({"some_text": "original text"}, {"configurable": {"thread_id": f"paused-{i}"}})
            for i in range(start, min(start + 100, threads))
        ))
    after = (await admin.info("memory"))["used_memory"]
    assert await admin.dbsize() == 2 * (threads + 1)
    await admin.flushall()
    await saver.aclose()
    await admin.aclose()
    return float(after - before) / threads


async def latencies(url: str, cycles: int, round_trips: int) -> tuple[float, float, float]:
    """Medians, in ms: one PING, a cycle on Redis, the same cycle on InMemorySaver (the engine's own share).

    The three are interleaved sample by sample (a cycle, `round_trips` PINGs, a memory cycle), so
    the floor is measured under the same conditions as the cycle it is compared with.
    """
    saver = RedisSaver.from_url(url, ttl=TTL)
    on_redis, in_memory = builder.compile(checkpointer=saver), builder.compile(checkpointer=InMemorySaver())
    client = saver.client
    await cycle(on_redis)
    await cycle(in_memory)
    pings, redis_cycles, memory_cycles = [], [], []
    for _ in range(cycles):
        t0 = time.perf_counter()
        await cycle(on_redis)
        t1 = time.perf_counter()
        for _ in range(round_trips):
            await client.ping()
        t2 = time.perf_counter()
        await cycle(in_memory)
        t3 = time.perf_counter()
        redis_cycles.append(t1 - t0)
        pings.append((t2 - t1) / round_trips)
        memory_cycles.append(t3 - t2)
    await saver.aclose()
    return tuple(statistics.median(x) * 1000 for x in (pings, redis_cycles, memory_cycles))  # type: ignore[return-value]


async def throughput(url: str, threads: int, seconds: float) -> tuple[float, float]:
    """Cycles per second with `threads` threads cycling at once, and commands per round trip."""
    saver = RedisSaver.from_url(url, ttl=TTL)
    graph = builder.compile(checkpointer=saver)
    await cycle(graph)
    sent = saver.sent
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await cycle(graph)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(threads)))
    elapsed = time.perf_counter() - t0
    commands, round_trips = (now - then for now, then in zip(saver.sent, sent, strict=True))
    await saver.aclose()
    return done / elapsed, commands / max(round_trips, 1)


def row(label: str, ours: str, reference: str, note: str = "") -> str:
    return f"  {label:<42} {ours:>14} {reference:>14}   {note}"


async def main(args: argparse.Namespace) -> None:
    binary = args.redis_server or shutil.which("redis-server") or "/usr/bin/redis-server"
    with redis_server(binary) as url:
        version = (await aioredis.from_url(url).info("server"))["redis_version"]
        counts = await commands_per_cycle(url, args.cycles)
        without_ttl = await commands_per_cycle(url, args.cycles, ttl=None)
        reading = await commands_per_cycle(url, args.cycles, remember=0)
        per_thread = await bytes_per_thread(url, 1000)
        ping, cycle_ms, memory_ms = await latencies(url, args.cycles, round(counts["round_trips"]))
        tput = {n: await throughput(url, n, args.seconds) for n in (1, 10, 100, 1000)}

    floor = ping * counts["round_trips"]
    cps = counts["checkpoints"]
    print(f"\nSluice RedisSaver, seed interrupt + resume cycle — redis-server {version} (no modules), Python "
          f"{sys.version.split()[0]}, {args.cycles} cycles\n")
    print(row("", "Sluice", "LangGraph ref", ""))
    print(row("checkpoints written per cycle", f"{cps:.0f}", "", "input, pause, after resume"))
    print(row("commands sent per cycle", f"{counts['sent']:.1f}", "", f"all EVALSHA ({counts['evalsha']:.1f} seen by Redis)"))
    rt, first = counts["round_trips"], counts["first_run"]
    print(row("round trips per cycle, one thread", f"{rt:.1f}", "",
              f"run 1: {first:.1f} (input+step 0, pause), run 2: {rt - first:.1f} (claim, step 1)"))
    print(row("round trips per checkpoint write", f"{rt / cps:.2f}", "", f"{rt:.0f} round trips / {cps:.0f} checkpoints"))
    print(row("  the same, a saver remembering no head", f"{reading['round_trips'] / cps:.2f}", "",
              f"remember=0: {reading['round_trips']:.1f} per cycle, each run reads its thread first"))
    print(row("Redis commands per cycle (commandstats)", f"{counts['commands']:.1f}", f"{LANGGRAPH['commands']:.0f}",
              "incl. commands run inside the Lua scripts"))
    print(row("  the same without a TTL", f"{without_ttl['commands']:.1f}", "", "no EXPIRE refresh"))
    print(row("  the same, a saver remembering no head", f"{reading['commands']:.1f}", "", "remember=0"))
    print(row("Redis commands per checkpoint", f"{counts['commands'] / cps:.1f}", f"{LANGGRAPH['commands'] / cps:.1f}"))
    print(row("bytes per paused thread (1,000, TTL set)", f"{per_thread:,.0f}", f"{LANGGRAPH['bytes']:,.0f}",
              "target < 4,096"))
    print(row("bytes per checkpoint (a paused thread has 2)", f"{per_thread / 2:,.0f}", f"{LANGGRAPH['bytes'] / 2:,.0f}",
              "input + step 0, with the pause's record"))
    print(row("PING round trip, median (ms)", f"{ping:.3f}", f"{LANGGRAPH['ping_ms']:.2f}", "redis-py, measured between cycles"))
    print(row("round-trip floor of a cycle (ms)", f"{floor:.3f}", "", f"{counts['round_trips']:.0f} x PING"))
    print(row("cycle median latency (ms)", f"{cycle_ms:.3f}", f"{LANGGRAPH['cycle_ms']:.1f}",
              f"{cycle_ms / floor:.1f}x floor (target <= 3x)"))
    print(row("  same cycle on InMemorySaver (ms)", f"{memory_ms:.3f}", "", "the engine's own share"))
    for n, (value, per_trip) in tput.items():
        ref = f"{LANGGRAPH['tput_1000']:.0f}" if n == 1000 else ""
        note = f"{per_trip:.1f} commands per round trip" + (", target >= 1,000" if n == 1000 else "")
        print(row(f"throughput, {n:,} concurrent threads (cycles/s)", f"{value:,.0f}", ref, note))
    print("\n  LangGraph ref: langgraph + langgraph-checkpoint-redis on Redis 8 with RedisJSON/RediSearch, same\n"
          "  machine (figures from issue 3; that saver refuses plain Redis: unknown command 'FT.INFO').")
    print(f"  Ratios Sluice/LangGraph: commands/cycle {counts['commands'] / LANGGRAPH['commands']:.2f}, "
          f"latency {cycle_ms / LANGGRAPH['cycle_ms']:.2f}, bytes/thread {per_thread / LANGGRAPH['bytes']:.3f}, "
          f"throughput@1000 {tput[1000][0] / LANGGRAPH['tput_1000']:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=300, help="cycles for the counts and the latency median")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each throughput run")
    parser.add_argument("--redis-server", help="path to redis-server (default: from PATH)")
    asyncio.run(main(parser.parse_args()))
