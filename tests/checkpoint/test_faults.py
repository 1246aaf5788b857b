"""Faults with real processes: a worker SIGKILLed mid-step, Redis restarted during a pause, racing resumes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import RedisSaver
from tests.checkpoint.worker import slow_seed
from tests.conftest import RedisProcess

pytestmark = pytest.mark.e2e  # starts Sluice processes

REPO = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "tests.checkpoint.worker"]


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*WORKER, *args], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(*args: str, expect: int = 0) -> dict[str, Any]:
    done = subprocess.run([*WORKER, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == expect, f"worker {args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def thread() -> str:
    return f"fault-{uuid.uuid4().hex}"


async def test_sigkill_mid_step_then_another_process_resumes_exactly_once(redis_url: str, tmp_path: Path) -> None:
    tid, effects = thread(), tmp_path / "effects.txt"
    victim = spawn("fan", redis_url, tid, str(effects), "--hang")
    saver = RedisSaver.from_url(redis_url)
    deadline = time.monotonic() + 30
    try:
        # Kill once a and b of the parallel step are saved as done and c is in the middle of its work.
        while True:
            head = await saver.load(tid, "")
            done = [k for k in (head.writes if head else {}) if k.startswith("done:")]
            if len(done) == 2 and effects.exists() and "c:hang" in effects.read_text():
                break
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the worker never reached the middle of its parallel step"
            await asyncio.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL

        result = run("fan", redis_url, tid, str(effects), "--resume")
        assert sorted(result["log"]) == ["a", "b", "c", "d", "s"]
        ran = Counter(effects.read_text().split())
        assert ran == {"s": 1, "a": 1, "b": 1, "c:hang": 1, "c": 1, "d": 1}  # nothing lost, nothing repeated
        assert (await saver.load(tid, "")).writes == {}  # type: ignore[union-attr]
    finally:
        if victim.poll() is None:
            victim.kill()
        await saver.aclose()


async def test_pause_survives_a_redis_restart_with_appendonly(start_redis: Callable[..., RedisProcess]) -> None:
    server = start_redis("--appendonly", "yes", "--appendfsync", "always", password="pw-Secret-123")
    tid = thread()
    paused = run("pause", server.url, tid)
    (pause,) = paused["__interrupt__"]
    assert pause["value"] == {"text_to_revise": "original text"}

    server.stop()
    failed = run("resume", server.url, tid, "Edited text", expect=3)  # Redis is down: a clear error, no secret
    assert failed["error"] == "CheckpointerError"
    assert f"redis://:***@127.0.0.1:{server.port}/0" in failed["message"] and "pw-Secret-123" not in failed["message"]

    server.start()  # same port and dir: it reloads its append-only file
    assert run("resume", server.url, tid, "Edited text")["some_text"] == "Edited text"
    saver = RedisSaver.from_url(server.url)
    assert len(await saver.history(tid, "")) == 3
    await saver.aclose()


async def test_fifty_concurrent_resumes_from_two_processes_have_one_winner(redis_url: str) -> None:
    tid = thread()
    run("pause", redis_url, tid)
    racers = [spawn("race", redis_url, tid, "25", tag) for tag in ("p1", "p2")]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready", racer.communicate()
        for racer in racers:  # both processes fire their 25 resumes at once
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = []
        for racer in racers:
            out, err = racer.communicate(timeout=60)
            assert racer.returncode == 0, err
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    assert [o["other"] for o in outcomes] == [[], []]
    winners = [w for o in outcomes for w in o["won"]]
    assert len(winners) == 1 and sum(o["conflicts"] for o in outcomes) == 49
    saver = RedisSaver.from_url(redis_url)
    state = await slow_seed().compile(checkpointer=saver).aget_state({"configurable": {"thread_id": tid}})
    assert state.values == {"some_text": winners[0]} and state.next == ()
    assert len(await saver.history(tid, "")) == 3  # input, the pause, and one continuation
    await saver.aclose()
