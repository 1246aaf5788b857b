"""Click storms: two `python -m bot serve` processes on one Redis (or a three-master Redis Cluster)
and the local Slack; N pauses, every Approve sent three times, spread over both processes, all at
once. Then the same with one process SIGKILLed halfway through the clicks.

The clicks come from a separate client process (raw aiohttp, at most --in-flight requests at a
time, each timed from when it may go out), so the client is not what is measured. It prints, per
variant: resumed (must be N), duplicates (resumes beyond one per pause: 0), lost (N - resumed: 0),
ack median / p95 / p99 and acks slower than 3 s (Slack's limit: 0); failed are clicks that got no
answer (only the killed process's, in flight when it died).

    python bench/load.py [--pauses 200] [--in-flight 150] [--variants plain kill cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The repo root instead of bench/, whose redis.py would shadow the redis package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import aiohttp  # noqa: E402

from bot.playground.slack_user import LocalSlack  # noqa: E402
from tests.processes import Serve, free_port  # noqa: E402
from tests.slack.harness import APPROVER, CHANNEL, SECRET, TOKEN, USERS, button  # noqa: E402

SLACK_ACK_LIMIT_S = 3.0
SETTLE_S = 120.0


@dataclass
class Result:
    variant: str
    pauses: int
    resumed: int
    duplicates: int
    lost: int
    acks: list[float]
    failed: int

    def line(self) -> str:
        acks = sorted(self.acks) or [0.0]
        slow = sum(1 for a in self.acks if a > SLACK_ACK_LIMIT_S)
        return (
            f"{self.variant:8} pauses {self.pauses:4}  resumed {self.resumed:4}  duplicates {self.duplicates}  "
            f"lost {self.lost}  clicks {len(self.acks) + self.failed:4} (failed {self.failed})  ack median "
            f"{statistics.median(acks):.3f} s  p95 {pct(acks, 0.95):.3f} s  p99 {pct(acks, 0.99):.3f} s  "
            f"max {acks[-1]:.3f} s  slower than 3 s: {slow}"
        )


def pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- Redis -----------------------------------------------------------------------------------------


def start_redis(cluster: bool, workdir: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    procs = []
    ports = []
    for i in range(3 if cluster else 1):
        port = free_port()
        while cluster and port + 10000 > 65535:
            port = free_port()
        node_dir = workdir / f"redis-{i}"
        node_dir.mkdir()
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir), "--save", "",
                "--appendonly", "no"]
        if cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    for port in ports:
        _wait_redis(port)
    if cluster:
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        for port in ports:
            _wait_redis(port, "cluster_state:ok")
    return f"redis://127.0.0.1:{ports[0]}/0", procs


def _wait_redis(port: int, ready: str | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = ["redis-cli", "-p", str(port)] + (["cluster", "info"] if ready else ["ping"])
        out = subprocess.run(probe, capture_output=True, text=True).stdout
        if (ready or "PONG") in out:
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis on {port} not ready")


# --- the clicking client (a process of its own) ------------------------------------------------------


async def _client(plan: dict[str, Any]) -> dict[str, Any]:
    urls: list[str] = plan["urls"]
    dead: set[int] = set()
    limit = asyncio.Semaphore(plan["in_flight"])
    acks: list[float] = []
    failed = 0
    done = 0
    connector = aiohttp.TCPConnector(limit=plan["in_flight"], force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def send(request: dict[str, Any]) -> None:
            nonlocal failed, done
            async with limit:
                target = request["target"]
                if target in dead:  # the balancer sends what the dead process would get to the other
                    target = 1 - target
                started = time.perf_counter()
                try:
                    async with http.post(urls[target] + "/slack/events", data=request["body"].encode(),
                                         headers=request["headers"]) as response:
                        await response.read()
                        if response.status == 200:
                            acks.append(time.perf_counter() - started)
                        else:
                            failed += 1
                except (TimeoutError, aiohttp.ClientError):
                    failed += 1
                done += 1
                if plan.get("kill_pid") and done == plan["kill_after"]:
                    os.kill(plan["kill_pid"], signal.SIGKILL)
                    dead.add(0)

        await asyncio.gather(*(send(r) for r in plan["requests"]))
    return {"acks": acks, "failed": failed}


def client_main(plan_path: str, out_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    Path(out_path).write_text(json.dumps(asyncio.run(_client(plan))))


# --- one variant ----------------------------------------------------------------------------------


async def run_variant(variant: str, pauses: int, in_flight: int, workdir: Path, quiet: bool = False) -> Result:
    redis_url, redis_procs = start_redis(variant == "cluster", workdir)
    slack = LocalSlack(signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "general"}, users=USERS)
    await slack.start()
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
           "SLUICE_SLACK_CHANNEL": CHANNEL, "SLUICE_APPROVERS": APPROVER, "REDIS_URL": redis_url}
    if variant == "kill":  # runs the killed process was executing are taken over once this lapses
        env["SLUICE_RUN_LEASE"] = "5"
    servers = [Serve(env, workdir / f"{variant}-{i}.log") for i in range(2)]
    try:
        for server in servers:
            await asyncio.to_thread(server.start)
        threads = await _pause_all(servers, pauses)
        messages = await _messages(slack, threads)
        requests = []
        for n, thread_id in enumerate(threads):
            message = messages[thread_id]
            for k in range(3):  # three Approves per pause, over both processes
                payload = slack.block_actions_payload(APPROVER, button(message, "Approve"), channel=CHANNEL,
                                                      ts=message.ts)
                body, headers = slack.interaction_request(payload)
                requests.append({"target": (n + k) % 2, "body": body.decode(), "headers": headers})
        random.Random(7).shuffle(requests)
        plan = {"urls": [s.url for s in servers], "in_flight": in_flight, "requests": requests}
        if variant == "kill":
            assert servers[0].proc is not None
            plan.update(kill_pid=servers[0].proc.pid, kill_after=len(requests) // 2)
        plan_path, out_path = workdir / f"{variant}-plan.json", workdir / f"{variant}-acks.json"
        plan_path.write_text(json.dumps(plan))
        client = await asyncio.create_subprocess_exec(sys.executable, __file__, "--client", str(plan_path),
                                                      str(out_path))
        await client.wait()
        sent = json.loads(out_path.read_text())
        alive = servers[1] if variant == "kill" else servers[0]
        resumed, duplicates = await _settle(alive, threads)
        result = Result(variant, pauses, resumed, duplicates, pauses - resumed, sent["acks"], sent["failed"])
        if not quiet:
            print(result.line(), flush=True)
        return result
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)
        await slack.close()
        for proc in redis_procs:
            proc.terminate()
            proc.wait()


async def _pause_all(servers: list[Serve], pauses: int) -> list[str]:
    """N threads, each paused by a run started through the API (half on each process)."""
    limit = asyncio.Semaphore(20)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:

        async def one(n: int) -> str:
            url = servers[n % 2].url
            async with limit:
                async with http.post(url + "/threads", json={}) as response:
                    thread_id = str((await response.json())["thread_id"])
                body = {"assistant_id": "agent", "input": {"some_text": f"draft {n}"}}
                async with http.post(f"{url}/threads/{thread_id}/runs/wait", json=body) as response:
                    assert "__interrupt__" in await response.json()
            return thread_id

        return list(await asyncio.gather(*(one(n) for n in range(pauses))))


async def _messages(slack: LocalSlack, threads: list[str]) -> dict[str, Any]:
    wanted = set(threads)
    deadline = time.monotonic() + 60
    while True:
        found = {}
        for message in slack.channel_messages(CHANNEL):
            shown = json.dumps(message.blocks)
            for thread_id in wanted:
                if thread_id in shown:
                    found[thread_id] = message
        if len(found) == len(wanted):
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(wanted) - len(found)} pauses never posted")
        await asyncio.sleep(0.2)


async def _settle(server: Serve, threads: list[str]) -> tuple[int, int]:
    """Waits for every thread to be resumed (or SETTLE_S); returns (resumed, duplicate resumes)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def resumes(thread_id: str) -> int:
            async with http.get(f"{server.url}/threads/{thread_id}/runs?limit=100") as response:
                runs = await response.json()
            return sum(1 for r in runs if r["status"] == "success" and "resume" in (r["kwargs"].get("command") or {}))

        deadline = time.monotonic() + SETTLE_S
        while True:
            counts = [await resumes(t) for t in threads]
            resumed = sum(1 for c in counts if c >= 1)
            if resumed == len(threads) or time.monotonic() > deadline:
                return resumed, sum(c - 1 for c in counts if c > 1)
            await asyncio.sleep(0.5)


async def run(pauses: int, in_flight: int, variants: list[str]) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="sluice-load-") as tmp:
        for variant in variants:
            workdir = Path(tmp) / variant
            workdir.mkdir()
            results.append(await run_variant(variant, pauses, in_flight, workdir))
    return results


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pauses", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=150)
    parser.add_argument("--variants", nargs="+", default=["plain", "kill", "cluster"],
                        choices=["plain", "kill", "cluster"])
    args = parser.parse_args()
    print(f"{args.pauses} pauses, 3 Approves each over two serve processes, {args.in_flight} clicks in flight")
    results = asyncio.run(run(args.pauses, args.in_flight, args.variants))
    if any(r.lost or r.duplicates or r.resumed != r.pauses for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
