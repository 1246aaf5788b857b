"""Thread and run records on Redis, shared by every bot process on it.

Every key of a thread carries the thread's hash tag (see `bot.keys`), so each queue step
is one Lua script on one slot and works on Redis Cluster. The global thread index is a single
sorted set, touched with single-key commands only. A Redis failure surfaces as
`StorageUnavailable` (the HTTP API answers it with a 503).

A thread's runs are one hash (run id -> record JSON), so whatever their number, renewing their expiry
or deleting them is one command; listing them reads the hash and orders the runs by creation. Runs
stored before that (a key each, indexed by a zset: bot.keys) are moved into the hash by the first
read that lists them or misses one, and deleted with their thread.

With a thread TTL (`SLUICE_THREAD_TTL`), a thread's records expire as its checkpoints do: each write
refreshes the expiry of the thread's record, its runs, its audit stream and its checkpoint keys (a
run's submission alone does not: its end or lease renewals follow) (so a write that makes no
checkpoint, a metadata patch or a run that fails before its first step, does not leave the record
without its state), with a script sent in the write's own batch (no round trip more; a fixed set of
keys, so the same few commands however many runs the thread has had). A running run's
lease renewals count as writes, so a long run never outlives its thread. The queue (empty once runs end) and the
lease (PX) keep their own lifetimes; an index entry of an expired thread is dropped by the search
that finds it gone.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError

from bot import keys
from bot.runs import store_redis_scripts as scripts
from bot.runs.errors import Conflict, StorageUnavailable
from bot.runs.records import RunRecord, ThreadRecord, encode_fields, now_iso
from bot.runs.store import ENDED_KEPT_S, LEASE_MS
from engine.checkpoint.keys import thread_keys as checkpoint_keys
from engine.checkpoint.pipelining import Batcher

MERGE_ATTEMPTS = 20
Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def _storage(method: Method) -> Method:
    """Turns a Redis failure into the runs layer's StorageUnavailable, naming what failed."""

    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise StorageUnavailable(
                f"Storage unavailable ({type(exc).__name__}): {exc}. Retry once Redis answers."
            ) from exc

    return cast(Method, call)


class RedisRecords:
    process_local = False  # other processes share them: leases lapse, runs are cancelled from afar

    def __init__(self, client: Any, lease_ms: int = LEASE_MS, ttl: int | None = None) -> None:
        self._redis = client
        self.lease_ms = lease_ms
        self.ttl = ttl  # seconds a thread not written to is kept (SLUICE_THREAD_TTL); None: forever
        self._scripts: dict[str, str] = {}  # sha -> source, of the scripts sent in batches
        self.batcher = Batcher(client)
        # A Cluster pipeline sends each node's share at once, in no set order between nodes.
        self._ordered_batches = not isinstance(client, RedisCluster)
        self._submit = client.register_script(scripts.SUBMIT)
        self._turn = client.register_script(scripts.TURN)
        self._release = client.register_script(scripts.RELEASE)
        self._adopt = client.register_script(scripts.ADOPT)
        self._delete = client.register_script(scripts.DELETE)
        self._create = client.register_script(scripts.CREATE)
        self._patch = client.register_script(scripts.PATCH)
        self._merge_metadata = client.register_script(scripts.MERGE_METADATA)
        self._claim = client.register_script(scripts.CLAIM)
        self._unindex = client.register_script(scripts.UNINDEX)
        self._refresh_script = client.register_script(scripts.REFRESH)
        self._runs = client.register_script(scripts.RUNS)

    async def _batch(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Sends a step's commands (scripts as ("EVALSHA", sha, ...)) in one network exchange,
        shared with other steps asked for meanwhile (`engine.checkpoint.pipelining`), and returns their
        replies; a script the server lacks (new, restarted) is loaded and run again, and so is a TTL
        refresh after it in the step (it ran before the keys that script writes were written)."""
        replies = await self.batcher.run(*commands)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                replies[i] = await self._evalsha(*commands[i][1:])
                if i < len(commands) - 1 and commands[-1][:2] == ("EVALSHA", self._refresh_script.sha):
                    replies[-1] = await self._evalsha(*commands[-1][1:])
            elif isinstance(reply, Exception):
                raise reply
        return list(replies)

    async def _evalsha(self, sha: str, *args: Any) -> Any:
        try:
            return await self._redis.execute_command("EVALSHA", sha, *args)
        except NoScriptError:
            await self._redis.script_load(self._scripts[sha])
            return await self._redis.execute_command("EVALSHA", sha, *args)

    def _refresh(self, thread_id: str) -> list[tuple[Any, ...]]:
        """The TTL refresh a write on the thread sends after it in its batch (none without a TTL)."""
        if not self.ttl:
            return []
        names = [keys.thread(thread_id), keys.run_records(thread_id), keys.audit(thread_id), *checkpoint_keys(thread_id)]
        return [self._script(self._refresh_script, names, [self.ttl])]

    def _script(self, script: Any, keys: list[str], args: list[Any]) -> tuple[Any, ...]:
        """A script call as a command for `_batch`."""
        self._scripts.setdefault(script.sha, script.script)
        return ("EVALSHA", script.sha, len(keys), *keys, *args)

    @_storage
    async def create_thread(self, record: ThreadRecord) -> bool:
        # One exchange: the index entry is added only when none exists (NX), so a create that
        # finds the thread already there leaves its entry (and its place in searches) alone.
        created = await self._batch(
            self._script(self._create, [keys.thread(record.thread_id)], _flat(record.fields())),
            ("ZADD", keys.THREAD_INDEX, "NX", _score(record.created_at), record.thread_id),
            *self._refresh(record.thread_id),
        )
        return bool(created[0])

    @_storage
    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        (stored,) = await self._batch(("HGETALL", keys.thread(thread_id)))
        return ThreadRecord.from_fields(stored) if stored else None

    @_storage
    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        await self._batch(self._script(self._patch, [keys.thread(thread_id)], _flat(encode_fields(changes))),
                          *self._refresh(thread_id))

    @_storage
    async def merge_metadata(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord | None:
        key = keys.thread(thread_id)
        for _ in range(MERGE_ATTEMPTS):  # another merge between reading and writing: read again
            current = await self._redis.hget(key, "metadata")
            if current is None:
                return None
            merged = encode_fields({"metadata": {**json.loads(current), **metadata}})["metadata"]
            merge = self._script(self._merge_metadata, [key], [current, merged])
            outcome = _text((await self._batch(merge, *self._refresh(thread_id)))[0])
            if outcome == "gone":
                return None
            if outcome == "done":
                return await self.get_thread(thread_id)
        raise Conflict(f"The metadata of thread {thread_id} kept changing while it was merged: retry")

    @_storage
    async def delete_thread(self, thread_id: str) -> bool:
        deleted = await self._delete(
            keys=[keys.thread(thread_id), keys.run_records(thread_id), keys.queue(thread_id), keys.lease(thread_id),
                  keys.audit(thread_id), keys.slack_current(thread_id), keys.slack_pauses(thread_id),
                  keys.legacy_runs(thread_id)],
            args=[keys.slack_prefix(thread_id), keys.legacy_run_prefix(thread_id)],
        )
        await self._redis.zrem(keys.THREAD_INDEX, thread_id)
        return bool(deleted)

    @_storage
    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        entries = await self._redis.zrevrange(keys.THREAD_INDEX, offset, offset + limit - 1, withscores=True)
        found, expired = [], []
        for raw_id, created in entries:
            record = await self.get_thread(_text(raw_id))
            if record is not None:
                found.append(record)
            elif self.ttl and created < time.time() - self.ttl:  # not a thread whose create is on its way
                expired.append(_text(raw_id))
        if expired:
            await self._redis.zrem(keys.THREAD_INDEX, *expired)
        return found

    @_storage
    async def put_run(self, record: RunRecord) -> None:
        await self._batch(("HSET", keys.run_records(record.thread_id), record.run_id, record.dumps()),
                          *self._refresh(record.thread_id))

    @_storage
    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        (raw,) = await self._batch(("HGET", keys.run_records(thread_id), run_id))
        if raw is None:  # perhaps stored before run_records: read by the script that moves such runs
            (raw,) = await self._batch(self._read_runs(thread_id, run_id))
        return RunRecord.loads(raw) if raw else None

    def _read_runs(self, thread_id: str, *run_id: str) -> tuple[Any, ...]:
        return self._script(self._runs, [keys.run_records(thread_id), keys.legacy_runs(thread_id)],
                            [keys.legacy_run_prefix(thread_id), *run_id])

    @_storage
    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        (stored,) = await self._batch(self._read_runs(thread_id))
        runs = [RunRecord.loads(raw) for raw in stored]
        # Newest first; runs created in the same microsecond by run id, last first.
        runs.sort(key=lambda r: (_score(r.created_at), r.run_id), reverse=True)
        return runs

    @_storage
    async def delete_run(self, thread_id: str, run_id: str) -> None:
        await self._batch(("HDEL", keys.run_records(thread_id), run_id))

    @_storage
    async def keep_ended(self, record: RunRecord) -> None:
        await self._batch(("SET", keys.ended_run(record.run_id), record.dumps(), "EX", ENDED_KEPT_S))

    @_storage
    async def get_ended(self, run_id: str) -> RunRecord | None:
        (raw,) = await self._batch(("GET", keys.ended_run(run_id)))
        return RunRecord.loads(raw) if raw else None

    def _queue_keys(self, thread_id: str) -> list[str]:
        return [keys.queue(thread_id), keys.lease(thread_id)]

    def _run_keys(self, thread_id: str) -> list[str]:
        return [*self._queue_keys(thread_id), keys.thread(thread_id), keys.run_records(thread_id)]

    @_storage
    async def submit(
        self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any], start: RunRecord | None = None
    ) -> str:
        run_json = run.dumps()
        args = [
            self.lease_ms,
            run.run_id,
            "1" if reject_if_busy else "0",
            run_json,
            started_json(run, run_json, start) if start is not None else "",
            *_flat(encode_fields(thread_changes)),
        ]
        # Indexed first (its own slot): if this process dies before the run's lease is renewed,
        # the lease lapses with nobody renewing it and the sweep must find the thread. One server
        # runs a batch's commands in order, so they share an exchange; a Cluster's may not.
        index = ("ZADD", keys.LEASE_INDEX, _now_ms() + self.lease_ms, run.thread_id)
        # No TTL refresh here: a submitted run is always followed by writes that refresh (its end, or the
        # lease renewals of whichever run holds the thread), each covering every run of the thread.
        script = self._script(self._submit, self._run_keys(run.thread_id), args)
        if self._ordered_batches:
            return _text((await self._batch(index, script))[1])
        await self._batch(index)
        return _text((await self._batch(script))[0])

    @_storage
    async def claim(self, thread_id: str, holder: str) -> str:
        claimed = _text(await self._claim(keys=[*self._queue_keys(thread_id), keys.thread(thread_id)],
                                          args=[self.lease_ms, holder]))
        if claimed == "claimed":  # indexed like a run's lease, so a holder that dies is released
            await self._redis.zadd(keys.LEASE_INDEX, {thread_id: _now_ms() + self.lease_ms})
        return claimed

    @_storage
    async def turn(self, thread_id: str, run_id: str, *, start: RunRecord | None = None) -> bool:
        args: list[Any] = [self.lease_ms, run_id] + ([start.dumps()] if start is not None else [])
        (mine,) = await self._batch(self._script(self._turn, [*self._queue_keys(thread_id), keys.run_records(thread_id)], args))
        if mine:  # the deadline index lives in its own slot: a separate single-key command
            await self._batch(("ZADD", keys.LEASE_INDEX, _now_ms() + self.lease_ms, thread_id),
                              *self._refresh(thread_id))
        return bool(mine)

    @_storage
    async def release(
        self,
        thread_id: str,
        run_id: str,
        *,
        final: RunRecord | None = None,
        delete_run: bool = False,
        thread_changes: dict[str, Any] | None = None,
        idle_status: str = "idle",
    ) -> int:
        # A thread left idle keeps its deadline entry until the recovery sweep drops it: one
        # command less on the request path.
        record = "-" if delete_run else (final.dumps() if final is not None else "")
        stamp, status = json.dumps(now_iso()), json.dumps(idle_status)
        args = [self.lease_ms, run_id, record, stamp, status, *_flat(encode_fields(thread_changes or {}))]
        replies = await self._batch(self._script(self._release, self._run_keys(thread_id), args),
                                    *self._refresh(thread_id))
        return int(replies[0])

    @_storage
    async def queued(self, thread_id: str) -> list[str]:
        (ids,) = await self._batch(("LRANGE", keys.queue(thread_id), 0, -1))
        return [_text(i) for i in ids]

    @_storage
    async def lapsed(self, limit: int) -> list[str]:
        found = await self._redis.zrangebyscore(keys.LEASE_INDEX, 0, _now_ms(), start=0, num=limit)
        return [_text(t) for t in found]

    @_storage
    async def adopt(self, thread_id: str) -> str | None:
        return (await self.adopt_many([thread_id])).get(thread_id)

    @_storage
    async def adopt_many(self, thread_ids: list[str]) -> dict[str, str]:
        if not thread_ids:
            return {}
        cutoff = _now_ms()
        heads = await self._batch(*(self._script(self._adopt, self._queue_keys(t), [self.lease_ms]) for t in thread_ids))
        adopted = {t: _text(head) for t, head in zip(thread_ids, heads, strict=True) if head}
        idle = [t for t, head in zip(thread_ids, heads, strict=True) if head == b"" or head == ""]
        follow: list[tuple[Any, ...]] = []
        if idle:  # nothing left to run there, unless a run was submitted since (its deadline moved on)
            follow.append(self._script(self._unindex, [keys.LEASE_INDEX], [cutoff, *idle]))
        if adopted:
            deadline = _now_ms() + self.lease_ms
            follow.append(("ZADD", keys.LEASE_INDEX, *(part for t in adopted for part in (deadline, t))))
        if follow:
            await self._batch(*follow)
        return adopted


def started_json(run: RunRecord, run_json: str, start: RunRecord) -> str:
    """`start.dumps()`, made from the submitted run's JSON when the two records differ in their status
    alone (the run as it takes an idle thread, `records.evolve`): one record encoded per submit, not two
    (its kwargs, metadata and keys are most of a seed cycle's JSON). The status is the first field
    after the run's ids and times, all strings, in which JSON escapes every quote: the first
    `,"status":<value>,` of the text is that field."""
    theirs, mine = start.__dict__, run.__dict__
    if theirs.keys() != mine.keys() or any(value is not mine[name] and name != "status" for name, value in theirs.items()):
        return start.dumps()
    old, new = json.dumps(run.status), json.dumps(start.status)
    return run_json.replace(f',"status":{old},', f',"status":{new},', 1)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _flat(fields: dict[str, str]) -> list[str]:
    return [part for pair in fields.items() for part in pair]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _score(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
