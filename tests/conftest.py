"""Shared fixtures: real redis-server processes on free ports (never the Redis on 6379).

  redis_server        session: one redis-server (no persistence); its URL
  redis_url           function: that URL, flushed before the test
  redis_cluster_url   session: a real 3-master Redis Cluster made with `redis-cli --cluster create`
  start_redis         session: a factory for extra servers a test controls (restart, persistence)
  free_port           the one helper for a free local port
Tests that start Sluice processes are marked `e2e` (see pytest_collection_modifyitems below).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


def _binary(path: str) -> str:
    found = path if os.access(path, os.X_OK) else shutil.which(os.path.basename(path))
    if not found:
        pytest.fail(f"{path} not found: install Redis (apt-get install redis-server) to run these tests", pytrace=False)
    return found


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(*, with_bus: bool = False) -> int:
    """A free port; with_bus also needs port + 10000 free (the cluster bus)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not with_bus or (port + 10000 < 65536 and _bindable(port + 10000)):
            return port
    raise RuntimeError("no free port found")


@dataclass
class RedisProcess:
    """One redis-server we started; `stop` and `start` again keep its port, dir and options."""

    port: int
    dir: Path
    args: list[str] = field(default_factory=list)
    password: str | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        cmd = [_binary(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
               "--save", "", "--appendonly", "no", *self.args]
        if self.password:
            cmd += ["--requirepass", self.password]
        log = open(self.dir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        client = redis.Redis(port=self.port, password=self.password, socket_timeout=1)
        deadline = time.monotonic() + 15
        try:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    log = (self.dir / f"redis-{self.port}.log").read_text(errors="replace")
                    pytest.fail(f"redis-server on port {self.port} exited at start:\n{log[-2000:]}", pytrace=False)
                try:
                    client.ping()
                    return
                except (redis.ConnectionError, redis.BusyLoadingError):  # not listening yet, or loading its AOF
                    if time.monotonic() > deadline:
                        pytest.fail(f"redis-server on port {self.port} did not answer within 15 s", pytrace=False)
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): with appendonly, everything acknowledged is on disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RedisProcess]]:
    started: list[RedisProcess] = []

    def start(*args: str, password: str | None = None, port: int | None = None) -> RedisProcess:
        server = RedisProcess(port or free_port(), tmp_path_factory.mktemp("redis"), list(args), password)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(start_redis: Callable[..., RedisProcess]) -> str:
    return start_redis().url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(scope="session")
def redis_cluster_url(start_redis: Callable[..., RedisProcess]) -> str:
    """Three masters, slots split by redis-cli; the URL of one node (clients discover the rest)."""
    nodes = [
        start_redis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                    port=free_port(with_bus=True))
        for _ in range(3)
    ]
    addresses = [f"127.0.0.1:{node.port}" for node in nodes]
    made = subprocess.run([_binary(REDIS_CLI), "--cluster", "create", *addresses, "--cluster-replicas", "0",
                           "--cluster-yes"], capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        pytest.fail(f"redis-cli --cluster create failed:\n{made.stdout}\n{made.stderr}", pytrace=False)
    deadline = time.monotonic() + 30
    for node in nodes:
        client = redis.Redis(port=node.port)
        try:
            while client.cluster("INFO").get("cluster_state") != "ok":
                if time.monotonic() > deadline:
                    pytest.fail(f"the cluster did not reach cluster_state:ok within 30 s ({addresses})", pytrace=False)
                time.sleep(0.05)
        finally:
            client.close()
    return nodes[0].url



def async_client(request: pytest.FixtureRequest, backend: str) -> Any:
    """A redis.asyncio client of the test's single Redis (`backend` "redis") or Cluster ("cluster"),
    each a fresh flushed server from the fixtures; the caller closes it (`aclose`)."""
    if backend == "redis":
        return aioredis.from_url(request.getfixturevalue("redis_url"))
    return aioredis.RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))

# Fixtures that start Sluice processes or a browser: a test using one is `e2e` even if its module
# forgot the marker; tests/faults/ is e2e as a whole (serve processes behind a Redis proxy).
PROCESS_FIXTURES = frozenset({"server_url", "playground", "shared_playground", "page", "browser", "serves"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & PROCESS_FIXTURES or item.nodeid.startswith("tests/faults/"):
            item.add_marker(pytest.mark.e2e)


async def thread_keys(redis: Any, thread_id: str) -> set[bytes]:
    """Every Redis key of a thread (all begin with its hash tag), each once: SCAN may return a key
    twice (the keyspace resized between its calls, as a running server adds and drops keys), so a
    list of what it returned could count one twice."""
    return {key async for key in redis.scan_iter(match=f"sluice:{{{thread_id}}}:*")}
