"""Automatic pipelining: Redis steps asked for while a batch is on the wire leave together as the next one.

A step is one command or a few that must reach Redis in order (a lease-index entry before the
queue entry it guards). A step asked for while nothing is on the wire leaves at once, so latency
stays one round trip; steps asked for while a batch is on the wire leave together as the next
batch, each in its own order, on one pipeline. Under load, a hundred threads' commands then cost a
few network exchanges instead of a hundred, and redis-py's per-call Python (pool checkout, retry
wrapper, hooks: ~100 µs) is paid per batch. The checkpointer sends each command as a step of one;
the service (bot.runs, bot.audit, bot.slack) sends its bookkeeping through the same mechanism.

Replies come back per step, errors included as values (`raise_on_error=False`), so one step's
failed command never fails another step of the batch. A batch whose connection fails fails
every step in it (redis-py has retried it by then: every script sent this way is safe to run twice).
"""

from __future__ import annotations

import asyncio
import inspect
import math
from typing import Any

try:  # redis[hiredis] (a dependency): its packer is C
    import hiredis

    _c_pack: Any = hiredis.pack_command
except (ImportError, AttributeError):  # pragma: no cover (hiredis < 2.1 has no packer)
    _c_pack = None
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio import Redis
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

Command = tuple[Any, ...]


# RESP's length lines for the usual sizes, made once: most of a command's arguments are short.
_COUNTS = [b"*%d\r\n" % n for n in range(64)]
_SIZES = [b"$%d\r\n" % n for n in range(1024)]


def pack(conn: Any, commands: tuple[Command, ...]) -> bytes:
    """The commands in RESP, as redis-py writes them: by hiredis's packer (C, a third of the time
    of `pack_in_python`) when the connection writes text as strict UTF-8 and the arguments are
    plain (str, bytes, int, float, as this package sends them); by `pack_in_python` when a command
    name has two words, which redis-py sends as two arguments, or an argument is anything else (a
    bool, which hiredis refuses, is refused there as redis-py refuses it)."""
    encoder = conn.encoder
    if _c_pack is not None and encoder.encoding.lower() in ("utf-8", "utf8") and encoder.encoding_errors == "strict":
        packed: list[bytes] = []
        try:
            for command in commands:
                name = command[0]
                if type(name) is str and " " in name:
                    break
                packed.append(_c_pack(command))
            else:
                return b"".join(packed)
        except TypeError:
            pass
    return pack_in_python(conn, commands)


def pack_in_python(conn: Any, commands: tuple[Command, ...]) -> bytes:
    """The commands in RESP, as redis-py's `conn.pack_commands` writes them, in about a fifth of its
    time for the arguments sent here (bytes, str, int): it looks at each argument's type once, takes
    its length line ready-made, and copies each argument once, into the joined message. Anything else
    (a float, a memoryview, a command name of two words) is left to redis-py's encoder and packer, so
    the bytes on the wire are the same."""
    out: list[bytes] = []
    append = out.append
    encoding, errors = conn.encoder.encoding, conn.encoder.encoding_errors
    for command in commands:
        name = command[0]
        if not isinstance(name, str) or " " in name:
            out += conn.pack_command(*command)
            continue
        count = len(command)
        append(_COUNTS[count] if count < 64 else b"*%d\r\n" % count)
        for arg in command:
            kind = type(arg)
            if kind is str:
                arg = arg.encode(encoding, errors)
            elif kind is not bytes:
                if isinstance(arg, bytes):
                    pass
                elif isinstance(arg, str):
                    arg = arg.encode(encoding, errors)
                elif kind is int:  # not a bool, which redis-py refuses
                    arg = b"%d" % arg
                else:
                    arg = conn.encoder.encode(arg)
            size = len(arg)
            append(_SIZES[size] if size < 1024 else b"$%d\r\n" % size)
            append(arg)
            append(b"\r\n")
    return b"".join(out)


class Batcher:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._queue: list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._direct = 0  # steps sent on their own, still waiting for their replies
        # On one server, the step sent alone and the batch on the wire each keep a pooled connection
        # of their own (at most one of each is in flight), which skips redis-py's per-call checkout,
        # retry wrapper and hooks (~40 of its ~90 µs); a failed connection hands the exchange to
        # redis-py's path, which reconnects and retries. A Cluster client always takes that path.
        self._own_connections = isinstance(client, Redis)
        self._connections: dict[str, Any] = {}
        # The replies awaited on those connections are bounded by the connection's socket_timeout
        # through one watchdog (a timer every quarter of it, armed while replies are awaited) instead
        # of an asyncio.timeout per reply: it cancels an exchange past its deadline, which then fails
        # with redis-py's TimeoutError (after between 1 and 1.25 times the deadline) as a reply
        # that never came does on redis-py's own path.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self.steps = 0  # sent so far, and in how many network exchanges (for the bench)
        self.round_trips = 0

    async def run(self, *commands: Command) -> list[Any]:
        """Sends the step's commands, in order, and returns their replies (exceptions as values)."""
        self.steps += 1
        if self._direct == 0 and self._sender is None:
            self._direct += 1
            self.round_trips += 1
            try:
                return await self._exchange(commands)
            finally:
                self._direct -= 1
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((commands, future))
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_all())
        return await future

    async def _exchange(self, commands: tuple[Command, ...], lane: str = "direct") -> list[Any]:
        if self._own_connections:
            try:
                conn = self._connections.get(lane)
                if conn is None:
                    conn = self._connections[lane] = await self.client.connection_pool.get_connection()
                return await self._on(conn, commands)
            except (ConnectionError, TimeoutError, OSError):  # redis-py's own path reconnects and retries
                await self._drop(lane)
            except BaseException:  # cancelled mid-exchange: its reply would be the next one read there
                await self._drop(lane)
                raise
        if len(commands) == 1:  # a lone command: quicker than a pipeline of one
            try:
                return [await self.client.execute_command(*commands[0])]
            except ResponseError as exc:  # the command's own error (a script missing...): a reply, as in a pipeline
                return [exc]
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute(raise_on_error=False))

    async def _on(self, conn: Any, commands: tuple[Command, ...]) -> list[Any]:
        """The commands on a connection of this batcher's own: written at once, replies read in order."""
        await conn.send_packed_command(pack(conn, commands), check_health=False)
        limit = conn.socket_timeout
        task = asyncio.current_task()
        if not limit or task is None:
            return [await self._reply(conn, command[0], watched=False) for command in commands]
        loop = asyncio.get_running_loop()
        self._deadlines[task] = loop.time() + limit
        if self._watchdog is None:
            self._watchdog = loop.call_later(limit / 4, self._check, limit / 4)
        try:
            if type(conn._parser) is _AsyncHiredisParser:
                return await self._hiredis_replies(conn._parser, commands)
            return [await self._reply(conn, command[0], watched=True) for command in commands]
        except asyncio.CancelledError:
            if task in self._expired and task.uncancel() == 0:  # the watchdog's, not the caller's
                await conn.disconnect(nowait=True)  # its reply may still come: the connection is done
                raise TimeoutError(f"Timeout reading from Redis after {limit} s") from None
            raise
        finally:
            self._deadlines.pop(task, None)
            self._expired.discard(task)

    async def _reply(self, conn: Any, name: Any, *, watched: bool) -> Any:
        """One reply, as `Redis.parse_response` gives it (its response callback applied); a command's
        own error is returned, not raised. `watched`: bounded by the watchdog, so no timer of its own
        (redis-py reads with no deadline when told math.inf)."""
        try:
            reply = await conn.read_response(timeout=math.inf if watched else None)
        except ResponseError as exc:
            return exc
        callback = self.client.response_callbacks.get(name)
        if callback is None:
            return reply
        reply = callback(reply)
        return await reply if inspect.isawaitable(reply) else reply

    async def _hiredis_replies(self, parser: Any, commands: tuple[Command, ...]) -> list[Any]:
        """The replies read straight from redis-py's hiredis reader, as `_reply` gives them (and as
        redis-py's read_response does: a RESP3 push message between them goes to its handler, an error
        that means the connection is lost raises), without the three coroutine layers and the error
        text redis-py builds per reply: about 130K instructions less per seed cycle. A socket that
        fails raises here; `_exchange` then drops the connection, as redis-py would. Bounded by the
        watchdog, as `_reply`."""
        if not parser._connected:
            raise ConnectionError("Connection closed by server.")
        reader, callbacks, out = parser._reader, self.client.response_callbacks, []
        push = getattr(parser, "_hiredis_PushNotificationType", None)  # hiredis >= 3.2
        for command in commands:
            reply = reader.gets()
            while reply is NOT_ENOUGH_DATA or (push is not None and isinstance(reply, push)):
                if reply is NOT_ENOUGH_DATA:
                    await parser.read_from_socket()
                else:  # a RESP3 push message between replies: its handler, then the reply
                    await parser.handle_push_response(reply)
                reply = reader.gets()
            if isinstance(reply, ConnectionError):
                raise reply
            if isinstance(reply, list) and reply and isinstance(reply[0], ConnectionError):
                raise reply[0]
            if not isinstance(reply, ResponseError):
                callback = callbacks.get(command[0])
                if callback is not None:
                    reply = callback(reply)
                    if inspect.isawaitable(reply):
                        reply = await reply
            out.append(reply)
        return out

    def _check(self, period: float) -> None:
        """The watchdog: cancels the exchanges past their deadline; stays armed while any is awaited."""
        self._watchdog = None
        now = asyncio.get_running_loop().time()
        for task, deadline in self._deadlines.items():
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if self._deadlines:
            self._watchdog = asyncio.get_running_loop().call_later(period, self._check, period)

    async def _drop(self, lane: str) -> None:
        conn = self._connections.pop(lane, None)
        if conn is not None:
            await conn.disconnect(nowait=True)
            await self.client.connection_pool.release(conn)

    async def _send_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                self.round_trips += 1
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[tuple[Command, ...], asyncio.Future[list[Any]]]]) -> None:
        flat = tuple(command for commands, _ in batch for command in commands)
        try:
            replies = await self._exchange(flat, "batch")
        except Exception as exc:  # the connection failed: every step of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        at = 0
        for commands, future in batch:
            mine, at = replies[at : at + len(commands)], at + len(commands)
            if not future.done():  # its caller may have given up waiting
                future.set_result(mine)

