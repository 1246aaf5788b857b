"""RedisSaver: checkpoints in plain Redis 7 / Valkey (no modules), single server or Redis Cluster.

Each call is one command, a Lua script (EVALSHA, redis_scripts.py) over the thread's two keys
(keys.py), so a checkpoint, its head pointer, its history entry and the TTL refresh land together
or not at all, in one round trip; calls made at the same moment by other threads share that round
trip (pipelining.py). Writes are conditional on the head, which makes two resumes of one pause race
to exactly one winner. Every Redis failure surfaces as CheckpointerError naming the server, never
its password.

A caller may have the root's resume claims of a thread carry commands of its own (`ride_claims`):
they land in the claim's script, with it or not at all (the service's audit entry of a resume).

The saver remembers the head it last read or wrote per (thread, namespace) (`remember` of them,
at most 64 MiB, least recently used dropped: heads.py), so a run can start without reading the thread (`recall`): its first
write then names the head and a digest of the pending writes it prepared from, and a refusal brings
back the current head. The memory is only ever a hint: Redis decides every write.

    saver = RedisSaver.from_url("redis://localhost:6379/0", ttl=7 * 24 * 3600)
    graph = builder.compile(checkpointer=saver)

`from_url` decides between a single-server and a cluster client with `cluster=`: True or False
says it; None (the default) asks the server once, on first use, with `INFO cluster`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError
from redis.typing import EncodableT

from ..errors import CheckpointConflict, CheckpointerError
from . import keys
from .base import Head, SavedCheckpoint
from .heads import HeadMemory
from .pipelining import Batcher
from .redis_scripts import HISTORY, LOAD_HEAD, SAVE, SAVE_WRITES, decode_writes, encode_writes

T = TypeVar("T")
Client = Redis | RedisCluster
# A command riding a claim: (name, key, *args), its key on the thread's hash tag (one slot).
RiderCommand = tuple[Any, ...]
# Given the checkpoint a claim is about to be made on, the commands it carries; raising stops the claim.
Rider = Callable[[str], Awaitable[list[RiderCommand]]]

_HEAD_MOVED, _ALREADY_WRITTEN = 0, 2  # script statuses besides 1 = done (see redis_scripts)


def _bytes(value: Any) -> bytes:
    """Replies are bytes, or str from a client made with decode_responses=True."""
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redact(url: str) -> str:
    """The URL without its password, fit for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    host = parts.hostname or ""
    netloc = user + (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def describe(client: Client) -> str:
    """A password-free URL naming the server a client talks to."""
    if isinstance(client, RedisCluster):
        node = client.get_default_node() or next(iter(client.startup_nodes), None)
        return f"redis://{node.host}:{node.port} (cluster)" if node else "redis cluster"
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    user = f"{kwargs['username']}@" if kwargs.get("username") else ""
    return f"redis://{user}{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _stored(checkpoint: SavedCheckpoint) -> bytes:
    return (checkpoint.parent_id or "").encode() + b"\0" + checkpoint.blob


def _decode(checkpoint_id: Any, stored: Any, record: Any) -> SavedCheckpoint:
    parent, _, blob = _bytes(stored).partition(b"\0")
    writes = decode_writes(_bytes(record)) if record else {}
    return SavedCheckpoint(_text(checkpoint_id), parent.decode() or None, blob, writes)


def _digest(writes: Mapping[str, bytes] | None) -> str:
    """What the scripts compare a head's writes record with ('' = no condition on the writes)."""
    return "" if writes is None else hashlib.sha1(encode_writes(writes)).hexdigest()


def _current(reply: Any) -> Head | None:
    """The head a conflict reply carries ({status, detail, head[, parent\0blob, writes]}), if any."""
    if len(reply) < 3:
        return None
    if not reply[2]:
        return Head(None)
    return Head(_decode(reply[2], reply[3], reply[4])) if len(reply) >= 5 and reply[3] else None


def _merged(old: Mapping[str, bytes], writes: Mapping[str, bytes], discard: Collection[str]) -> dict[str, bytes]:
    """The writes record after a save_writes, in the order SAVE_WRITES leaves it."""
    kept = {k: v for k, v in old.items() if k not in writes and k not in discard}
    kept.update(writes)
    return kept


class RedisSaver:
    """Checkpoints in Redis; `ttl` (seconds) expires a thread that has not been written for that long."""

    durable = True  # survives the process: the engine saves each finished task of a parallel step

    def __init__(self, client: Client, *, ttl: int | None = None, remember: int = 10_000) -> None:
        if ttl is not None and (not isinstance(ttl, int) or ttl <= 0):
            raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
        self.ttl = ttl
        self.remember = remember  # heads kept in memory (0: none, every run reads its thread first)
        self._heads = HeadMemory(remember)
        self._riders: dict[str, Rider] = {}
        self._url: str | None = None
        self._owned = False
        self._client: Client | None = None
        self._detect: tuple[str, dict[str, Any]] | None = None
        self._detect_lock = asyncio.Lock()
        self._use(client)

    @classmethod
    def from_url(cls, url: str, *, ttl: int | None = None, cluster: bool | None = None, remember: int = 10_000,
                 **options: Any) -> RedisSaver:
        """A saver owning a client for `url`; `options` go to the redis-py client (timeouts, pool size...)."""
        if cluster is None:
            saver = cls(Redis.from_url(url, **options), ttl=ttl, remember=remember)
            saver._detect = (url, options)
        else:
            client: Client = RedisCluster.from_url(url, **options) if cluster else Redis.from_url(url, **options)
            saver = cls(client, ttl=ttl, remember=remember)
        saver._owned = True
        saver._url = redact(url)
        return saver

    def _use(self, client: Client) -> None:
        self._client = client
        self._batcher = Batcher(client)
        self._save = client.register_script(SAVE)
        self._save_writes = client.register_script(SAVE_WRITES)
        self._load_head = client.register_script(LOAD_HEAD)
        self._history = client.register_script(HISTORY)

    @property
    def client(self) -> Client:
        assert self._client is not None
        return self._client

    @property
    def sent(self) -> tuple[int, int]:
        """(commands, network round trips) this saver has sent: concurrent commands share round trips."""
        return self._batcher.steps, self._batcher.round_trips

    @property
    def url(self) -> str:
        return self._url or describe(self.client)

    async def aclose(self) -> None:
        """Close the client if this saver made it (from_url); a client passed in stays the caller's."""
        if self._owned and self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> RedisSaver:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- talking to Redis ----------------------------------------------------------------------
    async def _ready(self) -> None:
        """On the first call of a from_url saver without `cluster=`, switch to a cluster client if needed."""
        if self._detect is None:
            return
        async with self._detect_lock:
            if self._detect is None:
                return
            url, options = self._detect
            info = await self.client.info("cluster")
            if info.get("cluster_enabled") in (1, "1"):
                await self.client.aclose()
                self._use(RedisCluster.from_url(url, **options))
            self._detect = None

    async def _send(self, *command: EncodableT) -> Any:
        """One command, batched with whatever else this saver sends meanwhile; its error is raised."""
        (reply,) = await self._batcher.run(command)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _eval(self, script: AsyncScript, keys: list[str], args: list[EncodableT]) -> Any:
        """EVALSHA through the pipeliner; a server that lacks the script (new, restarted) gets it loaded."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        (reply,) = await self._batcher.run(command)
        if isinstance(reply, NoScriptError):
            await self.client.script_load(script.script)
            (reply,) = await self._batcher.run(command)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _call(self, op: Callable[[], Awaitable[T]]) -> T:
        try:
            if self._detect is not None:
                await self._ready()
            return await op()
        except (RedisError, OSError) as exc:
            raise CheckpointerError(
                f"Redis at {self.url} failed ({type(exc).__name__}: {exc}). Nothing was half-written: "
                "the run can be retried once Redis answers again."
            ) from exc

    # -- the heads this process last saw -------------------------------------------------------
    def recall(self, thread_id: str, ns: str, *, unknown_is_new: bool = False) -> Head | None:
        """The head of (thread, ns) as this saver last read or wrote it; None if it does not remember
        (an empty head with `unknown_is_new`, unless `remember` is 0)."""
        known, head = self._heads.get((thread_id, ns))
        if not known:
            return Head(None) if unknown_is_new and self.remember > 0 else None
        return Head(head)

    def _note(self, thread_id: str, ns: str, head: SavedCheckpoint | None) -> None:
        self._heads.put((thread_id, ns), head)

    def _forget(self, thread_id: str, ns: str) -> None:
        self._heads.drop((thread_id, ns))

    def _conflict(self, thread_id: str, ns: str, message: str, reply: Any) -> CheckpointConflict:
        current = _current(reply)
        if current is None:
            self._forget(thread_id, ns)
        else:
            self._note(thread_id, ns, current.checkpoint)
        return CheckpointConflict(message, current)

    async def _write(self, thread_id: str, ns: str, script: AsyncScript, args: list[EncodableT],
                     extra_keys: list[str] | None = None) -> Any:
        """A write script's reply; if it cannot be had (the outcome is unknown), the head is forgotten."""
        script_keys = keys.thread_keys(thread_id) + (extra_keys or [])
        try:
            return await self._call(lambda: self._eval(script, script_keys, args))
        except BaseException:
            self._forget(thread_id, ns)
            raise

    # -- commands riding a thread's claims ----------------------------------------------------
    def ride_claims(self, thread_id: str, rider: Rider | None) -> None:
        """Until called again with None: every resume claim of the thread's root graph (an exclusive
        save_writes) first asks `rider` for commands, given the checkpoint it claims, and the claim's
        script runs them after its checks and before its write, so they land exactly when the claim
        does (and once, however often the claim is retried). `rider` raising stops the claim, nothing
        written. One run at a time holds a thread, so one rider per thread."""
        if rider is None:
            self._riders.pop(thread_id, None)
        else:
            self._riders[thread_id] = rider

    async def _rider_args(self, thread_id: str, checkpoint_id: str) -> tuple[list[str], list[EncodableT]]:
        rider = self._riders.get(thread_id)
        if rider is None:
            return [], []
        tag = keys.thread_tag(thread_id)
        rider_keys: list[str] = []
        args: list[EncodableT] = []
        for name, key, *rest in await rider(checkpoint_id):
            if not isinstance(key, str) or not key.startswith(tag + ":"):  # another slot: a Cluster would refuse the script
                raise CheckpointerError(f"A command riding a claim must use a key of the thread, not {key!r}")
            rider_keys.append(key)
            args += [len(rest), name, *rest]
        return rider_keys, args

    # -- the Checkpointer protocol -------------------------------------------------------------
    async def load(self, thread_id: str, ns: str, checkpoint_id: str | None = None) -> SavedCheckpoint | None:
        cp_key = keys.checkpoint_key(thread_id)
        if checkpoint_id is None:
            keys.check_names(ns)
            got = await self._call(lambda: self._eval(self._load_head, [cp_key], [ns]))
            head = _decode(*got) if got else None
            self._note(thread_id, ns, head)
            return head
        name = keys.member(ns, checkpoint_id)
        stored, record = await self._call(lambda: self._send("HMGET", cp_key, keys.BLOB + name, keys.WRITES + name))
        return _decode(checkpoint_id, stored, record) if stored is not None else None

    async def save(
        self,
        thread_id: str,
        ns: str,
        checkpoint: SavedCheckpoint,
        *,
        expected_head: str | None,
        then: SavedCheckpoint | None = None,
        expected_writes: Mapping[str, bytes] | None = None,
    ) -> None:
        chain = (checkpoint, then) if then is not None else (checkpoint,)
        if not all(saved.id for saved in chain):
            raise CheckpointerError("A checkpoint id cannot be empty")
        keys.check_names(ns, *(saved.id for saved in chain))
        args: list[EncodableT] = [ns, expected_head or "", _digest(expected_writes), checkpoint.id,
                                  _stored(checkpoint), self.ttl or 0]
        if then is not None:
            args += [then.id, _stored(then)]
        status = await self._write(thread_id, ns, self._save, args)
        if int(status[0]) == _HEAD_MOVED:
            found = _text(status[1]) or None
            why = "its pending writes changed" if found == expected_head else f"its head is {found!r}, not {expected_head!r}"
            raise self._conflict(thread_id, ns, f"Thread {thread_id!r} moved on: {why}", status)
        head = chain[-1]
        self._note(thread_id, ns, SavedCheckpoint(head.id, head.parent_id, head.blob))

    async def save_writes(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        writes: Mapping[str, bytes],
        *,
        exclusive: bool = False,
        discard: Collection[str] = (),
        expected_writes: Mapping[str, bytes] | None = None,
    ) -> None:
        keys.check_names(ns, checkpoint_id)
        args: list[EncodableT] = [ns, checkpoint_id, "1" if exclusive else "0", self.ttl or 0, encode_writes(writes),
                                  secrets.token_hex(8), encode_writes(dict.fromkeys(discard, b"")),
                                  _digest(expected_writes)]
        rider_keys: list[str] = []
        if exclusive and ns == "" and thread_id in self._riders:
            rider_keys, rider_args = await self._rider_args(thread_id, checkpoint_id)
            args += rider_args
        status = await self._write(thread_id, ns, self._save_writes, args, rider_keys)
        if int(status[0]) == _HEAD_MOVED:
            raise self._conflict(thread_id, ns, f"Thread {thread_id!r} moved on from checkpoint {checkpoint_id!r}", status)
        if int(status[0]) == _ALREADY_WRITTEN:
            raise self._conflict(
                thread_id, ns, f"Thread {thread_id!r}: this pause was already answered ({_text(status[1])})", status
            )
        _, known = self._heads.get((thread_id, ns))
        if known is not None and known.id == checkpoint_id:
            merged = _merged(known.writes, writes, discard)
            self._note(thread_id, ns, SavedCheckpoint(known.id, known.parent_id, known.blob, merged))
        else:  # a head this saver did not know: it would have to read it
            self._forget(thread_id, ns)

    async def history(
        self, thread_id: str, ns: str, *, limit: int | None = None, before: str | None = None
    ) -> list[SavedCheckpoint]:
        if limit is not None and limit <= 0:
            return []
        thread_keys = keys.thread_keys(thread_id)
        high, low = keys.history_range(ns, before)
        args: list[EncodableT] = [high, low, -1 if limit is None else limit]
        flat = await self._call(lambda: self._eval(self._history, thread_keys, args))
        prefix = len(keys.member(ns, "").encode())
        return [
            _decode(_bytes(flat[i])[prefix:], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)
        ]

    async def delete_thread(self, thread_id: str) -> None:
        # A thread's key set is fixed (keys.py), so one DEL removes every namespace atomically.
        thread_keys = keys.thread_keys(thread_id)
        self._heads.drop_thread(thread_id)
        try:
            await self._call(lambda: self._send("DEL", *thread_keys))
        finally:
            self._heads.drop_thread(thread_id)  # and what was written meanwhile
