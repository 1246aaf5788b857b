"""Commands riding a thread's resume claims (RedisSaver.ride_claims): they land with the claim, in its
script, or not at all; once, even when the client sends the claim again after a lost reply."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from engine import CheckpointConflict, CheckpointerError, RedisSaver
from engine.checkpoint import keys
from tests.checkpoint.test_redis import LossyProxy, new_cp


@pytest.fixture
def saver(redis_saver: RedisSaver) -> RedisSaver:
    return redis_saver


def _stream(tid: str) -> str:
    return f"{keys.thread_tag(tid)}:log"


def _rider(tid: str, asked: list[str]) -> Any:
    async def rider(checkpoint_id: str) -> list[tuple[Any, ...]]:
        asked.append(checkpoint_id)
        return [("XADD", _stream(tid), "*", "claimed", checkpoint_id), ("EXPIRE", _stream(tid), 60)]

    return rider


async def _paused(saver: RedisSaver, tid: str) -> str:
    first = new_cp()
    await saver.save(tid, "", first, expected_head=None)
    await saver.save_writes(tid, "", first.id, {"int:t": b"pause"})
    return first.id


async def test_riders_land_with_the_claim_only(saver: RedisSaver) -> None:
    tid = f"riders-{uuid.uuid4().hex}"
    head = await _paused(saver, tid)
    asked: list[str] = []
    saver.ride_claims(tid, _rider(tid, asked))
    await saver.save_writes(tid, "", head, {"task:x": b"1"})  # not a claim: the rider is not asked
    await saver.save_writes(tid, "", head, {"res:t:1": b"yes"}, exclusive=True)
    with pytest.raises(CheckpointConflict):  # a second claim of the same answer: refused, its rider with it
        await saver.save_writes(tid, "", head, {"res:t:1": b"no"}, exclusive=True)
    assert asked == [head, head]
    entries = await saver.client.xrange(_stream(tid))
    assert [fields[b"claimed"].decode() for _, fields in entries] == [head]
    assert 0 < await saver.client.ttl(_stream(tid)) <= 60  # its own TTL, not the checkpoints' (3600)
    saver.ride_claims(tid, None)
    second = new_cp(head)
    await saver.save(tid, "", second, expected_head=head)
    await saver.save_writes(tid, "", second.id, {"res:t:2": b"yes"}, exclusive=True)
    assert len(await saver.client.xrange(_stream(tid))) == 1  # riding stopped


async def test_a_rider_that_raises_or_names_another_threads_key_stops_the_claim(saver: RedisSaver) -> None:
    tid = f"riders-{uuid.uuid4().hex}"
    head = await _paused(saver, tid)

    async def refusing(checkpoint_id: str) -> list[tuple[Any, ...]]:
        raise LookupError("not this pause")

    async def elsewhere(checkpoint_id: str) -> list[tuple[Any, ...]]:
        return [("XADD", f"{keys.thread_tag('other')}:log", "*", "k", "v")]

    for rider, error in ((refusing, LookupError), (elsewhere, CheckpointerError)):
        saver.ride_claims(tid, rider)
        with pytest.raises(error):
            await saver.save_writes(tid, "", head, {"res:t:1": b"yes"}, exclusive=True)
    saver.ride_claims(tid, None)
    assert (await saver.load(tid, "")).writes == {"int:t": b"pause"}  # type: ignore[union-attr]


async def test_a_claim_sent_again_after_a_lost_reply_lands_its_riders_once(redis_url: str) -> None:
    proxy = await LossyProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])).start()
    saver = RedisSaver.from_url(f"redis://127.0.0.1:{proxy.port}/0", cluster=False, retry=Retry(NoBackoff(), 2))
    try:
        tid = f"riders-{uuid.uuid4().hex}"
        head = await _paused(saver, tid)
        saver.ride_claims(tid, _rider(tid, []))
        proxy.drop_next = True
        await saver.save_writes(tid, "", head, {"res:t:1": b"yes"}, exclusive=True)  # ran, reply lost, sent again
        assert proxy.dropped == 1
        assert len(await saver.client.xrange(_stream(tid))) == 1
    finally:
        await saver.aclose()
        await proxy.close()
