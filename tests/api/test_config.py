"""Start-up configuration and API authentication, through the real `python -m bot serve`."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from langgraph_sdk import get_client

from tests.api.conftest import REPO, free_port, running_server


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
