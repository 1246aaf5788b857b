"""A server process killed mid-run: another process on the same Redis takes the run over."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.schema import Command

from tests.api.conftest import running_server, server_process
from tests.waiting import eventually, next_nodes_are

pytestmark = pytest.mark.e2e  # starts Sluice processes

LEASE = {"SLUICE_RUN_LEASE": "1.5"}


async def test_run_of_a_killed_process_is_continued_elsewhere_and_acts_once(redis_url: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with running_server(REDIS_URL=redis_url, **LEASE) as survivor:
        with server_process(REDIS_URL=redis_url, **LEASE) as (doomed, proc):
            client = get_client(url=doomed)
            thread_id = (await client.threads.create())["thread_id"]
            paused = await client.runs.wait(thread_id, "approve_then_act", input={"path": str(effects)})
            assert paused["__interrupt__"][0]["value"] == "go?"
            run = await client.runs.create(thread_id, "approve_then_act", command=Command(resume="yes"))
            # Killed once `ask` took the answer and checkpointed, while `act` runs (it sleeps 2 s).
            await eventually(lambda: next_nodes_are(client, thread_id, ["act"]), what="`ask` checkpointed")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        other = get_client(url=survivor)
        result = await asyncio.wait_for(other.runs.join(thread_id, run["run_id"]), timeout=30)
        assert result["log"] == ["answer:yes", "acted"]
        assert (await other.runs.get(thread_id, run["run_id"]))["status"] == "success"
        assert (await other.threads.get(thread_id))["status"] == "idle"
        assert effects.read_text() == "acted\n"


async def test_resume_arriving_just_before_the_kill_is_not_lost(redis_url: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    with running_server(REDIS_URL=redis_url, **LEASE) as survivor:
        with server_process(REDIS_URL=redis_url, **LEASE) as (doomed, proc):
            client = get_client(url=doomed)
            thread_id = (await client.threads.create())["thread_id"]
            await client.runs.wait(thread_id, "approve_then_act", input={"path": str(effects)})
            run = await client.runs.create(thread_id, "approve_then_act", command=Command(resume="approved"))
            # Killed as soon as the resume is accepted, before or while its answer is claimed.
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        other = get_client(url=survivor)
        result = await asyncio.wait_for(other.runs.join(thread_id, run["run_id"]), timeout=30)
        assert result["log"] == ["answer:approved", "acted"]
        assert effects.read_text() == "acted\n"
