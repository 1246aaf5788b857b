"""Thread changes racing runs and deletes: a PATCH or a state update never overwrites the status a
run gives its thread, and never brings back a thread deleted meanwhile. The races are made to
happen at chosen moments: a node that waits on an event, a checkpoint write held until released.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
import redis.asyncio as aioredis
from typing_extensions import TypedDict

from bot.registry import Registry
from bot.runs import Conflict, NotFound, RunEvent, RunManager, RunRequest
from bot.runs.store_memory import MemoryRecords
from bot.runs.store_redis import RedisRecords
from engine import END, START, InMemorySaver, StateGraph


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


@dataclass
class Gate:
    """The node of the `gated` graph: it tells when it runs, then waits to be let through."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    open: asyncio.Event = field(default_factory=asyncio.Event)

    async def node(self, state: State) -> State:
        self.entered.set()
        await self.open.wait()
        return {"log": ["ran"]}


class HeldSaver(InMemorySaver):
    """An in-memory checkpointer whose next checkpoint write, once armed, waits to be let through."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.writing = asyncio.Event()
        self.go = asyncio.Event()

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self.armed:
            self.armed = False
            self.writing.set()
            await self.go.wait()
        await super().save(*args, **kwargs)


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def saver() -> HeldSaver:
    return HeldSaver()


@pytest.fixture(params=["memory", "redis"])
async def manager(request: pytest.FixtureRequest, gate: Gate, saver: HeldSaver) -> AsyncIterator[RunManager]:
    graph = StateGraph(State).add_node("wait", gate.node).add_edge(START, "wait").add_edge("wait", END)
    registry = Registry.from_graphs({"gated": graph})
    if request.param == "memory":
        yield RunManager(registry, saver, MemoryRecords())
        return
    client = aioredis.from_url(request.getfixturevalue("redis_url"))
    yield RunManager(registry, saver, RedisRecords(client))
    await client.aclose()


async def test_a_patch_while_a_run_executes_keeps_its_status(manager: RunManager, gate: Gate) -> None:
    thread = await manager.create_thread(metadata={"owner": "ann"})
    run = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await gate.entered.wait()
    patched = await manager.patch_thread_metadata(thread.thread_id, {"team": "ops"})
    assert patched.status == "busy" and patched.metadata == {"owner": "ann", "team": "ops"}
    gate.open.set()
    await manager.join(thread.thread_id, run.run_id)
    ended = await manager.thread(thread.thread_id)
    assert ended.status == "idle" and ended.values == {"log": ["ran"]}
    assert ended.metadata == {"owner": "ann", "team": "ops"}


async def test_patches_as_a_run_ends_neither_lose_keys_nor_the_runs_status(manager: RunManager, gate: Gate) -> None:
    thread = await manager.create_thread()
    patches: list[asyncio.Task[Any]] = []

    async def patch_as_it_ends(event: RunEvent) -> None:
        # Called as the run ends, before its end is stored: the patches interleave with it.
        patches.extend(
            asyncio.ensure_future(manager.patch_thread_metadata(thread.thread_id, {f"k{i}": i})) for i in range(20)
        )

    manager.add_listener(patch_as_it_ends)
    gate.open.set()
    run = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await manager.join(thread.thread_id, run.run_id)
    await asyncio.gather(*patches)
    ended = await manager.thread(thread.thread_id)
    assert ended.status == "idle" and ended.values == {"log": ["ran"]}
    assert ended.metadata == {f"k{i}": i for i in range(20)}


async def test_a_patch_never_recreates_a_thread_deleted_under_a_run(manager: RunManager, gate: Gate) -> None:
    thread = await manager.create_thread(metadata={"owner": "ann"})
    run = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await gate.entered.wait()
    deleting = asyncio.ensure_future(manager.delete_thread(thread.thread_id))
    patching = asyncio.ensure_future(manager.patch_thread_metadata(thread.thread_id, {"team": "ops"}))
    outcomes = await asyncio.gather(deleting, patching, return_exceptions=True)
    assert outcomes[0] is None  # the delete went through; the patch came before it, or found nothing
    assert isinstance(outcomes[1], NotFound) or outcomes[1].metadata == {"owner": "ann", "team": "ops"}
    with pytest.raises(NotFound):
        await manager.patch_thread_metadata(thread.thread_id, {"team": "late"})
    gate.open.set()
    await manager.drain()
    assert await manager.records.get_thread(thread.thread_id) is None  # the run's end did not recreate it
    assert await manager.records.get_run(thread.thread_id, run.run_id) is None


async def test_a_run_submitted_during_a_state_update_waits_and_the_thread_stays_busy(
    manager: RunManager, gate: Gate, saver: HeldSaver
) -> None:
    gate.open.set()
    thread = await manager.create_thread()
    first = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await manager.join(thread.thread_id, first.run_id)
    gate.open.clear()  # the next run will wait in its node
    saver.armed = True
    updating = asyncio.ensure_future(manager.update_state(thread.thread_id, {"log": ["edited"]}, as_node="wait"))
    await saver.writing.wait()  # the state update holds the thread, its checkpoint not yet written
    queued = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    assert (await manager.get_run(thread.thread_id, queued.run_id)).status == "pending"
    assert (await manager.thread(thread.thread_id)).status == "busy"
    saver.go.set()
    await updating
    assert (await manager.thread(thread.thread_id)).status == "busy"  # the queued run's, not the update's
    gate.open.set()
    ended = await manager.join(thread.thread_id, queued.run_id)
    assert ended.status == "success"
    assert (await manager.state(thread.thread_id)).values == {"log": ["ran", "edited", "ran"]}
    assert (await manager.thread(thread.thread_id)).status == "idle"


async def test_a_state_update_refuses_a_busy_thread(manager: RunManager, gate: Gate) -> None:
    thread = await manager.create_thread()
    run = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await gate.entered.wait()
    with pytest.raises(Conflict, match="Thread is busy"):
        await manager.update_state(thread.thread_id, {"log": ["edited"]}, as_node="wait")
    assert (await manager.thread(thread.thread_id)).status == "busy"
    gate.open.set()
    await manager.join(thread.thread_id, run.run_id)


async def test_a_thread_deleted_during_a_state_update_stays_deleted(
    manager: RunManager, gate: Gate, saver: HeldSaver
) -> None:
    gate.open.set()
    thread = await manager.create_thread()
    first = await manager.submit(thread.thread_id, RunRequest("gated", input={}))
    await manager.join(thread.thread_id, first.run_id)
    saver.armed = True
    updating = asyncio.ensure_future(manager.update_state(thread.thread_id, {"log": ["edited"]}, as_node="wait"))
    await saver.writing.wait()
    await manager.delete_thread(thread.thread_id)
    saver.go.set()
    with pytest.raises(NotFound):
        await updating
    assert await manager.records.get_thread(thread.thread_id) is None
    assert await saver.load(thread.thread_id, "") is None
