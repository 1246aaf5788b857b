"""A click's 200 means its decision is recorded (a process dying right after cannot lose it), and
the work after the ack runs most urgent first, a few jobs at a time (`bot.slack.lanes`); a burst's
Redis reads and decisions share round trips (`bot.slack.coalesce`, on `engine.checkpoint.pipelining`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from bot.slack.coalesce import Steps
from bot.slack.lanes import LATER, SOON, URGENT, Lanes, outside
from tests.slack.harness import APPROVER, CHANNEL, Env, button, make_env


@pytest.fixture(params=["memory", "redis"])
async def both(request: pytest.FixtureRequest, redis_client: Any) -> AsyncIterator[Env]:
    await redis_client.flushdb()
    environment, close = await make_env(redis_client if request.param == "redis" else None)
    yield environment
    await close()


async def test_a_click_is_recorded_before_its_ack(both: Env) -> None:
    thread_id = await both.start("agent", {"some_text": "draft"})
    message = both.pause_message(thread_id)
    pause = await both.bot.deps.store.by_message(CHANNEL, message.ts)
    assert pause is not None
    delivery = await both.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    assert delivery.status == 200
    decided = await both.bot.deps.store.decided(*pause)  # read at once: nothing waited for after the 200
    assert [d.decision for d in decided.values()] == ["approve"] and decided["0.0"].user == APPROVER
    await both.settle()
    assert await both.resumes() == [(thread_id, "draft")]


async def test_a_burst_of_clicks_is_recorded_and_resumed_once_each(both: Env) -> None:
    threads = [await both.start("agent", {"some_text": f"draft {n}"}) for n in range(12)]
    messages = [both.pause_message(t) for t in threads]
    clicks = [both.slack.click(APPROVER, CHANNEL, m.ts, button(m, "Approve")) for m in messages for _ in range(2)]
    deliveries = await asyncio.gather(*clicks)
    assert {d.status for d in deliveries} == {200}
    for message in messages:
        pause = await both.bot.deps.store.by_message(CHANNEL, message.ts)
        assert pause is not None and "0.0" in await both.bot.deps.store.decided(*pause)
    await both.settle()
    assert sorted(await both.resumes()) == sorted((t, f"draft {n}") for n, t in enumerate(threads))
    assert len(both.slack.ephemerals(APPROVER)) == 12  # each second click: "already decided"


async def test_lanes_run_the_most_urgent_first_and_free_a_slot_early() -> None:
    lanes = Lanes(slots=1)
    order: list[str] = []
    release = asyncio.Event()

    async def job(name: str, priority: int, started: asyncio.Event | None = None) -> None:
        async with lanes.slot(priority):
            order.append(name)
            if started is not None:
                started.set()
                await release.wait()

    first = asyncio.Event()
    holder = asyncio.create_task(job("holder", LATER, first))
    await first.wait()
    waiting = [asyncio.create_task(job(n, p)) for n, p in (("later", LATER), ("soon", SOON), ("urgent", URGENT))]
    await asyncio.sleep(0)  # every job is queued behind the holder
    release.set()
    await asyncio.gather(holder, *waiting)
    assert order == ["holder", "urgent", "soon", "later"]

    async with lanes.slot(LATER) as free:
        free()  # e.g. the run is queued: waiting for its end holds no slot
        async with asyncio.timeout(5):
            async with lanes.slot(URGENT):
                pass


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    lanes = Lanes(slots=1)
    async with lanes.slot(URGENT):
        cancelled = asyncio.create_task(_enter(lanes, URGENT))
        later = asyncio.create_task(_enter(lanes, LATER))
        await asyncio.sleep(0)
        cancelled.cancel()
    async with asyncio.timeout(5):
        await later
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_a_job_waiting_on_slack_lends_its_slot_and_takes_one_again_in_its_turn() -> None:
    lanes = Lanes(slots=1)
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    order: list[str] = []
    asked, holding = asyncio.Event(), asyncio.Event()

    async def waits_on_slack() -> None:
        async with lanes.slot(SOON):
            order.append("asked")
            asked.set()
            order.append(await outside(answer))  # the slot serves others while Slack answers

    async def job(name: str, priority: int, hold: asyncio.Event | None = None) -> None:
        async with lanes.slot(priority):
            order.append(name)
            if hold is not None:
                holding.set()
                await hold.wait()

    waiting = asyncio.create_task(waits_on_slack())
    async with asyncio.timeout(5):
        await asked.wait()
        await job("meanwhile", LATER)  # the only slot is free during the wait
    hold = asyncio.Event()
    holder = asyncio.create_task(job("holder", LATER, hold))
    await holding.wait()
    answer.set_result("answered")
    later = asyncio.create_task(job("later", LATER))
    await asyncio.sleep(0)
    hold.set()
    async with asyncio.timeout(5):
        await asyncio.gather(waiting, holder, later)
    assert order == ["asked", "meanwhile", "holder", "answered", "later"]  # its priority's turn, after the holder

    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cancelled = asyncio.create_task(_enter_and_wait(lanes, URGENT, never))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    async with asyncio.timeout(5):  # the cancelled job took no slot again: the one slot is free
        await _enter(lanes, LATER)
    assert await outside(asyncio.sleep(0, "no job")) == "no job"  # outside any job: just awaited


async def _enter_and_wait(lanes: Lanes, priority: int, awaitable: Awaitable[None]) -> None:
    async with lanes.slot(priority):
        await outside(awaitable)


async def _enter(lanes: Lanes, priority: int) -> None:
    async with lanes.slot(priority):
        pass


async def test_batched_steps_answer_each_caller_and_fail_alone(redis_client: Any) -> None:
    await redis_client.flushdb()
    await redis_client.set("text", "not a number")
    steps = Steps(redis_client)

    async def two(n: int) -> list[Any]:
        return await steps.run(("SET", f"k{n}", n), ("GET", f"k{n}"))

    answers = await asyncio.gather(
        *(two(n) for n in range(50)), steps.one("INCR", "text"), steps.one("INCR", "count"), return_exceptions=True
    )
    assert answers[:50] == [[True, str(n).encode()] for n in range(50)]
    assert isinstance(answers[50], Exception) and answers[51] == 1


async def test_scripts_redis_forgot_are_loaded_again_when_coalesced(redis_client: Any) -> None:
    await redis_client.flushdb()
    environment, close = await make_env(redis_client)
    try:
        thread_id = await environment.start("agent", {"some_text": "draft"})
        await redis_client.script_flush()  # e.g. Redis restarted: the next pause is opened, decided, claimed
        message = environment.pause_message(thread_id)
        await environment.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await environment.settle()
        assert await environment.resumes() == [(thread_id, "draft")]
        await redis_client.script_flush()
        looping = await environment.start("agent", {"some_text": "second"})
        assert environment.pause_message(looping).ts
    finally:
        await close()


async def test_a_burst_after_redis_forgot_its_scripts_loads_each_once(redis_client: Any) -> None:
    """Every click of a burst finds the decision script missing (Redis restarted): it is loaded once,
    not once a click on a pooled connection each (a hundred clicks: more than the test client's pool)."""
    await redis_client.flushdb()
    environment, close = await make_env(redis_client)
    try:
        threads = [await environment.start("agent", {"some_text": f"draft {n}"}) for n in range(110)]
        messages = [environment.pause_message(t) for t in threads]
        await redis_client.script_flush()
        await redis_client.config_resetstat()
        clicks = [environment.slack.click(APPROVER, CHANNEL, m.ts, button(m, "Approve")) for m in messages]
        assert {d.status for d in await asyncio.gather(*clicks)} == {200}
        await environment.settle()
        assert sorted(await environment.resumes()) == sorted((t, f"draft {n}") for n, t in enumerate(threads))
        loads = (await redis_client.info("commandstats")).get("cmdstat_script|load", {}).get("calls", 0)
        assert 0 < loads <= 6  # one per script the clicks ran (decide, claim, started, ...), not one per click
        assert not environment.slack.ephemerals(APPROVER)  # no click failed
    finally:
        await close()
