"""The rest of langgraph_sdk's client surface against the real server: counts, paging bounds, and
features Sluice leaves out answering a JSON error that says so."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from bot.api import listing
from bot.registry import assistant_uuid
from tests.waiting import eventually, run_status_is

pytestmark = pytest.mark.e2e  # starts Sluice processes


@pytest.fixture
def client(server_url: str) -> Any:
    return get_client(url=server_url)


async def test_assistants_count_uses_the_search_filters(client: Any) -> None:
    everything = await client.assistants.search(limit=1000)
    assert await client.assistants.count() == len(everything) > 1
    assert await client.assistants.count(graph_id="agent") == 1
    for unknown in (client.assistants.count(graph_id="nope"), client.assistants.search(graph_id="nope")):
        with pytest.raises(httpx.HTTPStatusError) as info:  # as langgraph dev (langgraph-api 0.16.7) answers
            await unknown
        assert info.value.response.status_code == 404
        assert info.value.response.json()["detail"].startswith("Graph 'nope' not found. Expected one of: ")
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
    ]
    for word, call in calls:
        with pytest.raises(httpx.HTTPStatusError) as info:
            await call
        assert info.value.response.status_code == 501, info.value.response.text
        assert info.value.response.headers["content-type"].startswith("application/json")
        assert word in info.value.response.json()["detail"]


async def test_unknown_api_paths_and_methods_answer_json(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as http:
        missing = await http.get("/threads/00000000-0000-0000-0000-000000000000/nothing-here")
        wrong_method = await http.put("/threads/search", json={})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})
    assert "POST" in wrong_method.headers["Allow"]


async def test_cancel_many_by_ids_and_by_status(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    running = await client.runs.create(thread_id, "very_slow", input={})
    queued = await client.runs.create(thread_id, "very_slow", input={}, multitask_strategy="enqueue")
    await eventually(lambda: run_status_is(client, thread_id, running["run_id"], "running"), what="the first run running")
    await client.runs.cancel_many(status="pending")
    assert (await client.runs.get(thread_id, queued["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(thread_id, running["run_id"]))["status"] == "running"
    await client.runs.cancel_many(thread_id=thread_id, run_ids=[running["run_id"], queued["run_id"]])
    await eventually(lambda: run_status_is(client, thread_id, running["run_id"], "interrupted"), what="the run cancelled")
    for kwargs in ({"thread_id": thread_id, "run_ids": [running["run_id"]]}, {"status": "all"}):
        with pytest.raises(httpx.HTTPStatusError) as info:
            await client.runs.cancel_many(**kwargs)  # nothing left to cancel: 404, as the LangGraph server answers
        assert info.value.response.status_code == 404 and "to cancel" in info.value.response.json()["detail"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.cancel(thread_id, running["run_id"])  # an ended run
    assert info.value.response.status_code == 404


async def test_create_batch_starts_stateless_runs_after_checking_them_all(client: Any) -> None:
    runs = await client.runs.create_batch([{"assistant_id": "greet", "input": {}, "context": {"user": "ana"}},
                                          {"assistant_id": "agent", "input": {"some_text": "t"}}])
    assert [r["assistant_id"] for r in runs] == [assistant_uuid("greet"), assistant_uuid("agent")]
    done = await client.runs.join(runs[0]["thread_id"], runs[0]["run_id"])
    assert done == {"greeting": "hello ana"}
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.create_batch([{"assistant_id": "agent"}, {"assistant_id": "agent", "multitask_strategy": "no"}])
    assert info.value.response.status_code == 422 and info.value.response.json()["detail"].startswith("run 1: ")


async def test_a_stateless_run_that_ended_is_still_joined(client: Any) -> None:
    """Its thread is deleted as it ends (before the first join returns), so the second join finds no
    record: it answers the run's outcome all the same, as a join and as a join stream."""
    run = await client.runs.create(None, "greet", input={}, context={"user": "ana"})
    assert await client.runs.join(run["thread_id"], run["run_id"]) == {"greeting": "hello ana"}
    assert await client.runs.join(run["thread_id"], run["run_id"]) == {"greeting": "hello ana"}
    parts = [part async for part in client.runs.join_stream(run["thread_id"], run["run_id"])]
    assert parts[-1].event == "values" and parts[-1].data == {"greeting": "hello ana"}


async def test_prune_deletes_the_threads_named(client: Any) -> None:
    kept, gone = [(await client.threads.create())["thread_id"] for _ in range(2)]
    missing = str(uuid.uuid4())
    assert await client.threads.prune([gone, missing]) == {"pruned_count": 1}
    assert (await client.threads.get(kept))["thread_id"] == kept
    with pytest.raises(httpx.HTTPStatusError):
        await client.threads.get(gone)
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.threads.prune([kept], strategy="keep_latest")
    assert info.value.response.status_code == 422


async def test_create_with_graph_id_and_supersteps_prefills_the_state(client: Any) -> None:
    """A thread created for a graph (not the first of the graphs file) takes state updates before any
    run, in that graph's state; supersteps are applied as the thread is created."""
    thread = await client.threads.create(
        graph_id="routed", supersteps=[{"updates": [{"values": {"n": 1}, "as_node": "start"}]}]
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == {"n": 1, "log": []} and state["next"] == ["inner"]
    await client.threads.update_state(thread["thread_id"], {"greeting": "hi"}, as_node="inner")
    assert (await client.threads.get_state(thread["thread_id"]))["next"] == ["done"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.threads.create(graph_id="agent", supersteps=[{"updates": [{"values": {}, "as_node": "nope"}]}])
    assert info.value.response.json() == {"detail": "Node nope does not exist"}  # langgraph dev's 400 and words
    assert info.value.response.status_code == 400


async def test_thread_search_by_ids_sorted_selected_and_extracted(client: Any) -> None:
    team = str(uuid.uuid4())
    ids = [(await client.threads.create(metadata={"team": team, "i": i}))["thread_id"] for i in range(3)]
    await client.runs.wait(ids[1], "agent", input={"some_text": "hello"})
    picked = await client.threads.search(ids=[ids[0], ids[2]], select=["thread_id"])
    assert picked == [{"thread_id": ids[2]}, {"thread_id": ids[0]}]  # newest first
    oldest_first = await client.threads.search(metadata={"team": team}, sort_by="created_at", sort_order="asc",
                                               select=["thread_id"], limit=2, offset=1)
    assert oldest_first == [{"thread_id": ids[1]}, {"thread_id": ids[2]}]
    by_status = await client.threads.search(metadata={"team": team}, sort_by="status", select=["status"])
    assert [t["status"] for t in by_status] == ["interrupted", "idle", "idle"]
    [task_id] = (await client.threads.get(ids[1]))["interrupts"]
    [row] = await client.threads.search(
        ids=[ids[1]], select=["thread_id"],
        extract={"text": "values.some_text", "team": "metadata.team", "none": "values.nope", "i": "metadata.i",
                 "asked": f"interrupts.{task_id}[0].value.text_to_revise"},
    )
    assert row == {"thread_id": ids[1], "extracted": {"text": "hello", "team": team, "none": None, "i": 1, "asked": "hello"}}
    for body in ({"select": ["nope"]}, {"ids": ["not-a-uuid"]}, {"sort_by": "nope"}, {"extract": {"a": "values..x"}}):
        with pytest.raises(httpx.HTTPStatusError) as info:
            await client.http.post("/threads/search", json=body)
        assert info.value.response.status_code == 422, body
    assert listing.pick({"a": [{"b": 1}, {"b": 2}]}, "a[-1].b") == 2 and listing.pick({"a": []}, "a[0].b") is None


async def test_assistant_search_sorted_and_selected(client: Any) -> None:
    rows = await client.assistants.search(sort_by="name", sort_order="asc", select=["name"], limit=1000)
    assert rows == sorted(rows, key=lambda r: r["name"]) and all(list(r) == ["name"] for r in rows)


async def test_state_of_a_thread_without_checkpoints_is_the_servers_empty_state(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    assert await client.threads.get_state(thread_id) == {
        "values": {}, "next": [], "tasks": [], "metadata": None, "created_at": None, "checkpoint": None,
        "parent_checkpoint": None, "interrupts": [], "checkpoint_id": None, "parent_checkpoint_id": None,
    }


async def test_history_of_a_subgraph_by_its_checkpoint(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "routed", input={"n": 1}, context={"user": "ana"})
    [task] = (await client.threads.get_state(thread_id, subgraphs=True))["tasks"]
    inner = task["state"]["checkpoint"]
    assert inner["checkpoint_ns"].startswith("inner:")
    history = await client.threads.get_history(thread_id, checkpoint={"checkpoint_ns": inner["checkpoint_ns"]})
    assert [h["next"] for h in history] == [["inner_ask"], ["__start__"]]
    assert {h["checkpoint"]["checkpoint_ns"] for h in history} == {inner["checkpoint_ns"]}
    [exact] = await client.threads.get_history(thread_id, checkpoint=inner)
    assert exact["checkpoint_id"] == inner["checkpoint_id"]
    root = await client.threads.get_history(thread_id)
    assert [h["next"] for h in root] == [["inner"], ["start"], ["__start__"]]


async def test_a_stateless_background_run_can_be_joined_and_read_after_it_ended(client: Any) -> None:
    run = await client.runs.create(None, "mapped", input={})
    assert await client.runs.join(run["thread_id"], run["run_id"]) == {"log": ["start", "done"]}
    assert (await client.runs.get(run["thread_id"], run["run_id"]))["status"] == "success"
    with pytest.raises(httpx.HTTPStatusError):
        await client.threads.get(run["thread_id"])  # on_completion "delete" (the default): the thread went
    kept = await client.runs.create(None, "mapped", input={}, on_completion="keep")
    await client.runs.join(kept["thread_id"], kept["run_id"])
    assert (await client.threads.get(kept["thread_id"]))["values"] == {"log": ["start", "done"]}


async def test_join_stream_of_a_thread_follows_each_run_as_it_happens(client: Any) -> None:
    """threads.join_stream: a run running when the client comes, then one started later, each framed
    by metadata events as the LangGraph server sends them; the stream ends when the thread is deleted."""
    thread_id = (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, first["run_id"], "running"), what="the run running")
    events: list[tuple[str, Any]] = []
    stream = await client.threads.join_stream(thread_id)
    async for part in stream:
        events.append((part.event, part.data))
        if part.data == {"run_id": first["run_id"], "attempt": 1}:
            await client.runs.cancel(thread_id, first["run_id"])
        elif part.data == {"status": "run_done", "run_id": first["run_id"]}:
            second = await client.runs.create(thread_id, "slow", input={})
        elif part.event == "metadata" and part.data.get("status") == "run_done":
            await client.threads.delete(thread_id)
    assert events[0] == ("metadata", {"run_id": first["run_id"], "attempt": 1})
    # a cancelled run ends without an error event, as on langgraph dev
    assert events[1] == ("metadata", {"status": "run_done", "run_id": first["run_id"]})
    direct = [(p.event, p.data) async for p in client.runs.stream(None, "slow", input={})][1:]  # after metadata
    assert events[2:] == [
        ("metadata", {"run_id": second["run_id"], "attempt": 1}),
        *direct,  # every event of the run, as runs.stream gives them
        ("metadata", {"status": "run_done", "run_id": second["run_id"]}),
    ]


async def test_runs_list_select_and_delayed_runs_refused(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "mapped", input={})
    await client.runs.join(thread_id, run["run_id"])
    assert await client.runs.list(thread_id, select=["run_id", "status"]) == [{"run_id": run["run_id"], "status": "success"}]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.list(thread_id, select=["nope"])  # type: ignore[list-item]
    assert info.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.create(thread_id, "mapped", input={}, after_seconds=60)
    assert info.value.response.status_code == 422 and "delayed runs" in info.value.response.json()["detail"]
    assert len(await client.runs.list(thread_id)) == 1


async def test_a_run_of_an_unknown_assistant_is_refused_as_the_server_does(client: Any) -> None:
    """Observed on langgraph dev (langgraph-api 0.16.7): a name that is no graph is a 422 listing the
    graphs, an unknown UUID a 404; neither starts a run."""
    thread_id = (await client.threads.create())["thread_id"]
    for call in (client.runs.wait(thread_id, "nope", input={}), client.runs.create(None, "nope", input={})):
        with pytest.raises(httpx.HTTPStatusError) as info:
            await call
        detail = info.value.response.json()["detail"]
        assert info.value.response.status_code == 422 and "Invalid assistant: 'nope'" in detail and "agent" in detail
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.wait(thread_id, "00000000-0000-0000-0000-000000000000", input={})
    assert info.value.response.status_code == 404
    assert info.value.response.json()["detail"] == "Thread or assistant not found."
    with pytest.raises(httpx.HTTPStatusError) as info:  # a batch is checked whole before any run starts
        await client.runs.create_batch([{"assistant_id": "agent", "input": {"some_text": "t"}},
                                        {"assistant_id": "nope", "input": {}}])
    assert info.value.response.status_code == 422
    assert await client.runs.list(thread_id) == []


async def test_a_run_stamps_its_graph_and_assistant_on_the_thread_metadata(client: Any) -> None:
    """As on langgraph dev (langgraph-api 0.16.7): after a run the thread's metadata names the graph
    and assistant it ran, so clients list a graph's threads with threads.search(metadata=...)."""
    thread_id = (await client.threads.create(metadata={"team": "docs"}))["thread_id"]
    assert (await client.threads.get(thread_id))["metadata"] == {"team": "docs"}
    await client.runs.wait(thread_id, "agent", input={"some_text": "t"})
    stamped = {"team": "docs", "graph_id": "agent", "assistant_id": assistant_uuid("agent")}
    assert (await client.threads.get(thread_id))["metadata"] == stamped
    for query in ({"graph_id": "agent"}, {"assistant_id": assistant_uuid("agent")}, {"team": "docs", "graph_id": "agent"}):
        found = await client.threads.search(metadata=query, limit=1000)
        assert thread_id in [t["thread_id"] for t in found], query
    assert thread_id not in [t["thread_id"] for t in await client.threads.search(metadata={"graph_id": "slow"})]
    assert (await client.threads.update(thread_id, metadata={"team": "ops"}))["metadata"]["graph_id"] == "agent"
