"""Hostile or malformed API requests against a real `python -m bot serve` on a real Redis: each gets
a clear 4xx (never a 500) and changes nothing."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.api.conftest import running_server

pytestmark = pytest.mark.e2e  # starts Sluice processes

KEY = "hostile-test-key"
DEEP_LIST = "[" * 500 + "]" * 500
DEEP_OBJECT = '{"a":' * 500 + "1" + "}" * 500


@pytest.fixture(scope="module")
def server(redis_server: str) -> Iterator[str]:
    with running_server(REDIS_URL=redis_server, SLUICE_API_KEY=KEY) as url:
        yield url


def call(url: str, method: str, path: str, body: bytes | None = None, key: bytes = KEY.encode()) -> tuple[int, Any]:
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    try:
        conn.putrequest(method, path)
        conn.putheader("x-api-key", key)  # bytes: sent as they are, UTF-8 or not
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.strip() else None
    finally:
        conn.close()


async def _thread_ids(url: str) -> set[str]:
    client = get_client(url=url, api_key=KEY)
    return {t["thread_id"] for t in await client.threads.search(limit=1000)}


async def test_json_nested_500_deep_is_a_422_everywhere(server: str) -> None:
    before = await _thread_ids(server)
    thread_id = (await get_client(url=server, api_key=KEY).threads.create())["thread_id"]
    for path, body in [
        ("/threads", '{"metadata":' + DEEP_OBJECT + "}"),
        ("/threads/search", '{"metadata":' + DEEP_OBJECT + "}"),
        (f"/threads/{thread_id}/runs/wait", '{"assistant_id":"agent","input":{"some_text":' + DEEP_LIST + "}}"),
        (f"/threads/{thread_id}/runs", '{"assistant_id":"agent","input":' + DEEP_OBJECT + "}"),
        (f"/threads/{thread_id}/state", '{"values":' + DEEP_OBJECT + "}"),
        ("/threads", "[" * 100_000),  # deeper than Python's recursion limit
    ]:
        status, answer = call(server, "POST", path, body.encode())
        assert status == 422, (path, status, answer)
        assert "nested deeper" in answer["detail"] or "Invalid JSON" in answer["detail"]
    assert await _thread_ids(server) == before | {thread_id}  # nothing else was created
    runs = await get_client(url=server, api_key=KEY).runs.list(thread_id)
    assert runs == []


async def test_a_non_utf8_api_key_is_refused_not_a_500(server: str) -> None:
    for key in (b"\xff\xfe\xfd", "h\u00e9".encode("latin-1"), KEY.encode() + b"\x80"):
        status, answer = call(server, "GET", "/threads/search", key=key)
        assert status == 401, (key, status, answer)
    assert call(server, "POST", "/threads/search", b"{}")[0] == 200  # the right key still works


async def test_a_checkpoint_that_does_not_exist_is_a_404(server: str) -> None:
    client = get_client(url=server, api_key=KEY)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    status, answer = call(server, "GET", f"/threads/{thread_id}/state/not-a-checkpoint")
    assert status == 404 and "not-a-checkpoint" in answer["detail"]
    status, _ = call(server, "POST", f"/threads/{thread_id}/state/checkpoint",
                     json.dumps({"checkpoint": {"checkpoint_id": "not-a-checkpoint"}}).encode())
    assert status == 404
    head = await client.threads.get_state(thread_id)
    status, answer = call(server, "GET", f"/threads/{thread_id}/state/{head['checkpoint_id']}")
    assert status == 200 and answer["checkpoint_id"] == head["checkpoint_id"]


@pytest.mark.parametrize(
    "thread_id",
    [
        "<!channel> <https://evil.example|https://bank.example>",
        "a|b",
        "has space",
        "not-a-uuid",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234-56781234567\n",  # 31 digits and a line break: uuid.UUID reads it
    ],
)
async def test_thread_ids_in_the_path_must_be_uuids(server: str, thread_id: str) -> None:
    before = await _thread_ids(server)
    quoted = urllib.parse.quote(thread_id, safe="")
    body = json.dumps({"assistant_id": "agent", "input": {"some_text": "x"}, "if_not_exists": "create"}).encode()
    for method, path, data in [
        ("POST", f"/threads/{quoted}/runs/wait", body),
        ("POST", f"/threads/{quoted}/runs", body),
        ("GET", f"/threads/{quoted}", None),
        ("GET", f"/threads/{quoted}/state", None),
        ("PATCH", f"/threads/{quoted}", b'{"metadata":{}}'),
    ]:
        status, answer = call(server, method, path, data)
        assert status == 422 and answer["detail"] == "Invalid thread ID: must be a UUID", (method, path, answer)
    assert await _thread_ids(server) == before


async def test_run_ids_in_the_path_must_be_uuids(server: str) -> None:
    thread_id = (await get_client(url=server, api_key=KEY).threads.create())["thread_id"]
    status, answer = call(server, "GET", f"/threads/{thread_id}/runs/{urllib.parse.quote('<!here>', safe='')}")
    assert status == 422 and answer["detail"] == "Invalid run ID: must be a UUID"


async def test_command_goto_an_unknown_node_is_ignored_as_langgraph_does(server: str) -> None:
    client = get_client(url=server, api_key=KEY)
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    assert "__interrupt__" in paused
    done = await client.runs.wait(thread_id, "agent", command={"resume": "revised", "goto": "no_such_node"})
    assert done == {"some_text": "revised"}
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "idle"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"config": {"configurable": {"slack_channel": "two words"}}}, "config.configurable.slack_channel"),
        ({"config": {"configurable": {"sluice": {"slack_channel": "<#C0123|general>"}}}}, "slack_channel"),
        ({"metadata": {"slack_channel": "@ana"}}, "metadata.slack_channel"),
    ],
)
async def test_a_slack_channel_that_names_no_channel_is_a_422(server: str, body: dict[str, Any], named: str) -> None:
    """A channel is an id or a name; text that can be neither (spaces, a mention's markup) would post
    nowhere, so the run is refused before it starts, naming the field."""
    thread_id = (await get_client(url=server, api_key=KEY).threads.create())["thread_id"]
    run = {"assistant_id": "agent", "input": {"some_text": "draft"}, **body}
    status, answer = call(server, "POST", f"/threads/{thread_id}/runs/wait", json.dumps(run).encode())
    assert status == 422 and named in answer["detail"] and "name" in answer["detail"], (status, answer)
    assert (await get_client(url=server, api_key=KEY).runs.list(thread_id)) == []  # nothing ran


async def test_a_checkpoint_id_that_is_not_on_the_thread_is_refused_before_the_run(server: str) -> None:
    """A typo in checkpoint_id used to start a run that failed at once (ConfigError) and left a paused
    thread in `error`; now: not a UUID is a 422 (as langgraph dev answers), a UUID not on the thread
    a 404, and the thread is as it was."""
    client = get_client(url=server, api_key=KEY)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    runs_before = await client.runs.list(thread_id)
    cases = [({"checkpoint_id": "garbage"}, 422, "Invalid checkpoint ID"),
             ({"checkpoint": {"checkpoint_id": "garbage"}}, 422, "Invalid checkpoint ID"),
             ({"checkpoint_id": "1f0c0000-0000-6000-8000-000000000000"}, 404, "not found")]
    for extra, code, said in cases:
        run = {"assistant_id": "agent", "input": {"some_text": "again"}, **extra}
        status, answer = call(server, "POST", f"/threads/{thread_id}/runs/wait", json.dumps(run).encode())
        assert status == code and said in answer["detail"], (extra, status, answer)
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted" and thread["error"] is None
    assert await client.runs.list(thread_id) == runs_before
