"""What only the Redis saver promises: keyspace, round trips, TTL, cluster slots, errors without passwords."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ClusterCrossSlotError

from engine import CheckpointConflict, CheckpointerError, Command, RedisSaver, SavedCheckpoint
from engine.checkpoint import keys
from engine.checkpoint.redis import redact
from engine.errors import ConfigError
from engine.ids import new_checkpoint_id
from examples.text_revision import builder as seed_builder
from tests.conftest import free_port

BAD_THREAD_IDS = ["", "a{b", "a}b", "{tag}"]


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


def new_cp(parent: str | None = None) -> SavedCheckpoint:
    return SavedCheckpoint(new_checkpoint_id(after=parent), parent, b'{"v":1}')


@pytest.mark.parametrize("bad", BAD_THREAD_IDS)
async def test_thread_ids_that_break_the_hash_tag_are_rejected(redis_saver: RedisSaver, bad: str) -> None:
    calls: list[Any] = [
        redis_saver.load(bad, ""),
        redis_saver.save(bad, "", new_cp(), expected_head=None),
        redis_saver.save_writes(bad, "", "x", {"k": b"v"}),
        redis_saver.history(bad, ""),
        redis_saver.delete_thread(bad),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match="Thread id"):
            await call


async def test_names_with_the_field_separator_are_rejected(redis_saver: RedisSaver) -> None:
    with pytest.raises(CheckpointerError, match="NUL"):
        await redis_saver.save("t", "node\0x", new_cp(), expected_head=None)
    with pytest.raises(CheckpointerError, match="NUL"):
        await redis_saver.load("t", "", "bad\0id")


async def test_a_seed_thread_is_two_keys_in_one_slot(redis_url: str, redis_cluster_url: str, raw: Redis) -> None:
    tid = f"seed-{uuid.uuid4().hex}"
    saver = RedisSaver.from_url(redis_url)
    graph = seed_builder.compile(checkpointer=saver)
    await graph.ainvoke({"some_text": "original text"}, {"configurable": {"thread_id": tid}})
    assert sorted(k.decode() for k in await raw.keys("*")) == sorted(keys.thread_keys(tid))
    await saver.aclose()
    cluster = RedisCluster.from_url(redis_cluster_url)
    slots = {await cluster.cluster_keyslot(k) for k in keys.thread_keys(tid)}
    await cluster.aclose()
    assert len(slots) == 1


async def test_the_cluster_is_real_a_cross_thread_script_fails_with_crossslot(redis_cluster_url: str) -> None:
    # Keys of two threads hash to different slots: a cluster node refuses one script over both, so a
    # key without the thread's hash tag would fail the contract suite on the cluster.
    node = aioredis.from_url(redis_cluster_url)
    a, b = keys.checkpoint_key("thread-a"), keys.checkpoint_key("thread-b")
    assert await node.cluster("KEYSLOT", a) != await node.cluster("KEYSLOT", b)
    with pytest.raises(ClusterCrossSlotError):  # the server's CROSSSLOT reply
        await node.eval("return 1", 2, a, b)
    await node.aclose()


async def _calls(raw: Redis) -> dict[str, int]:
    stats = await raw.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_each_call_is_one_round_trip(redis_url: str, raw: Redis) -> None:
    saver = RedisSaver.from_url(redis_url, ttl=60)
    tid = f"rt-{uuid.uuid4().hex}"
    first = new_cp()
    # The first call of each script meets NOSCRIPT and loads it: keep that out of the counted part.
    await saver.save(tid, "", first, expected_head=None)
    await saver.save_writes(tid, "", first.id, {"int:w": b"p"})
    await saver.load(tid, "")
    await saver.history(tid, "")
    script_inner = {"hget", "hmget", "hset", "zadd", "expire", "zrevrangebylex"}

    async def client_commands(op: Any) -> dict[str, int]:
        await raw.config_resetstat()
        await op
        counted = await _calls(raw)
        return {k: v for k, v in counted.items() if k not in script_inner | {"config|resetstat", "info"}}

    assert await client_commands(saver.save(tid, "", new_cp(first.id), expected_head=first.id)) == {"evalsha": 1}
    head = await saver.load(tid, "")
    assert head is not None
    assert await client_commands(saver.save_writes(tid, "", head.id, {"int:x": b"p"})) == {"evalsha": 1}
    assert await client_commands(saver.load(tid, "")) == {"evalsha": 1}
    assert await client_commands(saver.history(tid, "", limit=5)) == {"evalsha": 1}
    assert await client_commands(saver.delete_thread(tid)) == {"del": 1}
    assert await raw.exists(*keys.thread_keys(tid)) == 0
    await saver.aclose()


async def test_ttl_is_set_and_refreshed_on_every_write(redis_saver: RedisSaver) -> None:
    tid = f"ttl-{uuid.uuid4().hex}"
    client: Any = redis_saver.client
    first = new_cp()
    await redis_saver.save(tid, "", first, expected_head=None)
    for key in keys.thread_keys(tid):
        assert 3590 < await client.ttl(key) <= 3600

    async def shorten() -> None:
        for key in keys.thread_keys(tid):
            await client.expire(key, 5)

    await shorten()
    await redis_saver.save_writes(tid, "", first.id, {"int:a": b"x"})
    assert [await client.ttl(k) > 3590 for k in keys.thread_keys(tid)] == [True, True]
    await shorten()
    await redis_saver.load(tid, "")
    await redis_saver.history(tid, "")
    assert [await client.ttl(k) <= 5 for k in keys.thread_keys(tid)] == [True, True]  # reads do not refresh
    await redis_saver.save(tid, "", new_cp(first.id), expected_head=first.id)
    assert [await client.ttl(k) > 3590 for k in keys.thread_keys(tid)] == [True, True]


async def test_without_ttl_keys_do_not_expire(redis_url: str, raw: Redis) -> None:
    saver = RedisSaver.from_url(redis_url)
    tid = f"nottl-{uuid.uuid4().hex}"
    await saver.save(tid, "", new_cp(), expected_head=None)
    assert [await raw.ttl(k) for k in keys.thread_keys(tid)] == [-1, -1]
    await saver.aclose()
    with pytest.raises(ValueError, match="ttl"):
        RedisSaver.from_url(redis_url, ttl=0)


async def test_a_paused_seed_thread_takes_under_4_kb(redis_url: str, raw: Redis) -> None:
    saver = RedisSaver.from_url(redis_url, ttl=86400)
    tid = f"mem-{uuid.uuid4().hex}"
    await seed_builder.compile(checkpointer=saver).ainvoke({"some_text": "original text"}, {"configurable": {"thread_id": tid}})
    used = sum([await raw.memory_usage(k, samples=0) or 0 for k in keys.thread_keys(tid)])
    assert 0 < used < 4096
    await saver.aclose()


async def test_from_url_finds_out_whether_the_server_is_a_cluster(redis_url: str, redis_cluster_url: str) -> None:
    for url, expected in ((redis_url, Redis), (redis_cluster_url, RedisCluster)):
        saver = RedisSaver.from_url(url)
        tid = f"detect-{uuid.uuid4().hex}"
        await saver.save(tid, "", new_cp(), expected_head=None)
        assert isinstance(saver.client, expected)
        assert (await saver.load(tid, "")) is not None
        await saver.aclose()


async def test_a_client_with_decoded_responses_still_returns_bytes(redis_url: str) -> None:
    client = aioredis.from_url(redis_url, decode_responses=True)
    saver = RedisSaver(client)
    tid = f"dec-{uuid.uuid4().hex}"
    first = SavedCheckpoint(new_checkpoint_id(), None, '{"text":"é"}'.encode())
    await saver.save(tid, "", first, expected_head=None)
    await saver.save_writes(tid, "", first.id, {"int:é": "ü:1:".encode()})
    loaded = await saver.load(tid, "")
    assert loaded == SavedCheckpoint(first.id, None, first.blob, {"int:é": "ü:1:".encode()})
    assert [c.id for c in await saver.history(tid, "")] == [first.id]
    await saver.aclose()  # not ours: the client stays open
    assert await client.ping()
    await client.aclose()


async def test_redis_down_is_a_checkpointer_error_naming_the_url_without_password() -> None:
    port = free_port()
    no_retry = Retry(NoBackoff(), 0)
    saver = RedisSaver.from_url(f"redis://alice:s3cret-pw@127.0.0.1:{port}/2", cluster=False, retry=no_retry)
    graph = seed_builder.compile(checkpointer=saver)
    with pytest.raises(CheckpointerError) as caught:
        await graph.ainvoke({"some_text": "x"}, {"configurable": {"thread_id": "down"}})
    message = str(caught.value)
    assert f"redis://alice:***@127.0.0.1:{port}/2" in message and "s3cret" not in message
    await saver.aclose()

    given = RedisSaver(aioredis.Redis(host="127.0.0.1", port=port, password="s3cret-pw", retry=no_retry))
    with pytest.raises(CheckpointerError) as caught:
        await given.history("down", "")
    assert f"127.0.0.1:{port}" in str(caught.value) and "s3cret" not in str(caught.value)
    await given.client.aclose()


def test_redact() -> None:
    assert redact("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redact("rediss://u:pw@h/3") == "rediss://u:***@h/3"
    assert redact("redis://h:6379") == "redis://h:6379"



class LossyProxy:
    """A TCP proxy in front of Redis that can lose the next reply and cut the connection, as a network would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.drop_next = False
        self.dropped = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> LossyProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def upstream() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if self.drop_next:  # the server did the work; the client never hears of it
                    self.drop_next = False
                    self.dropped += 1
                    return
                writer.write(data)
                await writer.drain()

        with contextlib.suppress(OSError):
            done, pending = await asyncio.wait([asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())],
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        writer.close()
        up_writer.close()


async def test_a_lost_reply_retried_by_the_client_is_not_a_false_conflict(redis_url: str) -> None:
    proxy = await LossyProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])).start()
    saver = RedisSaver.from_url(f"redis://127.0.0.1:{proxy.port}/0", cluster=False, retry=Retry(NoBackoff(), 2))
    tid = f"lossy-{uuid.uuid4().hex}"
    first = new_cp()
    await saver.save(tid, "", first, expected_head=None)
    await saver.save_writes(tid, "", first.id, {"int:t": b"pause"})
    await saver.load(tid, "")

    proxy.drop_next = True
    second = new_cp(first.id)
    await saver.save(tid, "", second, expected_head=first.id)  # ran, reply lost, sent again: still a success
    assert proxy.dropped == 1
    assert [c.id for c in await saver.history(tid, "")] == [second.id, first.id]

    proxy.drop_next = True
    await saver.save_writes(tid, "", second.id, {"res:t:1": b"yes"}, exclusive=True)  # the retried claim is ours
    assert proxy.dropped == 2
    with pytest.raises(CheckpointConflict):  # and anyone else's claim still loses
        await saver.save_writes(tid, "", second.id, {"res:t:1": b"yes"}, exclusive=True)
    assert (await saver.load(tid, "")).writes == {"res:t:1": b"yes"}  # type: ignore[union-attr]
    await saver.aclose()
    await proxy.close()


async def test_scripts_are_loaded_again_when_the_server_lost_them(redis_saver: RedisSaver) -> None:
    tid = f"noscript-{uuid.uuid4().hex}"
    first = new_cp()
    await redis_saver.save(tid, "", first, expected_head=None)
    client: Any = redis_saver.client
    await client.script_flush()  # what a restarted server looks like to a running saver
    second = new_cp(first.id)
    await redis_saver.save(tid, "", second, expected_head=first.id)
    await redis_saver.save_writes(tid, "", second.id, {"int:x": b"p"})
    assert (await redis_saver.load(tid, "")).writes == {"int:x": b"p"}  # type: ignore[union-attr]


async def test_concurrent_calls_share_round_trips(redis_saver: RedisSaver) -> None:
    threads = [f"many-{uuid.uuid4().hex}" for _ in range(200)]
    firsts = [new_cp() for _ in threads]
    await asyncio.gather(*(redis_saver.save(t, "", c, expected_head=None) for t, c in zip(threads, firsts, strict=True)))
    commands, round_trips = redis_saver.sent
    heads = await asyncio.gather(*(redis_saver.load(t, "") for t in threads))
    assert [h.id for h in heads if h] == [c.id for c in firsts]
    after_commands, after_round_trips = redis_saver.sent
    assert after_commands - commands == 200
    assert after_round_trips - round_trips < 20  # batched: one exchange carries many threads' calls


def test_the_sync_api_works_through_redis(redis_url: str) -> None:
    saver = RedisSaver.from_url(redis_url)
    graph = seed_builder.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": f"sync-{uuid.uuid4().hex}"}}
    assert graph.invoke({"some_text": "a"}, cfg)["__interrupt__"][0].value == {"text_to_revise": "a"}
    assert graph.invoke(Command(resume="b"), cfg) == {"some_text": "b"}
    assert [s.values for s in graph.get_state_history(cfg)][0] == {"some_text": "b"}
