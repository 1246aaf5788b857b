"""Real processes for fault tests: `python -m bot serve` with its log in a file (so a test can read
what it logged, and a chatty server never blocks on a full pipe), and a TCP proxy in front of
redis-server that cuts every connection, or holds new traffic, at the moment a test chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
GRAPHS = REPO / "tests" / "api" / "langgraph.json"
# How long a `serve` process may take to answer /ok: a bound for failing, not a wait (it answers
# in about a second; on a machine loaded by other suites its imports alone took over 18 s once).
STARTUP_S = 60.0


@dataclass
class Serve:
    """One `python -m bot serve`; `kill()` is SIGKILL (no drain, no cleanup), `stop()` a SIGTERM."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = STARTUP_S) -> Serve:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
        full.update({"PORT": str(self.port), "HOST": "127.0.0.1", "SLUICE_GRAPHS": str(GRAPHS), **self.env})
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"], cwd=REPO, env=full, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.url + "/ok", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not start:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisProxy:
    """Forwards 127.0.0.1:<port> to a Redis; `cut()` drops every open connection at once (a blip: a
    restart, a failover, a network reset), `hold()` keeps bytes from going through until
    `release()`, `refuse()` turns new connections away until `accept()`.

    `on(pattern, action)` arms a cue: the first command sent to Redis that contains `pattern`
    triggers `action` ("hold": it reaches Redis, then nothing more moves; "cut": it reaches Redis,
    then every connection drops, so its answer is lost; "drop": it never reaches Redis, every
    connection drops and new ones are refused), and sets `cued`.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._open = asyncio.Event()
        self._open.set()
        self._refusing = False
        self._cue: tuple[bytes, str] | None = None
        self.cued = asyncio.Event()
        self.connections = 0

    def on(self, pattern: bytes, action: str) -> None:
        assert action in ("hold", "cut", "drop")
        self.cued.clear()
        self._cue = (pattern, action)

    def refuse(self) -> None:
        self._refusing = True

    def accept(self) -> None:
        self._refusing = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> RedisProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for client, upstream in list(self._pairs):
            for writer in (client, upstream):
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        self._pairs.clear()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def _trigger(self, data: bytes) -> str | None:
        if self._cue is None or self._cue[0] not in data:
            return None
        action = self._cue[1]
        self._cue = None
        self.cued.set()
        return action

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        pair = (writer, up_writer)
        self._pairs.add(pair)
        await asyncio.gather(
            self._pipe(reader, up_writer, to_redis=True), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._pairs.discard(pair)
        for w in pair:
            with contextlib.suppress(Exception):
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to_redis: bool = False) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await self._open.wait()
            action = self._trigger(data) if to_redis else None
            if action == "drop":
                self.refuse()
                self.cut()
                return
            writer.write(data)
            await writer.drain()
            if action == "hold":
                self.hold()
            elif action == "cut":
                self.cut()
                return
        with contextlib.suppress(Exception):
            writer.write_eof()
