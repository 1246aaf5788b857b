"""The pause store contract (`bot.slack.store.PauseStore`) on memory, one Redis and a Redis
Cluster: a pause is opened once, decided slot by slot with exactly one decision per slot, and
found again by its message; the memory store is what a single process runs on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.slack.pause import Pause, PendingInterrupt, Placement
from bot.slack.prompts import SlotDecision
from bot.slack.resumption import Claim, RedisResumptions
from bot.slack.store import MemoryPauseStore, PauseStore, RedisPauseStore, _Decoded
from tests.conftest import async_client

StoreFactory = Callable[[], PauseStore]
YES = SlotDecision("respond", "yes", "U1")


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_store(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Pause stores on one backend; each Redis one has its own client, as another process would."""
    memory = MemoryPauseStore()
    clients: list[Any] = []

    def make() -> PauseStore:
        if backend == "memory":
            return memory
        client = async_client(request, backend)
        clients.append(client)
        return RedisPauseStore(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def store(make_store: StoreFactory) -> PauseStore:
    return make_store()


def pause(thread_id: str | None = None, *, questions: int = 1, channel: str | None = None) -> Pause:
    return Pause(
        thread_id=thread_id or str(uuid.uuid4()),
        checkpoint_id=str(uuid.uuid4()),
        assistant_id="agent",
        run_id=str(uuid.uuid4()),
        interrupts=tuple(PendingInterrupt(f"i{n}", f"question {n}?") for n in range(questions)),
        placement=Placement(channel or f"C{uuid.uuid4().hex[:8]}"),
        created_at=time.time(),
    )


async def test_a_pause_is_opened_once_and_becomes_current(store: PauseStore) -> None:
    first = pause()
    assert await store.open(first) == (True, None)
    assert await store.open(first) == (False, None)  # reported twice: posted once
    assert await store.get(first.thread_id, first.checkpoint_id) == first
    assert await store.current(first.thread_id) == first.checkpoint_id
    assert await store.status(first.thread_id, first.checkpoint_id) == "pending"
    later = replace(pause(first.thread_id), placement=first.placement)
    assert await store.open(later) == (True, first.checkpoint_id)
    assert await store.current(first.thread_id) == later.checkpoint_id
    assert await store.get(first.thread_id, "no-such-checkpoint") is None


async def test_a_posted_pause_is_found_by_its_message(store: PauseStore) -> None:
    opened = pause()
    await store.open(opened)
    assert opened.placement is not None
    posted = opened.posted(opened.placement, "1700000000.000100")
    await store.set_posted(posted)
    assert await store.by_message(opened.placement.channel, "1700000000.000100") == (
        opened.thread_id,
        opened.checkpoint_id,
    )
    assert await store.by_message(opened.placement.channel, "1700000000.999999") is None
    found = await store.get(opened.thread_id, opened.checkpoint_id)
    assert found is not None and found.ts == "1700000000.000100"


async def test_a_pause_posted_in_a_slack_thread_names_its_thread_for_replies_there(store: PauseStore) -> None:
    opened = pause()
    assert opened.placement is not None
    in_thread = replace(opened, placement=Placement(opened.placement.channel, "1700000000.000001"))
    await store.open(in_thread)
    assert await store.in_slack_thread(opened.placement.channel, "1700000000.000001") is None  # not posted yet
    await store.set_posted(in_thread.posted(in_thread.placement, "1700000000.000100"))  # type: ignore[arg-type]
    assert await store.in_slack_thread(opened.placement.channel, "1700000000.000001") == opened.thread_id
    assert await store.in_slack_thread("C0ELSEWHERE", "1700000000.000001") is None
    assert await store.by_message(opened.placement.channel, "1700000000.000001") is None  # no click decides there
    top_level = pause()
    await store.open(top_level)
    await store.set_posted(top_level.posted(top_level.placement, "1700000000.000200"))  # type: ignore[arg-type]
    assert await store.in_slack_thread(top_level.placement.channel, "1700000000.000200") is None  # type: ignore[union-attr]


async def test_each_slot_is_decided_once_and_the_last_completes_the_pause(store: PauseStore) -> None:
    two = pause(questions=2)
    assert (await store.decide(two, "0.0", YES)).outcome == "unknown"  # not opened yet
    await store.open(two)
    recorded = await store.decide(two, "0.0", YES)
    assert recorded.outcome == "recorded" and recorded.decided == {"0.0": YES}
    taken = await store.decide(two, "0.0", SlotDecision("reject", None, "U2"))
    assert taken.outcome == "taken" and taken.decided == {"0.0": YES}
    no = SlotDecision("respond", "no", "U2")
    complete = await store.decide(two, "1.0", no)
    assert complete.outcome == "complete" and complete.decided == {"0.0": YES, "1.0": no}
    assert await store.status(two.thread_id, two.checkpoint_id) == "resuming"
    assert (await store.decide(two, "1.0", YES)).outcome in ("closed", "taken")
    assert await store.decided(two.thread_id, two.checkpoint_id) == {"0.0": YES, "1.0": no}


async def test_concurrent_clicks_on_one_slot_make_one_decision(make_store: StoreFactory) -> None:
    one = pause()
    await make_store().open(one)
    stores = [make_store() for _ in range(10)]
    outcomes = await asyncio.gather(
        *(s.decide(one, "0.0", SlotDecision("respond", f"v{i}", f"U{i}")) for i, s in enumerate(stores))
    )
    assert [o.outcome for o in outcomes].count("complete") == 1
    assert all(o.outcome in ("complete", "taken", "closed") for o in outcomes)


async def test_undo_gives_the_slot_back_and_reopens_the_pause(store: PauseStore) -> None:
    one = pause()
    await store.open(one)
    assert (await store.decide(one, "0.0", YES)).outcome == "complete"
    await store.undo(one, "0.0")
    assert await store.status(one.thread_id, one.checkpoint_id) == "pending"
    assert await store.decided(one.thread_id, one.checkpoint_id) == {}
    again = SlotDecision("respond", "again", "U2")
    assert (await store.decide(one, "0.0", again)).outcome == "complete"


async def test_a_pause_that_is_not_current_or_closed_takes_no_decision(store: PauseStore) -> None:
    old = pause()
    await store.open(old)
    new = replace(pause(old.thread_id), placement=old.placement)
    await store.open(new)
    assert (await store.decide(old, "0.0", YES)).outcome == "stale"
    await store.close(new, "answered elsewhere")
    assert await store.status(new.thread_id, new.checkpoint_id) == "answered elsewhere"
    assert (await store.decide(new, "0.0", YES)).outcome == "closed"
    assert await store.leave(new.thread_id) == new.checkpoint_id
    assert await store.current(new.thread_id) is None and await store.leave(new.thread_id) is None
    assert (await store.decide(new, "0.0", YES)).outcome == "stale"


async def test_pending_lists_a_channels_open_current_pauses_oldest_first(store: PauseStore) -> None:
    channel = f"C{uuid.uuid4().hex[:8]}"
    first, second, closed = (pause(channel=channel) for _ in range(3))
    replaced = pause(channel=channel)
    elsewhere = pause()
    for p in (first, second, closed, replaced, elsewhere):
        await store.open(p)
    await store.close(closed, "decided")
    await store.open(replace(pause(replaced.thread_id), placement=Placement("C-other")))  # moved on
    assert await store.pending(channel) == [
        (first.thread_id, first.checkpoint_id),
        (second.thread_id, second.checkpoint_id),
    ]


async def test_another_process_sees_the_same_pauses(make_store: StoreFactory) -> None:
    first, second = make_store(), make_store()
    opened = pause()
    await first.open(opened)
    assert await second.current(opened.thread_id) == opened.checkpoint_id
    assert (await second.decide(opened, "0.0", YES)).outcome == "complete"
    assert await first.decided(opened.thread_id, opened.checkpoint_id) == {"0.0": YES}


async def test_a_typed_pause_of_several_is_decided_on_its_own_and_each_message_is_found(store: PauseStore) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    several = replace(
        pause(questions=0),
        interrupts=(
            PendingInterrupt("i0", {"text_to_revise": "draft"}),
            PendingInterrupt("i1", "Ship?", schema),  # typed: a group (and a message) of its own
            PendingInterrupt("i2", {"draft": "second"}),
            PendingInterrupt("i3", "Hold?", schema),
        ),
    )
    assert several.groups == ((0, 2), (1,), (3,))
    await store.open(several)
    assert several.placement is not None
    posted = several.posted(several.placement, "100.1", ("100.2", "100.3"))
    await store.set_posted(posted)
    for ts in ("100.1", "100.2", "100.3"):
        assert await store.by_message(several.placement.channel, ts) == (several.thread_id, several.checkpoint_id)
    answer = SlotDecision("answer", {"ok": True}, "U1")
    assert (await store.decide(several, "1.0", answer)).outcome == "group"  # resumed alone, by its id
    assert await store.status(several.thread_id, several.checkpoint_id) == "pending"  # the others stay open
    assert (await store.decide(several, "0.0", YES)).outcome == "recorded"  # its group needs slot 2.0 too
    assert (await store.decide(several, "2.0", YES)).outcome == "group"
    assert (await store.decide(several, "1.0", answer)).outcome == "taken"
    assert (await store.decide(several, "3.0", answer)).outcome == "complete"
    assert await store.status(several.thread_id, several.checkpoint_id) == "resuming"


async def test_a_deadline_settles_only_a_pending_pause_and_keeps_what_people_decided(store: PauseStore) -> None:
    timer = SlotDecision("respond", "timed out", "timer")
    two = pause(questions=2)
    await store.open(two)
    await store.decide(two, "0.0", YES)
    assert await store.settle(two, {"0.0": timer, "1.0": timer})
    assert await store.status(two.thread_id, two.checkpoint_id) == "resuming"
    assert await store.decided(two.thread_id, two.checkpoint_id) == {"0.0": YES, "1.0": timer}
    assert not await store.settle(two, {"1.0": YES})  # settled once
    decided_first = pause()
    await store.open(decided_first)
    assert (await store.decide(decided_first, "0.0", YES)).outcome == "complete"
    assert not await store.settle(decided_first, {"0.0": timer})  # a person's decision came first: it stands
    assert await store.decided(decided_first.thread_id, decided_first.checkpoint_id) == {"0.0": YES}


async def test_an_escalated_message_is_found_and_channels_with_pauses_are_listed(store: PauseStore) -> None:
    opened = pause(channel="C0MAIN")
    await store.open(opened)
    assert opened.placement is not None
    escalated = replace(opened.posted(opened.placement, "1700000000.000100"),
                        escalated=Placement("C0ONCALL", "1700000000.000200"))
    await store.set_posted(escalated)
    assert await store.by_message("C0ONCALL", "1700000000.000200") == (opened.thread_id, opened.checkpoint_id)
    found = await store.get(opened.thread_id, opened.checkpoint_id)
    assert found is not None and found.message_refs(0) == [("C0MAIN", "1700000000.000100"), ("C0ONCALL", "1700000000.000200")]
    assert "C0MAIN" in await store.channels()


async def test_a_decision_completing_the_pause_takes_its_resumes_claim_where_it_can(
    store: PauseStore, backend: str
) -> None:
    two = pause(questions=2)
    await store.open(two)
    assert (await store.decide(two, "0.0", YES, claim=("t1", 10_000))).claimed_attempt is None  # not complete
    complete = await store.decide(two, "1.0", YES, claim=("t1", 10_000))
    assert complete.outcome == "complete"
    if backend == "memory":  # one process: its caller claims (`MemoryResumptions`)
        assert complete.claimed_attempt is None
        return
    assert complete.claimed_attempt == 0
    assert isinstance(store, RedisPauseStore)
    resumptions = RedisResumptions(store._redis)
    assert (await resumptions.claim(two, "someone else")).outcome == "busy"  # held, as the claim script holds it
    assert await resumptions.claim(two, "t1") == Claim("claimed", 0)
    assert await resumptions.give_back(two, "1.0", "t1")  # not applied: the slot reopens, the next is attempt 1
    again = await store.decide(two, "1.0", YES, claim=("t2", 10_000))
    assert (again.outcome, again.claimed_attempt) == ("complete", 1)
    assert (await store.decide(two, "1.0", YES, claim=("t3", 10_000))).claimed_attempt is None  # closed: no claim
    await resumptions.started(two, "t2")
    assert await store.status(two.thread_id, two.checkpoint_id) == "started"


def test_pauses_kept_decoded_are_bounded_in_number_and_in_the_length_of_their_json() -> None:
    """The Redis store's decoded pauses, kept by their JSON (a hit is the same instance): the oldest go
    first once too many are kept, or too much JSON (a pause may carry a long document); a JSON longer
    than the whole bound is decoded every time, never kept."""
    a, b, c = (pause().to_json() for _ in range(3))
    by_number = _Decoded(size=2)
    first = [by_number(raw) for raw in (a, b, c)]
    assert by_number(b) is first[1] and by_number(c) is first[2]
    again = by_number(a)
    assert again is not first[0] and again == first[0] == Pause.from_json(a)

    by_length = _Decoded(size=10, chars=len(a) + len(b) + len(c) - 1)
    first = [by_length(raw) for raw in (a, b, c)]
    assert by_length(b) is first[1] and by_length(c) is first[2]
    assert by_length(a) is not first[0]

    too_long = _Decoded(chars=len(a) - 1)
    assert too_long(a) is not too_long(a) and too_long(a) == Pause.from_json(a)
