"""The real server (`python -m bot serve`) in a subprocess on a free port."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import free_port
from tests.processes import STARTUP_S

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def running_server(**env: str) -> Iterator[str]:
    with server_process(**env) as (url, _):
        yield url


@contextmanager
def server_process(**env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A thread reads the server's output as it comes (a chatty server would block once an unread
    pipe filled); once the server stopped, `proc.stdout` holds everything it wrote."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
    full_env.update({"PORT": str(port), "HOST": "127.0.0.1", "SLUICE_GRAPHS": str(REPO / "tests" / "api" / "langgraph.json")})
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = bytearray()
    reader = threading.Thread(target=_drain, args=(proc.stdout, output), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, output)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout = io.BytesIO(bytes(output))


def _drain(pipe: IO[bytes], into: bytearray) -> None:
    for chunk in iter(lambda: pipe.read1(65536), b""):  # type: ignore[attr-defined]
        into.extend(chunk)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], output: bytearray) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            with urllib.request.urlopen(url + "/ok", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start:\n{output.decode(errors='replace')}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with running_server() as url:
        yield url
