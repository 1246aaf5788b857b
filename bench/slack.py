"""Slack decision latency: signed click -> ack, click -> chat.update and click -> next pause posted,
and the bot process's CPU per click, at 1 and at N concurrent clicks, in one run.

As in production, three kinds of process: `python -m bot serve` (its own process, real Redis,
real slack-bolt on a real port), this process (the redis-server's parent and the local Slack Web
API the bot calls: it sees each `chat.update` and `chat.postMessage` as it arrives), and a
clicking client (a process of its own, so neither Slack's side nor the bot's shares its event
loop: the ack is timed from the moment a signed request may go out to its 200). Times are
compared across processes on the system-wide monotonic clock (`time.perf_counter`).

The graph pauses again right after each decision (bench/slack_graph.py), so "next pause posted" is
the full loop: ack, resume, run, `chat.update`, `chat.postMessage`. CPU per click is the serve
process's user + system time (/proc) over a level's rounds divided by its clicks. The bench's own
processes share the two cores: their CPU per click is reported too (this one's: the local Slack
answering every Web API call, and Redis's parent; the clicking client's), with a round's timeline
(its last ack, its first and last chat.update). Each level starts with one unmeasured round
(connections, caches).

    python bench/slack.py [--rounds 200] [--concurrency 1 100] [--repeat 1] [--slack-rtt-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The repo root instead of bench/, whose redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from redis import Redis as SyncRedis  # noqa: E402

from bench.serving import cpu_seconds as cpu_ticks  # noqa: E402
from bench.serving import redis_server  # noqa: E402
from bot.playground.slack_user import LocalSlack  # noqa: E402
from bot.playground.workspace import Message  # noqa: E402
from tests.processes import Serve  # noqa: E402
from tests.slack.harness import APPROVER, CHANNEL, SECRET, TOKEN, USERS, button  # noqa: E402

ASSISTANT = "loop"
ROUND_TIMEOUT_S = 120.0
REST_S = 0.02


def cpu_seconds(pid: int) -> float:
    """The process's CPU time (every thread), to the nanosecond from /proc/<pid>/task/*/schedstat: the
    /proc/<pid>/stat ticks are 10 ms, as much as a whole 100-click round's ack work. Ticks where
    schedstat is missing."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return cpu_ticks(pid)
    return total / 1e9


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the clicking client (a process of its own) ------------------------------------------------------


async def _client() -> None:
    """Reads a batch of signed requests per line on stdin, sends them all at once, and writes one
    line back: [[sent at, ack seconds, status], ...] in the batch's order."""
    url = sys.argv[2]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def send(request: dict[str, Any]) -> list[float]:
            started = time.perf_counter()
            async with http.post(url, data=request["body"].encode(), headers=request["headers"]) as response:
                await response.read()
                return [started, time.perf_counter() - started, response.status]

        while line := await reader.readline():
            batch = json.loads(line)
            answers = await asyncio.gather(*(send(r) for r in batch))
            sys.stdout.write(json.dumps(answers) + "\n")
            sys.stdout.flush()


class Clicker:
    def __init__(self, events_url: str) -> None:
        self.events_url = events_url
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client", self.events_url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,
        )

    async def send(self, batch: list[dict[str, Any]]) -> list[list[float]]:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(batch) + "\n").encode())
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the clicking client died")
        return list(json.loads(line))

    async def close(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            await self.proc.wait()


# --- what Slack's side sees ----------------------------------------------------------------------------


class FarSlack(LocalSlack):
    """The local Slack `rtt_s` away: half of it before a Web API call arrives (and is timed), half
    before its answer leaves. Slack's own Web API answers in tens of milliseconds, not the local one's
    one: work that waits for Slack's answer while holding a lane's slot shows only with this."""

    def __init__(self, rtt_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rtt_s = rtt_s

    def app(self) -> web.Application:
        app = super().app()
        half = self.rtt_s / 2

        @web.middleware
        async def far(request: web.Request, handler: Any) -> web.StreamResponse:
            if not request.path.startswith("/api/"):
                return await handler(request)
            await asyncio.sleep(half)
            response = await handler(request)
            await asyncio.sleep(half)
            return response

        if half > 0:
            app.middlewares.append(far)
        return app


@dataclass
class Watch:
    """Told of every Web API call the bot makes (at its arrival): when each pause message was
    updated, and when each thread's next pause was posted."""

    slack: LocalSlack
    threads: set[str] = field(default_factory=set)
    updated: dict[str, float] = field(default_factory=dict)  # message ts -> first chat.update
    posted: dict[str, float] = field(default_factory=dict)  # thread id -> first chat.postMessage
    all_posted: asyncio.Event = field(default_factory=asyncio.Event)
    all_updated: asyncio.Event = field(default_factory=asyncio.Event)
    on_all_updated: Any = None  # called once, when the round's last pause message is updated

    def __call__(self, method: str, args: dict[str, Any]) -> None:
        now = time.perf_counter()
        if method == "chat.update":
            self.updated.setdefault(str(args.get("ts")), now)
            if len(self.updated) >= len(self.threads) and not self.all_updated.is_set():
                self.all_updated.set()
                if self.on_all_updated is not None:
                    self.on_all_updated()
        elif method == "chat.postMessage":
            blocks = args.get("blocks")
            shown = blocks if isinstance(blocks, str) else json.dumps(blocks)
            for thread_id in self.threads:
                if thread_id in shown and thread_id not in self.posted:
                    self.posted[thread_id] = now
            if len(self.posted) == len(self.threads):
                self.all_posted.set()

    def reset(self, threads: list[str]) -> None:
        self.threads = set(threads)
        self.updated.clear()
        self.posted.clear()
        self.all_posted.clear()
        self.all_updated.clear()
        self.on_all_updated = None

    def pause_messages(self, threads: list[str]) -> dict[str, Message]:
        """Each thread's newest message that shows it (its current pause)."""
        wanted = set(threads)
        found: dict[str, Message] = {}
        for message in reversed(self.slack.channel_messages(CHANNEL)):
            shown = json.dumps(message.blocks)
            for thread_id in wanted - found.keys():
                if thread_id in shown:
                    found[thread_id] = message
            if len(found) == len(wanted):
                break
        return found


# --- one level of concurrency --------------------------------------------------------------------------


@dataclass
class Level:
    concurrency: int
    acks: list[float] = field(default_factory=list)
    to_update: list[float] = field(default_factory=list)
    to_next: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    ack_cpu_s: float = 0.0  # the serve process's CPU from sending the clicks to their last ack
    update_cpu_s: float = 0.0  # ... from sending the clicks to the last clicked message's chat.update
    clicks: int = 0
    refused: int = 0  # private replies (a click refused or not applied): must be 0
    reads: int = 0  # GET /threads/<id> between rounds (waiting for runs to end), taken out of cpu_s
    redis_calls: int = 0  # Redis commands run, those inside scripts too (clicks' and the waits' reads)
    redis_bytes: int = 0  # bytes the bot sent Redis (INFO stats total_net_input_bytes; the bench's few reads too)
    by_name: dict[str, int] = field(default_factory=dict)
    slack_calls: dict[str, int] = field(default_factory=dict)  # Web API calls the bot made, by method
    slack_cpu_s: float = 0.0  # this process's CPU (the local Slack, Redis's parent, the watch) over the rounds
    clicker_cpu_s: float = 0.0  # the clicking client's CPU over the rounds
    slack_update_cpu_s: float = 0.0  # this process's CPU from sending the clicks to the last chat.update
    timeline: list[tuple[float, float, float]] = field(default_factory=list)  # last ack, first and last update


async def _pause_threads(http: aiohttp.ClientSession, url: str, watch: Watch, n: int) -> list[str]:
    threads = []
    for _ in range(n):
        async with http.post(url + "/threads", json={}) as response:
            threads.append(str((await response.json())["thread_id"]))
    watch.reset(threads)
    for i, thread_id in enumerate(threads):
        body = {"assistant_id": ASSISTANT, "input": {"text": f"draft {i}"}}
        async with http.post(f"{url}/threads/{thread_id}/runs", json=body) as response:
            assert response.status == 200, await response.text()
    await asyncio.wait_for(watch.all_posted.wait(), ROUND_TIMEOUT_S)
    await _rested(http, url, threads)
    return threads


async def _rested(http: aiohttp.ClientSession, url: str, threads: list[str]) -> int:
    """Waits until every thread's run has ended (its pause is posted before its end is stored);
    returns how many reads of a thread that took (their CPU is not the clicks')."""
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    reads = 0
    await asyncio.sleep(REST_S)
    for thread_id in threads:
        while True:
            reads += 1
            async with http.get(f"{url}/threads/{thread_id}") as response:
                if (await response.json())["status"] == "interrupted":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"thread {thread_id} did not come to rest")
            await asyncio.sleep(REST_S)
    return reads


async def _read_cpu_s(http: aiohttp.ClientSession, server: Serve, thread_id: str, n: int = 200) -> float:
    """The serve process's CPU for one read of a thread (to take the waits' reads out of the clicks')."""
    assert server.proc is not None
    before = cpu_seconds(server.proc.pid)
    for _ in range(n):
        async with http.get(f"{server.url}/threads/{thread_id}") as response:
            await response.read()
    return (cpu_seconds(server.proc.pid) - before) / n


async def _round(
    slack: LocalSlack, watch: Watch, clicker: Clicker, http: aiohttp.ClientSession, server: Serve, threads: list[str],
    level: Level | None,
) -> None:
    assert server.proc is not None
    url, pid = server.url, server.proc.pid
    messages = watch.pause_messages(threads)
    batch = []
    for thread_id in threads:
        message = messages[thread_id]
        payload = slack.block_actions_payload(APPROVER, button(message, "Approve"), channel=CHANNEL, ts=message.ts)
        body, headers = slack.interaction_request(payload)
        batch.append({"body": body.decode(), "headers": headers})
    watch.reset(threads)
    private_before = len(slack.channel_messages(CHANNEL, ephemeral=True))
    cpu_before = cpu_seconds(pid)
    update_cpu: list[float] = []
    mine_before = time.process_time()
    mine_update: list[float] = []

    def all_updated() -> None:  # read on arrival
        update_cpu.append(cpu_seconds(pid) - cpu_before)
        mine_update.append(time.process_time() - mine_before)

    watch.on_all_updated = all_updated
    answers = await clicker.send(batch)
    ack_cpu_s = cpu_seconds(pid) - cpu_before
    await asyncio.wait_for(watch.all_posted.wait(), ROUND_TIMEOUT_S)
    reads = await _rested(http, url, threads)
    if level is None:
        return
    level.reads += reads
    level.refused += len(slack.channel_messages(CHANNEL, ephemeral=True)) - private_before
    level.ack_cpu_s += ack_cpu_s
    level.update_cpu_s += update_cpu[0]
    level.slack_update_cpu_s += mine_update[0]
    first_sent = min(a[0] for a in answers)
    level.timeline.append((max(a[0] + a[1] for a in answers) - first_sent,
                           min(watch.updated[messages[t].ts] for t in threads) - first_sent,
                           max(watch.updated[messages[t].ts] for t in threads) - first_sent))
    for thread_id, (sent, ack_s, status) in zip(threads, answers, strict=True):
        assert status == 200, f"click answered {status}"
        level.acks.append(ack_s)
        level.to_update.append(watch.updated[messages[thread_id].ts] - sent)
        level.to_next.append(watch.posted[thread_id] - sent)
    level.clicks += len(threads)


def _commands(redis: Any) -> tuple[int, dict[str, int]]:
    """Commands Redis ran so far (INFO commandstats: a script's own commands too), in all and by name."""
    by_name = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in redis.info("commandstats").items()}
    by_name.pop("info", None)
    return sum(by_name.values()), by_name


def _bytes_in(redis: Any) -> int:
    return int(redis.info("stats")["total_net_input_bytes"])


async def _level(
    slack: LocalSlack, watch: Watch, server: Serve, concurrency: int, rounds: int, clicker: Clicker, redis: Any
) -> Level:
    assert server.proc is not None
    level = Level(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        threads = await _pause_threads(http, server.url, watch, concurrency)
        await _round(slack, watch, clicker, http, server, threads, None)  # warm-up, not measured
        before = cpu_seconds(server.proc.pid)
        calls_before = _commands(redis)
        slack_before = len(slack.calls)
        bytes_before = _bytes_in(redis)
        assert clicker.proc is not None
        mine_before, clicker_before = time.process_time(), cpu_seconds(clicker.proc.pid)
        for _ in range(max(1, rounds // concurrency)):
            await _round(slack, watch, clicker, http, server, threads, level)
        level.slack_cpu_s = time.process_time() - mine_before
        level.clicker_cpu_s = cpu_seconds(clicker.proc.pid) - clicker_before
        spent = cpu_seconds(server.proc.pid) - before
        calls_after = _commands(redis)
        level.redis_bytes = _bytes_in(redis) - bytes_before
        level.cpu_s = max(0.0, spent - level.reads * await _read_cpu_s(http, server, threads[0]))
        level.redis_calls = calls_after[0] - calls_before[0]
        for method, _ in slack.calls[slack_before:]:
            level.slack_calls[method] = level.slack_calls.get(method, 0) + 1
        level.by_name = {k: v - calls_before[1].get(k, 0) for k, v in calls_after[1].items()}
    return level


# --- the run ---------------------------------------------------------------------------------------------


def _graphs_file(folder: Path) -> Path:
    graphs = folder / "langgraph.json"
    graphs.write_text(json.dumps({"graphs": {ASSISTANT: f"{HERE / 'slack_graph.py'}:graph"}}))
    return graphs


async def run(rounds: int, concurrencies: list[int], slack_rtt_s: float = 0.0) -> list[Level]:
    slack = FarSlack(slack_rtt_s, signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "general"}, users=USERS)
    watch = Watch(slack)
    slack.observers.append(watch)
    await slack.start()
    with redis_server() as redis_url, tempfile.TemporaryDirectory(prefix="sluice-slack-bench-") as tmp:
        graphs = _graphs_file(Path(tmp))
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
               "SLUICE_SLACK_CHANNEL": CHANNEL, "SLUICE_APPROVERS": APPROVER, "REDIS_URL": redis_url,
               "SLUICE_GRAPHS": str(graphs)}
        server = Serve(env, Path(tmp, "serve.log"))
        clicker = Clicker("")
        try:
            await asyncio.to_thread(server.start)
            clicker = Clicker(server.url + "/slack/events")
            await clicker.start()
            redis = SyncRedis.from_url(redis_url)
            try:
                return [await _level(slack, watch, server, c, rounds, clicker, redis) for c in concurrencies]
            finally:
                redis.close()
        finally:
            await clicker.close()
            await asyncio.to_thread(server.stop)
            await slack.close()


def report(levels: list[Level], commands: bool = False) -> None:
    for level in levels:
        print(f"concurrency {level.concurrency:>3}: {level.clicks} clicks, bot CPU "
              f"{level.cpu_s / max(1, level.clicks) * 1000:.2f} ms per click (until the last ack "
              f"{level.ack_cpu_s / max(1, level.clicks) * 1000:.2f} ms, until the last chat.update "
              f"{level.update_cpu_s / max(1, level.clicks) * 1000:.2f} ms), Redis commands per click "
              f"{level.redis_calls / max(1, level.clicks):.1f} (those scripts run too), "
              f"bytes to Redis per click {level.redis_bytes / max(1, level.clicks) / 1024:.1f} kB, refused {level.refused}")
        print(f"  the bench's own CPU per click: local Slack process {level.slack_cpu_s / max(1, level.clicks) * 1000:.2f} ms, "
              f"clicking client {level.clicker_cpu_s / max(1, level.clicks) * 1000:.2f} ms; local Slack until the last "
              f"chat.update {level.slack_update_cpu_s / max(1, level.clicks) * 1000:.2f} ms")
        if level.timeline:
            last_ack, first_update, last_update = (statistics.median(t[i] for t in level.timeline) * 1000 for i in range(3))
            print(f"  a round (medians): last ack {last_ack:.1f} ms, chat.updates from {first_update:.1f} to "
                  f"{last_update:.1f} ms after its first click was sent")
        for name, values in (
            ("click -> ack", level.acks),
            ("click -> chat.update", level.to_update),
            ("click -> next pause posted", level.to_next),
        ):
            ms = [v * 1000 for v in values]
            print(f"  {name:<28} median {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms")
        if commands:
            top = sorted(level.by_name.items(), key=lambda kv: -kv[1])
            print("  Redis per click: " + ", ".join(f"{k} {v / max(1, level.clicks):.1f}" for k, v in top if v))
            made = sorted(level.slack_calls.items(), key=lambda kv: -kv[1])
            print("  Slack Web API calls per click: " + ", ".join(f"{k} {v / max(1, level.clicks):.1f}" for k, v in made))
    if len(levels) > 1:
        base, top = levels[0], levels[-1]
        ratio = statistics.median(top.to_update) / statistics.median(base.to_update)
        print(f"click -> chat.update median at {top.concurrency} / at {base.concurrency}: {ratio:.2f}x "
              f"(target <= 3x); ack p99 at {top.concurrency}: {pct(top.acks, 0.99) * 1000:.1f} ms (target <= 100 ms)")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        asyncio.run(_client())
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="clicks per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--repeat", type=int, default=1, help="runs (each with its own processes)")
    parser.add_argument("--commands", action="store_true", help="Redis commands per click, by name")
    parser.add_argument("--slack-rtt-ms", type=float, default=0.0,
                        help="the local Slack's Web API answers this much later (half before the call is timed)")
    args = parser.parse_args()
    for n in range(args.repeat):
        if args.repeat > 1:
            print(f"--- run {n + 1} of {args.repeat}")
        report(asyncio.run(run(args.rounds, args.concurrency, args.slack_rtt_ms / 1000)), args.commands)


if __name__ == "__main__":
    main()
