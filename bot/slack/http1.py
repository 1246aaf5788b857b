"""A lean HTTP/1.1 client for the Web API calls every click makes (`bot.slack.web.SlackCalls`).

aiohttp's client costs about 110-160 µs of CPU a call (its request and response objects, cookie
jar, tracing hooks, timers, its stream reader); a click makes five such calls. Here a call is one
write of a prepared request on a kept connection and one `asyncio.Protocol` that parses the answer
as it arrives (status line, headers, then a body framed by Content-Length, chunks, or the
connection's end), about 40 µs. What the Web API needs and no more: no cookies, no redirects, no
proxy (the kept aiohttp session used none either), no compression asked for (a compressed answer
is still read).

Connections are kept per event loop, the most recently used first, for MAX_IDLE_S at most. A
connection the server closed while idle is dropped when noticed, at the latest as it is taken (its
socket is readable: the server's close came, or bytes nobody asked for). A failure is told apart by whether the request can
have reached the server: `NotSent` (refused, or found closed before a byte was written) may be sent
again whatever it asks; `Dropped` after it went out may not, unless repeating it is harmless (a
chat.postMessage sent twice is two messages). Every call is bounded by `timeout_s`, its
connecting included (one loop timer per call, `TimeoutError`); a connection whose call timed out or
was cancelled mid-answer is closed, never reused.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import urllib.parse
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # status line and headers of an answer
MAX_BODY = 64 * 1024 * 1024
MAX_IDLE = 64  # kept connections per client
# A connection idle this long is closed rather than reused: a server closes idle ones after a while
# (commonly 60 s or more), and a request written as its close crosses it fails after it went out,
# which a post may not be sent again for. Well under that, no request meets such a close.
MAX_IDLE_S = 30.0


class HttpError(Exception):
    """An answer that could not be read (`Malformed`) or a connection that failed (`Dropped`)."""


class Dropped(HttpError, ConnectionError):
    """The connection failed (reset, closed) after the request went out, before the whole answer
    came: the server may have received the request and acted on it."""


class NotSent(Dropped):
    """The connection failed before any byte of the request was written (refused, or closed by the
    server as it was taken): the server cannot have received it, so it may be sent again."""


class Malformed(HttpError):
    """The server's answer is not HTTP/1.x as this client reads it."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case; the last of repeated ones
    body: bytes


class _Connection(asyncio.Protocol):
    """One connection; one call on it at a time. Parses the answer as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0  # the loop's time when its last answer came (kept connections)
        self._waiter: asyncio.Future[Answer] | None = None
        self._buffer = bytearray()
        self._status = 0
        self._headers: dict[str, str] = {}
        self._keep_alive = False
        self._framing = ""  # "length", "chunked" or "close", once the head is read
        self._length = 0
        self._chunks: list[bytes] = []

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():  # nothing asked: the connection is out of step
            self.close()
            return
        self._buffer += data
        try:
            self._parse()
        except HttpError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; `connection_lost` finishes a body read to the end

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._waiter is None or self._waiter.done():
            return
        if self._framing == "close" and exc is None:
            try:
                self._finish(bytes(self._buffer))
            except HttpError as error:
                self._fail(error)
            return
        why = f"{type(exc).__name__}: {exc}" if exc is not None else "closed by the server"
        self._fail(Dropped(f"connection lost after the request was sent, before the whole answer ({why})"))

    # --- a call ---------------------------------------------------------------------------------

    def send(self, request: bytes, waiter: asyncio.Future[Answer]) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self._buffer.clear()
        self._framing = ""
        self.reusable = False
        if waiter.done():  # its deadline came while connecting: nothing goes out
            return
        if self.closed or self.transport.is_closing():  # closed by the server as it was taken
            self._fail(NotSent("connection closed by the server before the request was sent"))
            return
        self.transport.write(request)

    def idle_and_open(self) -> bool:
        """Whether this kept connection can carry a request: open, and nothing to read on it (an idle
        connection's socket turns readable when the server closed it, a close this loop may not have
        read yet)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()  # not select.select: it refuses descriptors past 1023, common in a busy server
        poller.register(sock.fileno(), select.POLLIN)
        return not poller.poll(0)

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(Dropped("connection closed"))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _finish(self, body: bytes) -> None:
        encoding = self._headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "deflate"):
            try:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
            except zlib.error as exc:
                raise Malformed(f"a {encoding} body that does not decompress: {exc}") from None
        self.reusable = self._keep_alive and not self._buffer and not self.closed
        assert self._waiter is not None
        self._waiter.set_result(Answer(self._status, self._headers, body))

    # --- parsing ------------------------------------------------------------------------------------

    def _parse(self) -> None:
        while True:
            if not self._framing:
                if not self._parse_head():
                    return
                continue
            if self._framing == "length":
                if len(self._buffer) < self._length:
                    return
                body = bytes(self._buffer[: self._length])
                del self._buffer[: self._length]
                self._finish(body)
                return
            if self._framing == "chunked":
                self._parse_chunks()
                return
            if len(self._buffer) > MAX_BODY:  # "close": read until the server closes
                raise Malformed("answer body too large")
            return

    def _parse_head(self) -> bool:
        """Reads the status line and headers; False until all of them are here."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise Malformed("answer head too large")
            return False
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise Malformed(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise Malformed(f"not a header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:  # an interim answer (100 Continue...): the real one follows
            return True
        self._status, self._headers = status, headers
        connection = headers.get("connection", "").lower()
        self._keep_alive = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        if status in (204, 304):
            self._framing, self._length = "length", 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._framing = "chunked"
            self._chunks = []
        elif "content-length" in headers:
            try:
                self._length = int(headers["content-length"])
            except ValueError:
                raise Malformed(f"Content-Length {headers['content-length'][:40]!r}") from None
            if not 0 <= self._length <= MAX_BODY:
                raise Malformed(f"Content-Length {self._length} out of bounds")
            self._framing = "length"
        else:
            self._framing = "close"
            self._keep_alive = False
        return True

    def _parse_chunks(self) -> bool:
        """Reads the chunks here so far; True once the last one (and its trailers) is read."""
        while True:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise Malformed("chunk size line too long")
                return False
            size_text = bytes(self._buffer[:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise Malformed(f"chunk size {size_text[:20]!r}") from None
            if size == 0:  # the last chunk: trailers (ignored) up to an empty line
                trailers_end = self._buffer.find(b"\r\n\r\n", line_end)
                if trailers_end < 0:
                    return False
                del self._buffer[: trailers_end + 4]
                self._finish(b"".join(self._chunks))
                return True
            if sum(map(len, self._chunks)) + size > MAX_BODY:
                raise Malformed("answer body too large")
            if len(self._buffer) < line_end + 2 + size + 2:
                return False
            start = line_end + 2
            self._chunks.append(bytes(self._buffer[start : start + size]))
            if self._buffer[start + size : start + size + 2] != b"\r\n":
                raise Malformed("chunk not followed by CRLF")
            del self._buffer[: start + size + 2]


class Http1:
    """Calls to one origin (`base_url`'s scheme, host and port), on kept connections."""

    def __init__(self, base_url: str, timeout_s: float, ssl_context: ssl.SSLContext | None = None,
                 max_idle_s: float = MAX_IDLE_S) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_idle_s = max_idle_s
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        default_port = self._port == (443 if url.scheme == "https" else 80)
        name = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
        self._host_header = name if default_port else f"{name}:{self._port}"
        self._ssl = (ssl_context or ssl.create_default_context()) if url.scheme == "https" else None
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def request_bytes(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
        """The request as it goes on the wire (`target`: the path and query, already encoded)."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def call(self, request: bytes) -> Answer:
        """Sends `request` (`request_bytes`) and returns the answer; NotSent, Dropped, Malformed or TimeoutError."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections belong to the loop that made them
            self._idle = []
            self._loop = loop
        waiter: asyncio.Future[Answer] = loop.create_future()
        timer = loop.call_later(self.timeout_s, _expire, waiter, self.timeout_s)
        connection: _Connection | None = None
        try:
            connection = self._take(loop.time())
            if connection is None:
                connection = await self._connect(loop)
            connection.send(request, waiter)
            answer = await waiter
        except BaseException:  # timed out, failed or cancelled mid-call: its answer may still come
            if connection is not None:
                connection.close()
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # retrieved (a deadline that came while connecting failed too)
            raise
        finally:
            timer.cancel()
        if connection.reusable and len(self._idle) < MAX_IDLE:
            connection.idle_since = loop.time()
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def _take(self, now: float) -> _Connection | None:
        """The most recently used kept connection still fit to carry a request; the others met on the way are closed."""
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since < self.max_idle_s and connection.idle_and_open():
                return connection
            connection.close()
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        """A new connection (rare: the kept ones serve the calls after the first few), bounded on its own."""
        try:
            async with asyncio.timeout(self.timeout_s):
                _, connection = await loop.create_connection(
                    _Connection, self._host, self._port, ssl=self._ssl, server_hostname=self._host if self._ssl else None
                )
        except TimeoutError:
            raise TimeoutError(f"could not connect to {self._host}:{self._port} within {self.timeout_s} s") from None
        except OSError as exc:
            raise NotSent(f"could not connect to {self._host}:{self._port} ({type(exc).__name__}: {exc})") from exc
        return connection

    def close(self) -> None:
        """Closes the kept connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _expire(waiter: asyncio.Future[Answer], timeout_s: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no answer within {timeout_s} s"))
