"""Start-up configuration and API authentication, through the real `python -m bot serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.api.conftest import REPO, running_server
from tests.conftest import free_port

pytestmark = pytest.mark.e2e  # starts Sluice processes

def _serve(**env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
    full.update({"PORT": str(free_port()), "HOST": "127.0.0.1", **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"], cwd=REPO, env=full, capture_output=True, text=True, timeout=30
    )


def test_half_configured_slack_refuses_to_start_naming_the_missing_variable() -> None:
    done = _serve(SLACK_BOT_TOKEN="xoxb-1")
    assert done.returncode == 2
    assert "SLACK_SIGNING_SECRET" in done.stderr


def test_unreachable_redis_is_named_without_its_password() -> None:
    done = _serve(REDIS_URL=f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    assert done.returncode == 2
    assert "REDIS_URL" in done.stderr and "127.0.0.1" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_malformed_variable_is_named() -> None:
    done = _serve(PORT="not-a-port")
    assert done.returncode == 2 and "PORT" in done.stderr


def test_missing_graphs_file_is_named() -> None:
    done = _serve(SLUICE_GRAPHS="/nonexistent/langgraph.json")
    assert done.returncode == 2 and "/nonexistent/langgraph.json" in done.stderr


async def test_api_key_is_required_when_set_and_health_stays_open() -> None:
    with running_server(SLUICE_API_KEY="s3cret") as url:
        async with httpx.AsyncClient() as http:
            assert (await http.get(url + "/ok")).status_code == 200
            refused = await http.post(url + "/threads", json={})
            assert refused.status_code == 401
            wrong = await http.post(url + "/threads", json={}, headers={"x-api-key": "nope"})
            assert wrong.status_code == 401
        client = get_client(url=url, api_key="s3cret")
        thread = await client.threads.create()
        assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_redis_down_is_a_503_naming_it_and_the_api_recovers(start_redis: Any) -> None:
    redis_process = start_redis(password="pw-not-shown")
    with running_server(REDIS_URL=redis_process.url) as url:
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        paused = await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
        assert "__interrupt__" in paused
        redis_process.stop()
        async with httpx.AsyncClient() as http:
            down = await http.post(f"{url}/threads/{thread_id}/runs/wait", json={"assistant_id": "agent"})
            assert down.status_code == 503, down.text
            assert "Redis" in down.json()["detail"] and "pw-not-shown" not in down.text
            no_thread = await http.post(f"{url}/threads", json={})
            assert no_thread.status_code == 503 and "pw-not-shown" not in no_thread.text
        redis_process.start()  # same port; it kept nothing (no persistence): a fresh thread works again
        thread_id = (await client.threads.create())["thread_id"]
        again = await client.runs.wait(thread_id, "agent", input={"some_text": "after"})
        assert again["__interrupt__"][0]["value"] == {"text_to_revise": "after"}


def test_port_zero_logs_the_port_actually_bound() -> None:
    """PORT=0 lets the system pick a port: the start-up line names that one, and it answers there."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SLUICE_", "REDIS_"))}
    full.update({"PORT": "0", "HOST": "127.0.0.1", "SLUICE_GRAPHS": str(REPO / "tests" / "api" / "langgraph.json")})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = next(line for line in proc.stdout if "listening on" in line)  # blocks until the line is written
        port = int(line.rsplit(":", 1)[1])
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/ok").json() == {"ok": True}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
