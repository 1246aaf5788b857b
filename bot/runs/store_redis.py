"""Thread and run records on Redis, shared by every bot process on it.

Every key of a thread carries the thread's hash tag (see `bot.keys`), so each queue step
is one Lua script on one slot and works on Redis Cluster. The global thread index is a single
sorted set, touched with single-key commands only. A Redis failure surfaces as
`StorageUnavailable` (the HTTP API answers it with a 503).
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
from bot.batching import Batcher
from bot.runs.errors import Conflict, StorageUnavailable
from bot.runs.records import RunRecord, ThreadRecord, encode_fields, now_iso
from bot.runs.store import LEASE_MS

# Each script names its KEYS and ARGV in its first lines; the callers pass them in that order.

# Stores the run, queues it and marks the thread, or changes nothing. A run that finds the queue
# empty holds the thread at once: with start_json given, that record (the run as it starts) is
# stored instead and the answer is 'started', so its first turn costs no round trip.
# Returns 'started', 'queued', 'exists' (a run with this id is stored), 'no_thread' or 'busy'
# (reject given and the thread has a run).
_SUBMIT = """
local queue, lease, thread, run, runs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local lease_ms, run_id, reject, run_json, created, start_json = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
-- start_json: '' when the caller does not start the run itself; ARGV[7..]: thread field, JSON value, ... to set
if redis.call('EXISTS', thread) == 0 then return 'no_thread' end
local stored = redis.call('GET', run)
if stored then
  -- the same submission again (the client retried after a lost answer) is done already;
  -- another one with this run id (a resume submitted twice) finds it: 'exists'
  if start_json ~= '' and stored == start_json and redis.call('GET', lease) == run_id then return 'started' end
  if stored == run_json then return 'queued' end
  return 'exists'
end
if reject == '1' and redis.call('LLEN', queue) > 0 then return 'busy' end
redis.call('ZADD', runs, created, run_id)
if #ARGV > 6 then redis.call('HSET', thread, unpack(ARGV, 7)) end
redis.call('RPUSH', queue, run_id)
if redis.call('LLEN', queue) == 1 then
  redis.call('SET', lease, run_id, 'PX', lease_ms)
  if start_json ~= '' then
    redis.call('SET', run, start_json)
    return 'started'
  end
end
redis.call('SET', run, run_json)
return 'queued'
"""

# Whether the run holds the thread; if so renews its lease and stores its starting record.
_TURN = """
local queue, lease, run = KEYS[1], KEYS[2], KEYS[3]
local lease_ms, run_id, start_json = ARGV[1], ARGV[2], ARGV[3]  -- start_json is optional
if redis.call('GET', lease) == run_id then
  redis.call('PEXPIRE', lease, lease_ms)
  if start_json then redis.call('SET', run, start_json) end
  return 1
end
return 0
"""

# Ends a run: stores (or deletes) its record, applies thread changes, leaves the queue and hands
# the lease to the next run. A thread with runs left stays busy; one left without that is still
# marked busy gets idle_status; a deleted thread is not recreated. Returns how many runs remain queued.
_RELEASE = """
local queue, lease, thread, run, runs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local lease_ms, run_id, final_json, stamp, idle_status = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- final_json: '' keeps the record, '-' deletes the run; stamp, idle_status: JSON values
-- ARGV[6..]: thread field, JSON value, ... to set
local exists = redis.call('EXISTS', thread) == 1
if final_json == '-' then
  redis.call('DEL', run)
  redis.call('ZREM', runs, run_id)
elseif final_json ~= '' and exists then  -- a deleted thread keeps no runs
  redis.call('SET', run, final_json)
end
if exists and #ARGV > 5 then redis.call('HSET', thread, unpack(ARGV, 6)) end
local head = redis.call('LINDEX', queue, 0)
redis.call('LREM', queue, 0, run_id)
if head == run_id then
  local nxt = redis.call('LINDEX', queue, 0)
  if nxt then redis.call('SET', lease, nxt, 'PX', lease_ms) else redis.call('DEL', lease) end
end
local left = redis.call('LLEN', queue)
if exists and left > 0 then
  redis.call('HSET', thread, 'status', '"busy"')
elseif exists and redis.call('HGET', thread, 'status') == '"busy"' then
  redis.call('HSET', thread, 'status', idle_status, 'updated_at', stamp)
end
return left
"""

# The head run whose lease lapsed, leased to the caller; '' when the queue is empty (nothing
# to adopt there), false when the head run still holds its lease.
_ADOPT = """
local queue, lease = KEYS[1], KEYS[2]
local lease_ms = ARGV[1]
local head = redis.call('LINDEX', queue, 0)
if not head then return '' end
if redis.call('EXISTS', lease) == 1 then return false end
redis.call('SET', lease, head, 'PX', lease_ms)
return head
"""

# Drops from the lease index the threads named whose deadline is still at or before `cutoff`
# (a run submitted since moved it later: that entry stays). One key: fine on a Cluster.
_UNINDEX = """
local index = KEYS[1]
local cutoff = tonumber(ARGV[1])
-- ARGV[2..]: thread ids
local dropped = 0
for i = 2, #ARGV do
  local due = redis.call('ZSCORE', index, ARGV[i])
  if due and tonumber(due) <= cutoff then dropped = dropped + redis.call('ZREM', index, ARGV[i]) end
end
return dropped
"""

# Creates the thread hash only if it does not exist. Returns 1 when created.
_CREATE = """
local thread = KEYS[1]
-- ARGV: field, JSON value, ...
if redis.call('EXISTS', thread) == 1 then
  for i = 1, #ARGV, 2 do  -- created by this very call (retried after a lost answer) counts as created
    if redis.call('HGET', thread, ARGV[i]) ~= ARGV[i + 1] then return 0 end
  end
  return 1
end
redis.call('HSET', thread, unpack(ARGV))
return 1
"""

# Changes fields of a thread that still exists. Returns 1 when it existed.
_PATCH = """
local thread = KEYS[1]
-- ARGV: field, JSON value, ...
if redis.call('EXISTS', thread) == 0 then return 0 end
redis.call('HSET', thread, unpack(ARGV))
return 1
"""

# Replaces the thread's metadata with `merged` if it still is `expected` (what the caller read
# and merged into); changes no other field and never recreates a deleted thread.
# Returns 'done', 'moved' (read again and retry) or 'gone'.
_MERGE_METADATA = """
local thread = KEYS[1]
local expected, merged = ARGV[1], ARGV[2]
if redis.call('EXISTS', thread) == 0 then return 'gone' end
if redis.call('HGET', thread, 'metadata') ~= expected then return 'moved' end
redis.call('HSET', thread, 'metadata', merged)
return 'done'
"""

# Takes an idle thread for a holder that is not a run: it becomes the queue's only entry and
# holds the lease. Returns 'claimed', 'busy' or 'no_thread'.
_CLAIM = """
local queue, lease, thread = KEYS[1], KEYS[2], KEYS[3]
local lease_ms, holder = ARGV[1], ARGV[2]
if redis.call('EXISTS', thread) == 0 then return 'no_thread' end
if redis.call('LLEN', queue) > 0 then return 'busy' end
redis.call('RPUSH', queue, holder)
redis.call('SET', lease, holder, 'PX', lease_ms)
return 'claimed'
"""

# Deletes the thread's record, runs, queue and lease, and with them every other key of the thread
# (bot.keys): its audit stream and its Slack pauses, decisions, approval tallies and failure reports.
# Returns 1 when the thread record existed.
_DELETE = """
local thread, runs, queue, lease, audit, current, pauses = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local run_prefix, slack_prefix = ARGV[1], ARGV[2]
for _, run_id in ipairs(redis.call('ZRANGE', runs, 0, -1)) do
  redis.call('DEL', run_prefix .. run_id, slack_prefix .. 'failure:' .. run_id)
end
for _, cp in ipairs(redis.call('SMEMBERS', pauses)) do
  redis.call('DEL', slack_prefix .. 'pause:' .. cp, slack_prefix .. 'decided:' .. cp, slack_prefix .. 'approvals:' .. cp)
end
local existed = redis.call('EXISTS', thread)
redis.call('DEL', thread, runs, queue, lease, audit, current, pauses)
return existed
"""


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
    def __init__(self, client: Any, lease_ms: int = LEASE_MS) -> None:
        self._redis = client
        self.lease_ms = lease_ms
        self._scripts: dict[str, str] = {}  # sha -> source, of the scripts sent in batches
        self.batcher = Batcher(client)
        # A Cluster pipeline sends each node's share at once, in no set order between nodes.
        self._ordered_batches = not isinstance(client, RedisCluster)
        self._submit = client.register_script(_SUBMIT)
        self._turn = client.register_script(_TURN)
        self._release = client.register_script(_RELEASE)
        self._adopt = client.register_script(_ADOPT)
        self._delete = client.register_script(_DELETE)
        self._create = client.register_script(_CREATE)
        self._patch = client.register_script(_PATCH)
        self._merge_metadata = client.register_script(_MERGE_METADATA)
        self._claim = client.register_script(_CLAIM)
        self._unindex = client.register_script(_UNINDEX)

    async def _batch(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Sends a step's commands (scripts as ("EVALSHA", sha, ...)) in one network exchange,
        shared with other steps asked for meanwhile (`bot.batching`), and returns their
        replies; a script the server lacks (new, restarted) is loaded and run again."""
        replies = await self.batcher.run(*commands)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                replies[i] = await self._evalsha(*commands[i][1:])
            elif isinstance(reply, Exception):
                raise reply
        return list(replies)

    async def _evalsha(self, sha: str, *args: Any) -> Any:
        try:
            return await self._redis.execute_command("EVALSHA", sha, *args)
        except NoScriptError:
            await self._redis.script_load(self._scripts[sha])
            return await self._redis.execute_command("EVALSHA", sha, *args)

    def _script(self, script: Any, keys: list[str], args: list[Any]) -> tuple[Any, ...]:
        """A script call as a command for `_batch`."""
        self._scripts.setdefault(script.sha, script.script)
        return ("EVALSHA", script.sha, len(keys), *keys, *args)

    @_storage
    async def create_thread(self, record: ThreadRecord) -> bool:
        # One exchange: the index entry is added only when none exists (NX), so a create that
        # finds the thread already there leaves its entry (and its place in searches) alone.
        created, _ = await self._batch(
            self._script(self._create, [keys.thread(record.thread_id)], _flat(record.fields())),
            ("ZADD", keys.THREAD_INDEX, "NX", _score(record.created_at), record.thread_id),
        )
        return bool(created)

    @_storage
    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        (stored,) = await self._batch(("HGETALL", keys.thread(thread_id)))
        return ThreadRecord.from_fields(stored) if stored else None

    @_storage
    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        await self._batch(self._script(self._patch, [keys.thread(thread_id)], _flat(encode_fields(changes))))

    @_storage
    async def merge_metadata(self, thread_id: str, metadata: dict[str, Any]) -> ThreadRecord | None:
        key = keys.thread(thread_id)
        for _ in range(MERGE_ATTEMPTS):  # another merge between reading and writing: read again
            current = await self._redis.hget(key, "metadata")
            if current is None:
                return None
            merged = encode_fields({"metadata": {**json.loads(current), **metadata}})["metadata"]
            outcome = _text(await self._merge_metadata(keys=[key], args=[current, merged]))
            if outcome == "gone":
                return None
            if outcome == "done":
                return await self.get_thread(thread_id)
        raise Conflict(f"The metadata of thread {thread_id} kept changing while it was merged: retry")

    @_storage
    async def delete_thread(self, thread_id: str) -> bool:
        deleted = await self._delete(
            keys=[keys.thread(thread_id), keys.runs(thread_id), keys.queue(thread_id), keys.lease(thread_id),
                  keys.audit(thread_id), keys.slack_current(thread_id), keys.slack_pauses(thread_id)],
            args=[keys.run_prefix(thread_id), keys.slack_prefix(thread_id)],
        )
        await self._redis.zrem(keys.THREAD_INDEX, thread_id)
        return bool(deleted)

    @_storage
    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        ids = await self._redis.zrevrange(keys.THREAD_INDEX, offset, offset + limit - 1)
        found = []
        for raw_id in ids:
            record = await self.get_thread(raw_id.decode() if isinstance(raw_id, bytes) else raw_id)
            if record is not None:
                found.append(record)
        return found

    @_storage
    async def put_run(self, record: RunRecord) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(keys.run(record.thread_id, record.run_id), record.dumps())
        pipe.zadd(keys.runs(record.thread_id), {record.run_id: _score(record.created_at)})
        await pipe.execute()

    @_storage
    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        (raw,) = await self._batch(("GET", keys.run(thread_id, run_id)))
        return RunRecord.loads(raw) if raw else None

    @_storage
    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        ids = await self._redis.zrevrange(keys.runs(thread_id), 0, -1)
        if not ids:
            return []
        raws = await self._redis.mget([keys.run(thread_id, i.decode() if isinstance(i, bytes) else i) for i in ids])
        return [RunRecord.loads(raw) for raw in raws if raw]

    @_storage
    async def delete_run(self, thread_id: str, run_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(keys.run(thread_id, run_id))
        pipe.zrem(keys.runs(thread_id), run_id)
        await pipe.execute()

    def _queue_keys(self, thread_id: str) -> list[str]:
        return [keys.queue(thread_id), keys.lease(thread_id)]

    def _run_keys(self, thread_id: str, run_id: str) -> list[str]:
        return [*self._queue_keys(thread_id), keys.thread(thread_id), keys.run(thread_id, run_id), keys.runs(thread_id)]

    @_storage
    async def submit(
        self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any], start: RunRecord | None = None
    ) -> str:
        args = [
            self.lease_ms,
            run.run_id,
            "1" if reject_if_busy else "0",
            run.dumps(),
            _score(run.created_at),
            start.dumps() if start is not None else "",
            *_flat(encode_fields(thread_changes)),
        ]
        # Indexed first (its own slot): if this process dies before the run's lease is renewed,
        # the lease lapses with nobody renewing it and the sweep must find the thread. One server
        # runs a batch's commands in order, so they share an exchange; a Cluster's may not.
        index = ("ZADD", keys.LEASE_INDEX, _now_ms() + self.lease_ms, run.thread_id)
        script = self._script(self._submit, self._run_keys(run.thread_id, run.run_id), args)
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
        run_key = keys.run(thread_id, run_id)
        (mine,) = await self._batch(self._script(self._turn, [*self._queue_keys(thread_id), run_key], args))
        if mine:  # the deadline index lives in its own slot: a separate single-key command
            await self._batch(("ZADD", keys.LEASE_INDEX, _now_ms() + self.lease_ms, thread_id))
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
        (left,) = await self._batch(self._script(self._release, self._run_keys(thread_id, run_id), args))
        return int(left)

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


def _now_ms() -> int:
    return int(time.time() * 1000)


def _flat(fields: dict[str, str]) -> list[str]:
    return [part for pair in fields.items() for part in pair]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _score(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
