"""The rest of langgraph_sdk's client surface against the real server: counts, paging bounds, and
features Sluice leaves out answering a JSON error that says so."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

pytestmark = pytest.mark.e2e  # starts Sluice processes


@pytest.fixture
def client(server_url: str) -> Any:
    return get_client(url=server_url)


async def test_assistants_count_uses_the_search_filters(client: Any) -> None:
    everything = await client.assistants.search(limit=1000)
    assert await client.assistants.count() == len(everything) > 1
    assert await client.assistants.count(graph_id="agent") == 1
    assert await client.assistants.count(graph_id="nope") == 0
    assert await client.assistants.count(metadata={"created_by": "system"}) == len(everything)
    assert await client.assistants.count(metadata={"created_by": "someone"}) == 0


async def test_threads_count_uses_the_search_filters(client: Any) -> None:
    team = str(uuid.uuid4())
    first = (await client.threads.create(metadata={"team": team}))["thread_id"]
    await client.threads.create(metadata={"team": team})
    await client.runs.wait(first, "agent", input={"some_text": "draft"})
    assert await client.threads.count(metadata={"team": team}) == 2
    assert await client.threads.count(metadata={"team": team}, status="interrupted") == 1
    assert await client.threads.count(metadata={"team": team}, values={"some_text": "draft"}) == 1
    assert await client.threads.count() >= 2
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.threads.count(status="sleeping")  # type: ignore[arg-type]
    assert info.value.response.status_code == 422 and "status" in info.value.response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/threads/search", {"limit": -1}),
        ("/threads/search", {"limit": 0}),
        ("/threads/search", {"offset": -1}),
        ("/threads/search", {"limit": 1001}),
        ("/assistants/search", {"limit": -1}),
        ("/assistants/search", {"offset": -1}),
        ("/assistants/search", {"limit": 1001}),
        ("/threads/{thread}/history", {"limit": -1}),
        ("/threads/{thread}/history", {"limit": 0}),
    ],
)
async def test_search_bounds_are_422_naming_the_field(client: Any, server_url: str, path: str, body: dict[str, Any]) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    async with httpx.AsyncClient(base_url=server_url) as http:
        answer = await http.post(path.format(thread=thread_id), json=body)
    assert answer.status_code == 422, answer.text
    [field] = body
    assert answer.json()["detail"].startswith(f"{field}: ")


async def test_runs_list_bounds_are_422(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    for kwargs in ({"limit": -1}, {"limit": 0}, {"offset": -1}):
        with pytest.raises(httpx.HTTPStatusError) as info:
            await client.runs.list(thread_id, **kwargs)
        assert info.value.response.status_code == 422
    assert await client.runs.list(thread_id, limit=1000) == []


async def test_search_within_bounds_still_pages(client: Any) -> None:
    team = str(uuid.uuid4())
    for _ in range(3):
        await client.threads.create(metadata={"team": team})
    assert len(await client.threads.search(metadata={"team": team}, limit=1000)) == 3
    assert len(await client.threads.search(metadata={"team": team}, limit=1, offset=2)) == 1


async def test_left_out_features_answer_a_json_error_saying_so(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    calls = [
        ("crons", client.crons.search()),
        ("crons", client.crons.count()),
        ("crons", client.crons.create("agent", schedule="* * * * *")),
        ("crons", client.crons.create_for_thread(thread_id, "agent", schedule="* * * * *")),
        ("graphs file", client.assistants.create("agent")),
        ("graphs file", client.assistants.update("agent", metadata={"a": 1})),
        ("graphs file", client.assistants.delete("agent")),
        ("runs.join_stream", _first_event(client.threads.join_stream(thread_id))),
    ]
    for word, call in calls:
        with pytest.raises(httpx.HTTPStatusError) as info:
            await call
        assert info.value.response.status_code == 501, info.value.response.text
        assert info.value.response.headers["content-type"].startswith("application/json")
        assert word in info.value.response.json()["detail"]


async def _first_event(stream: Any) -> Any:
    async for part in await stream:
        return part


async def test_unknown_api_paths_and_methods_answer_json(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as http:
        missing = await http.get("/threads/00000000-0000-0000-0000-000000000000/nothing-here")
        wrong_method = await http.put("/threads/search", json={})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})
    assert "POST" in wrong_method.headers["Allow"]
