"""The lean HTTP/1.1 client of the Web API calls (`bot.slack.http1`), against a raw asyncio server
that answers each request as the test scripts it: framings, kept and closed connections, faults."""

from __future__ import annotations

import asyncio
import gzip
import os
import select
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.slack.http1 import Dropped, Http1, Malformed, NotSent
from bot.slack.pause import Placement
from bot.slack.web import SlackCalls, make_client
from tests.waiting import eventually

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]  # False: close the connection
OK = b'{"ok":true,"ts":"1.2"}'


class Raw:
    """A server answering the n-th request with `answers[n]`; counts connections and requests."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/api/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers[len(self.requests) - 1]
                if not await answer(reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def sends(*parts: bytes, keep: bool = True) -> Answer:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        for part in parts:  # each part its own write: the client sees the answer arrive in pieces
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0)
        return keep

    return answer


def length(body: bytes = OK, headers: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    server = Raw()
    await server.start()
    yield server
    assert server.server is not None
    server.server.close()


def post(http: Http1, body: bytes = b"{}") -> bytes:
    return http.request_bytes("POST", "/api/chat.update", {"Content-Type": "application/json"}, body)


async def test_answers_by_length_on_one_kept_connection(raw: Raw) -> None:
    raw.answers = [sends(length()), sends(length()[:30], length()[30:])]
    http = Http1(raw.url, 5)
    first = await http.call(post(http, b'{"a":1}'))
    second = await http.call(post(http))
    http.close()
    assert (first.status, first.body, second.body) == (200, OK, OK)
    assert first.headers["content-type"] == "application/json" and raw.connections == 1
    host = f"Host: {raw.url.split('/')[2]}".encode()
    assert raw.requests[0].startswith(b"POST /api/chat.update HTTP/1.1\r\n" + host + b"\r\n")
    assert raw.requests[0].endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


async def test_a_chunked_answer_in_pieces(raw: Raw) -> None:
    body = b'{"ok":true,"text":"' + b"x" * 5000 + b'"}'
    chunked = b"".join(b"%x;ext=1\r\n%b\r\n" % (len(body[i : i + 1000]), body[i : i + 1000]) for i in range(0, len(body), 1000))
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw.answers = [sends(head, chunked[:1500], chunked[1500:], b"0\r\nX-Trailer: 1\r\n\r\n"), sends(length())]
    http = Http1(raw.url, 5)
    assert (await http.call(post(http))).body == body
    assert (await http.call(post(http))).body == OK
    http.close()
    assert raw.connections == 1


async def test_an_answer_read_to_the_connections_end_is_not_kept(raw: Raw) -> None:
    raw.answers = [sends(b"HTTP/1.1 200 OK\r\n\r\n", OK, keep=False), sends(length(headers="Connection: close\r\n")),
                   sends(length())]
    http = Http1(raw.url, 5)
    assert (await http.call(post(http))).body == OK
    assert (await http.call(post(http))).body == OK
    assert (await http.call(post(http))).body == OK
    http.close()
    assert raw.connections == 3  # one per answer that said it closes


async def test_interim_answers_and_gzip(raw: Raw) -> None:
    packed = gzip.compress(OK)
    raw.answers = [sends(b"HTTP/1.1 100 Continue\r\n\r\n", length(packed, "Content-Encoding: gzip\r\n"))]
    http = Http1(raw.url, 5)
    assert (await http.call(post(http))).body == OK
    http.close()


async def test_a_connection_the_server_closed_while_idle_is_not_used(raw: Raw) -> None:
    raw.answers = [sends(length(), keep=False), sends(length())]  # closed right after its answer
    http = Http1(raw.url, 5)
    await http.call(post(http))
    kept = list(http._idle)
    await eventually(lambda: _true(all(c.closed for c in kept)), what="the client saw the close")
    assert (await http.call(post(http))).body == OK
    http.close()
    assert raw.connections == 2


async def test_faults_fail_the_call_and_the_connection(raw: Raw) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(length()[:20])
        await writer.drain()
        writer.transport.abort()
        return False

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await reader.read()  # never answers (until the client goes)
        return False

    raw.answers = [reset, sends(b"SMTP ready\r\n\r\n"), silent, sends(length())]
    http = Http1(raw.url, 0.3)
    with pytest.raises(Dropped) as dropped:
        await http.call(post(http))
    assert not isinstance(dropped.value, NotSent)  # the server had the request
    with pytest.raises(Malformed):
        await http.call(post(http))
    started = asyncio.get_running_loop().time()
    with pytest.raises(TimeoutError):
        await http.call(post(http))
    assert asyncio.get_running_loop().time() - started < 2
    assert (await http.call(post(http))).body == OK  # on a new connection: the failed ones are closed
    http.close()
    assert raw.connections == 4


async def test_a_cancelled_call_closes_its_connection(raw: Raw) -> None:
    answered = asyncio.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await answered.wait()
        writer.write(length())
        return True

    raw.answers = [late, sends(length())]
    http = Http1(raw.url, 5)
    call = asyncio.ensure_future(http.call(post(http)))
    await eventually(lambda: _true(len(raw.requests) == 1), what="the request arrived")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    answered.set()
    assert (await http.call(post(http))).body == OK  # not the late answer of the cancelled call
    http.close()
    assert raw.connections == 2


async def test_an_unreachable_origin_is_dropped() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    http = Http1(f"http://127.0.0.1:{port}/api/", 5)
    with pytest.raises(NotSent, match="ConnectionRefusedError"):
        await http.call(post(http))


async def test_a_kept_connection_closed_before_the_request_is_replaced_not_failed() -> None:
    """The server closed a kept connection and its close is on the socket, not yet read by the loop
    (the loop is busy): the request goes on a new connection, once, instead of failing there."""
    served = ThreadServer()
    http = Http1(served.url, 5)
    assert (await http.call(post(http))).body == OK
    served.close_kept.set()
    kept = http._idle[0].transport.get_extra_info("socket")  # type: ignore[union-attr]
    readable, _, _ = select.select([kept.fileno()], [], [], 5)  # the close arrived; the loop has not run since
    assert readable
    assert (await http.call(post(http))).body == OK
    http.close()
    served.stop()
    assert len(served.requests) == 2  # the second on a connection of its own


async def test_a_connection_idle_too_long_is_not_reused(raw: Raw) -> None:
    """Past `max_idle_s` a kept connection may be about to be closed by the server as the request
    crosses its close (a post that then may not be sent again): a new connection carries it."""
    raw.answers = [sends(length()), sends(length())]
    http = Http1(raw.url, 5, max_idle_s=0.0)
    assert (await http.call(post(http))).body == OK
    kept = list(http._idle)
    assert (await http.call(post(http))).body == OK
    http.close()
    assert raw.connections == 2 and kept[0].closed


async def test_a_kept_connection_past_descriptor_1023_is_reused(raw: Raw) -> None:
    """A busy server holds over a thousand descriptors: taking a kept connection numbered past 1023
    works (select() would refuse it)."""
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        raw.answers = [sends(length()), sends(length())]
        http = Http1(raw.url, 5)
        assert (await http.call(post(http))).body == OK
        assert http._idle[0].transport.get_extra_info("socket").fileno() > 1023  # type: ignore[union-attr]
        assert (await http.call(post(http))).body == OK
        http.close()
        assert raw.connections == 1
    finally:
        for fd in fillers:
            os.close(fd)


async def test_a_post_whose_answer_was_lost_is_not_sent_again_a_read_is(raw: Raw) -> None:
    """Once the request may have reached Slack, repeating a post could do it twice (a second pause
    message): it is reported failed. A read is repeated."""
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.transport.abort()
        return False

    link = b'{"ok":true,"permalink":"https://x/p1"}'
    raw.answers = [drop, drop, sends(length(link))]
    calls = SlackCalls(make_client("xoxb-t", raw.url))
    assert await calls.post(Placement("C1"), "hi", [], "thread-1") is None
    assert len(raw.requests) == 1 and raw.requests[0].startswith(b"POST /api/chat.postMessage HTTP/1.1\r\n")
    assert await calls.permalink("C1", "1.2", "thread-1") == "https://x/p1"
    await calls.aclose()
    assert len(raw.requests) == 3 and raw.requests[2].startswith(b"GET /api/chat.getPermalink?channel=C1&")
    assert b"Authorization: Bearer xoxb-t\r\n" in raw.requests[2]


async def test_an_update_whose_answer_was_lost_is_sent_again(raw: Raw) -> None:
    """chat.update sets the message to the given content: sent twice, the message is the same, so a
    connection lost after it went out does not lose the update (the decided message keeps no buttons)."""
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.transport.abort()
        return False

    raw.answers = [drop, sends(length(b'{"ok":true,"ts":"1.2"}'))]
    calls = SlackCalls(make_client("xoxb-t", raw.url))
    assert await calls.update("C1", "1.2", "decided", [], "thread-1") is True
    await calls.aclose()
    assert len(raw.requests) == 2
    assert all(r.startswith(b"POST /api/chat.update HTTP/1.1\r\n") for r in raw.requests)
    assert raw.requests[0].split(b"\r\n\r\n", 1)[1] == raw.requests[1].split(b"\r\n\r\n", 1)[1]


class ThreadServer:
    """An HTTP server on its own thread answering one request a connection, closing it once
    `close_kept` is set: the close reaches the client whatever the client's loop is doing."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/"
        self.close_kept = threading.Event()
        self.requests: list[int] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(2):
            conn, _ = self.sock.accept()
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(65536)
                self.requests.append(1)
                conn.sendall(length())
                self.close_kept.wait(5)  # then closed: the server's idle timeout

    def stop(self) -> None:
        self.thread.join(5)
        self.sock.close()


async def _true(value: bool) -> bool:
    return value
