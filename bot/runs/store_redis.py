"""Thread and run records on Redis, shared by every bot process on it.

Every key of a thread carries the thread's hash tag (see `bot.keys`), so each queue step
is one Lua script on one slot and works on Redis Cluster. The global thread index is a single
sorted set, touched with single-key commands only. Redis errors are left to the caller (the HTTP
API answers them with a 503).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot import keys
from bot.runs.records import RunRecord, ThreadRecord, encode_fields, now_iso
from bot.runs.store import LEASE_MS

# KEYS: queue, lease, thread, run, runs index ; ARGV: lease ms, run id, reject (1|0), run JSON,
# created score, then thread field/value pairs. Stores, queues and marks the thread, or nothing.
_SUBMIT = """
if redis.call('EXISTS', KEYS[3]) == 0 then return 'no_thread' end
if ARGV[3] == '1' and redis.call('LLEN', KEYS[1]) > 0 then return 'busy' end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
if #ARGV > 5 then redis.call('HSET', KEYS[3], unpack(ARGV, 6)) end
redis.call('RPUSH', KEYS[1], ARGV[2])
if redis.call('LLEN', KEYS[1]) == 1 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1]) end
return 'queued'
"""

# KEYS: queue, lease, run ; ARGV: lease ms, run id[, run JSON to store when the turn is ours]
_TURN = """
if redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  if ARGV[3] then redis.call('SET', KEYS[3], ARGV[3]) end
  return 1
end
return 0
"""

# KEYS: queue, lease, thread, run, runs index ; ARGV: lease ms, run id, final run JSON ('' = keep,
# '-' = delete the run), JSON timestamp, JSON status for a thread left without runs that is still
# marked busy, then thread field/value pairs. A thread with runs left stays busy. Returns how many
# runs remain queued.
_RELEASE = """
if ARGV[3] == '-' then
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[5], ARGV[2])
elseif ARGV[3] ~= '' then
  redis.call('SET', KEYS[4], ARGV[3])
end
local thread = redis.call('EXISTS', KEYS[3]) == 1
if thread and #ARGV > 5 then redis.call('HSET', KEYS[3], unpack(ARGV, 6)) end
local head = redis.call('LINDEX', KEYS[1], 0)
redis.call('LREM', KEYS[1], 0, ARGV[2])
if head == ARGV[2] then
  local nxt = redis.call('LINDEX', KEYS[1], 0)
  if nxt then redis.call('SET', KEYS[2], nxt, 'PX', ARGV[1]) else redis.call('DEL', KEYS[2]) end
end
local left = redis.call('LLEN', KEYS[1])
if thread and left > 0 then
  redis.call('HSET', KEYS[3], 'status', '"busy"')
elseif thread and redis.call('HGET', KEYS[3], 'status') == '"busy"' then
  redis.call('HSET', KEYS[3], 'status', ARGV[5], 'updated_at', ARGV[4])
end
return left
"""

# KEYS: queue, lease ; ARGV: lease ms. The head run whose lease lapsed, leased to the caller.
_ADOPT = """
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('SET', KEYS[2], head, 'PX', ARGV[1])
return head
"""

# KEYS: thread ; ARGV: field, value, ... Creates the thread hash only if it does not exist.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS: thread ; ARGV: field, value, ... Changes fields of a thread that still exists.
_PATCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# KEYS: thread, runs index, queue, lease ; ARGV: run key prefix
_DELETE = """
local runs = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, run_id in ipairs(runs) do redis.call('DEL', ARGV[1] .. run_id) end
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
"""


class RedisRecords:
    def __init__(self, client: Any, lease_ms: int = LEASE_MS) -> None:
        self._redis = client
        self.lease_ms = lease_ms
        self._submit = client.register_script(_SUBMIT)
        self._turn = client.register_script(_TURN)
        self._release = client.register_script(_RELEASE)
        self._adopt = client.register_script(_ADOPT)
        self._delete = client.register_script(_DELETE)
        self._create = client.register_script(_CREATE)
        self._patch = client.register_script(_PATCH)

    async def create_thread(self, record: ThreadRecord) -> bool:
        created = await self._create(keys=[keys.thread(record.thread_id)], args=_flat(record.fields()))
        if created:
            await self._redis.zadd(keys.THREAD_INDEX, {record.thread_id: _score(record.created_at)})
        return bool(created)

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        stored = await self._redis.hgetall(keys.thread(thread_id))
        return ThreadRecord.from_fields(stored) if stored else None

    async def put_thread(self, record: ThreadRecord) -> None:
        await self._redis.hset(keys.thread(record.thread_id), mapping=record.fields())

    async def patch_thread(self, thread_id: str, changes: dict[str, Any]) -> None:
        await self._patch(keys=[keys.thread(thread_id)], args=_flat(encode_fields(changes)))

    async def delete_thread(self, thread_id: str) -> bool:
        deleted = await self._delete(
            keys=[keys.thread(thread_id), keys.runs(thread_id), keys.queue(thread_id), keys.lease(thread_id)],
            args=[keys.run_prefix(thread_id)],
        )
        await self._redis.zrem(keys.THREAD_INDEX, thread_id)
        return bool(deleted)

    async def search_threads(self, limit: int, offset: int) -> list[ThreadRecord]:
        ids = await self._redis.zrevrange(keys.THREAD_INDEX, offset, offset + limit - 1)
        found = []
        for raw_id in ids:
            record = await self.get_thread(raw_id.decode() if isinstance(raw_id, bytes) else raw_id)
            if record is not None:
                found.append(record)
        return found

    async def put_run(self, record: RunRecord) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(keys.run(record.thread_id, record.run_id), record.dumps())
        pipe.zadd(keys.runs(record.thread_id), {record.run_id: _score(record.created_at)})
        await pipe.execute()

    async def get_run(self, thread_id: str, run_id: str) -> RunRecord | None:
        raw = await self._redis.get(keys.run(thread_id, run_id))
        return RunRecord.loads(raw) if raw else None

    async def list_runs(self, thread_id: str) -> list[RunRecord]:
        ids = await self._redis.zrevrange(keys.runs(thread_id), 0, -1)
        if not ids:
            return []
        raws = await self._redis.mget([keys.run(thread_id, i.decode() if isinstance(i, bytes) else i) for i in ids])
        return [RunRecord.loads(raw) for raw in raws if raw]

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(keys.run(thread_id, run_id))
        pipe.zrem(keys.runs(thread_id), run_id)
        await pipe.execute()

    def _queue_keys(self, thread_id: str) -> list[str]:
        return [keys.queue(thread_id), keys.lease(thread_id)]

    def _run_keys(self, thread_id: str, run_id: str) -> list[str]:
        return [*self._queue_keys(thread_id), keys.thread(thread_id), keys.run(thread_id, run_id), keys.runs(thread_id)]

    async def submit(self, run: RunRecord, *, reject_if_busy: bool, thread_changes: dict[str, Any]) -> str:
        args = [
            self.lease_ms,
            run.run_id,
            "1" if reject_if_busy else "0",
            run.dumps(),
            _score(run.created_at),
            *_flat(encode_fields(thread_changes)),
        ]
        return _text(await self._submit(keys=self._run_keys(run.thread_id, run.run_id), args=args))

    async def turn(self, thread_id: str, run_id: str, *, start: RunRecord | None = None) -> bool:
        args: list[Any] = [self.lease_ms, run_id] + ([start.dumps()] if start is not None else [])
        run_key = keys.run(thread_id, run_id)
        mine = bool(await self._turn(keys=[*self._queue_keys(thread_id), run_key], args=args))
        if mine:  # the deadline index lives in its own slot: a separate single-key command
            await self._redis.zadd(keys.LEASE_INDEX, {thread_id: _now_ms() + self.lease_ms})
        return mine

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
        return int(await self._release(keys=self._run_keys(thread_id, run_id), args=args))

    async def queued(self, thread_id: str) -> list[str]:
        return [_text(i) for i in await self._redis.lrange(keys.queue(thread_id), 0, -1)]

    async def lapsed(self, limit: int) -> list[str]:
        found = await self._redis.zrangebyscore(keys.LEASE_INDEX, 0, _now_ms(), start=0, num=limit)
        return [_text(t) for t in found]

    async def adopt(self, thread_id: str) -> str | None:
        head = await self._adopt(keys=self._queue_keys(thread_id), args=[self.lease_ms])
        if not head:
            if not await self._redis.exists(keys.queue(thread_id)):
                await self._redis.zrem(keys.LEASE_INDEX, thread_id)  # nothing left to run there
            return None
        await self._redis.zadd(keys.LEASE_INDEX, {thread_id: _now_ms() + self.lease_ms})
        return _text(head)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _flat(fields: dict[str, str]) -> list[str]:
    return [part for pair in fields.items() for part in pair]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _score(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
