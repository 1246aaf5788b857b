"""A real playground process (`python -m bot playground`) on a free port, for the page tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
# Variables of a real deployment that must not leak into the playground under test.
CLEARED = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "REDIS_URL",
    "SLUICE_APPROVERS",
    "SLUICE_API_KEY",
    "SLUICE_SLACK_CHANNEL",
    "SLUICE_GRAPHS",
    "HOST",
)


@dataclass(frozen=True)
class Playground:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the playground exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the playground did not answer {url} within {timeout} s:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def running_playground(log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Playground]:
    """`python -m bot playground` on a free port until the block ends (then SIGTERM, as Ctrl-C would)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({"PORT": str(port), "PYTHONUNBUFFERED": "1", **(extra_env or {})})
    log = log_dir / "playground.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "playground"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", proc, log)
        yield Playground(url=url, log=log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Playground]:
    with running_playground(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def shared_playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """One playground for a whole module whose tests each use their own threads."""
    with running_playground(tmp_path_factory.mktemp("playground")) as running:
        yield running
