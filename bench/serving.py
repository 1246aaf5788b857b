"""Processes for the service benchmarks: a redis-server, `python -m bot serve`, `langgraph dev`,
and the CPU time a process (with its children) has used, read from /proc.

CPU time, not wall time, is what the benchmarks compare: the client runs on the same cores, so a
server's wall time also counts the client's work and whatever else the machine is doing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for current in found:
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its living descendants (utime, stime of /proc/<pid>/stat)."""
    total = 0
    for each in _descendants(pid):
        try:
            with open(f"/proc/{each}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), counted after the name
    return total / TICKS


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
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
def _running(argv: list[str], env: dict[str, str], cwd: Path, probe: str, port: int) -> Iterator[tuple[str, int]]:
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + probe, proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def sluice(redis_url: str | None) -> Iterator[tuple[str, int]]:
    """`python -m bot serve` on the seed graphs (in memory, or on `redis_url`): its URL and pid."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "SLUICE_GRAPHS": str(REPO / "langgraph.json")})
    if redis_url:
        env["REDIS_URL"] = redis_url
    with _running([sys.executable, "-m", "bot", "serve"], env, REPO, "/ok", port) as served:
        yield served


LANGGRAPH_SEED = '''
from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt


class State(TypedDict):
    some_text: str


def human_node(state: State) -> dict[str, str]:
    return {"some_text": interrupt({"text_to_revise": state["some_text"]})}


builder = StateGraph(State)
builder.add_node("human_node", human_node)
builder.add_edge(START, "human_node")
graph = builder.compile()
'''


@contextmanager
def langgraph_dev(python: str) -> Iterator[tuple[str, int]]:
    """`langgraph dev` (its in-memory runtime) serving the seed graph as `agent`, from the venv of `python`."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "seed.py").write_text(textwrap.dedent(LANGGRAPH_SEED))
        Path(tmp, "langgraph.json").write_text('{"dependencies": ["."], "graphs": {"agent": "./seed.py:graph"}}')
        cli = str(Path(python).parent / "langgraph")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH", "LANGCHAIN"))}
        env.update({"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false"})
        argv = [cli, "dev", "--no-browser", "--no-reload", "--port", str(port), "--config", f"{tmp}/langgraph.json"]
        with _running(argv, env, Path(tmp), "/ok", port) as served:
            yield served


@contextmanager
def redis_server(binary: str | None = None) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (nothing saved to disk): its URL."""
    binary = binary or shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{binary} did not start on port {port}") from None
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
