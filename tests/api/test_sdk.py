"""The published langgraph_sdk client against the real server, unmodified."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError
from langgraph_sdk.schema import Command

from tests.waiting import eventually, run_status_is

pytestmark = pytest.mark.e2e  # starts Sluice processes

@pytest.fixture
def client(server_url: str) -> Any:
    return get_client(url=server_url)


async def test_seed_dynamic_interrupt(client: Any) -> None:
    thread = await client.threads.create()
    paused = await client.runs.wait(thread["thread_id"], "agent", input={"some_text": "original text"})
    [record] = paused["__interrupt__"]
    assert record["value"] == {"text_to_revise": "original text"}
    assert len(record["id"]) == 32 and record["ns"][0].startswith("human_node:")
    assert (await client.threads.get(thread["thread_id"]))["status"] == "interrupted"
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["human_node"] and state["interrupts"][0]["id"] == record["id"]

    done = await client.runs.wait(thread["thread_id"], "agent", command=Command(resume="Edited text"))
    assert done == {"some_text": "Edited text"}
    assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_seed_static_breakpoints_per_run(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    seen = []
    result = await client.runs.wait(
        thread_id, "breakpoints", input={"input": "go"}, interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]
    )
    seen.append(((await client.threads.get_state(thread_id))["next"], result.get("steps")))
    while (await client.threads.get_state(thread_id))["next"]:
        result = await client.runs.wait(
            thread_id, "breakpoints", input=None, interrupt_before=["node_a"], interrupt_after=["node_b", "node_c"]
        )
        seen.append(((await client.threads.get_state(thread_id))["next"], result.get("steps")))
    assert "__interrupt__" not in result
    assert seen == [(["node_a"], []), (["node_c"], ["a", "b"]), ([], ["a", "b", "c"])]


async def test_parallel_interrupts_return_all_and_resume_by_id_map(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "tool_approval", input={"request": "email bob and delete /tmp/x"})
    interrupts = paused["__interrupt__"]
    assert interrupts and all(len(i["id"]) == 32 for i in interrupts)


async def test_node_error_is_reported_in_wait_result(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    result = await client.runs.wait(thread_id, "failing", input={}, raise_error=False)
    assert result == {"__error__": {"error": "ValueError", "message": "boom!"}}
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "error"
    [run] = await client.runs.list(thread_id)
    assert run["status"] == "error"


async def test_a_run_of_another_graph_on_a_failed_thread_skips_the_tasks_it_lacks(client: Any) -> None:
    """As langgraph dev answers: resuming a thread that graph `failing` left failing, with graph `agent`
    (which has no node `fail`), returns the thread's values as `agent` reads them (none: it has no `log`);
    it answered __error__ KeyError 'fail'."""
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "failing", input={"log": ["in"]}, raise_error=False)
    result = await client.runs.wait(thread_id, "agent", command={"resume": 1}, raise_error=False)
    assert result == {}
    assert [run["status"] for run in await client.runs.list(thread_id)] == ["success", "error"]
    thread = await client.threads.get(thread_id)  # as langgraph dev leaves it after a run that ended well
    assert (thread["status"], thread["error"], thread["values"], thread["interrupts"]) == ("idle", None, {}, {})


async def test_unknown_breakpoint_node_is_422(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.wait(thread_id, "agent", input={}, interrupt_before=["nope"])
    assert info.value.response.status_code == 422
    assert "nope" in info.value.response.json()["detail"]


async def test_unknown_thread_and_assistant(client: Any) -> None:
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.threads.get("00000000-0000-0000-0000-000000000000")
    assert info.value.response.status_code == 404
    thread_id = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.wait(thread_id, "no_such_graph", input={})
    assert info.value.response.status_code == 422  # a name that is no graph, as langgraph dev answers it
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_invalid_enum_is_422_and_changes_nothing(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.create(thread_id, "agent", input={}, multitask_strategy="sometimes")  # type: ignore[arg-type]
    assert info.value.response.status_code == 422
    assert "multitask_strategy" in info.value.response.json()["detail"]
    assert await client.runs.list(thread_id) == []


@pytest.mark.parametrize(("config", "named"), [
    ({"recursion_limit": "x"}, "recursion_limit"), ({"recursion_limit": 2.5}, "recursion_limit"),
    ({"recursion_limit": True}, "recursion_limit"), ({"tags": "x"}, "tags"), ({"tags": [1]}, "tags.0"),
    ({"configurable": 5}, "configurable"),
])
async def test_a_mistyped_run_config_is_422_and_changes_nothing(client: Any, config: dict[str, Any], named: str) -> None:
    """As langgraph dev (langgraph-api 0.16.7) types a run's config; here the run started and failed
    ('invalid literal for int()', "'int' object is not a mapping"), or ran with tags "x", leaving the
    thread in error."""
    thread_id = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.wait(thread_id, "agent", input={"some_text": "t"}, config=config)
    assert info.value.response.status_code == 422 and f"config: Value error, {named}:" in info.value.response.json()["detail"]
    assert await client.runs.list(thread_id) == [] and (await client.threads.get(thread_id))["status"] == "idle"
    other_keys = {"recursion_limit": 5, "tags": ["t"], "configurable": {"x": 1}, "anything": {"else": 1}}
    assert await client.runs.wait(thread_id, "agent", input={"some_text": "t"}, config=other_keys)


async def test_reject_while_busy_is_409(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread_id, "slow", input={})
    assert (await client.threads.get(thread_id))["status"] == "busy"
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.runs.create(thread_id, "slow", input={}, multitask_strategy="reject")
    assert info.value.response.status_code == 409
    assert "already running" in info.value.response.json()["detail"]
    await client.runs.join(thread_id, first["run_id"])
    runs = await client.runs.list(thread_id)
    assert [(r["run_id"], r["status"]) for r in runs] == [(first["run_id"], "success")]
    assert (await client.threads.get_state(thread_id))["values"] == {"log": ["slow"]}


async def test_cancel_interrupts_a_running_run(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, run["run_id"], "running"), what="the run running")
    await client.runs.cancel(thread_id, run["run_id"], wait=True)
    assert (await client.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
    assert (await client.threads.get(thread_id))["status"] != "busy"


async def _cancelled_after_quick(client: Any, thread_id: str, cancel: Any) -> tuple[str, list[str]]:
    """A run of quick_then_very_slow, streamed until its values after `quick`, when `cancel(run_id)`
    stops it; the run's id and the events its stream sent, to its end."""
    events, run_id = [], ""
    async for part in client.runs.stream(thread_id, "quick_then_very_slow", input={}):
        events.append(part.event)
        if part.event == "metadata":
            run_id = part.data["run_id"]
        elif part.event == "values" and part.data["log"][-1:] == ["quick"]:
            await cancel(run_id)
    return run_id, events


async def test_a_cancelled_run_answers_its_last_values_as_langgraph_dev(client: Any) -> None:
    """As langgraph dev (langgraph-api 0.16.7): waiting on a run that was cancelled, or interrupted by a
    newer run (multitask_strategy="interrupt"), answers the last values it streamed, and its stream
    ends without an `error` event; here wait/join answered {"__error__": {"error": "Cancelled", ...}}
    (runs.wait raised 'Cancelled: ...') and the stream ended with an error."""
    thread_id = (await client.threads.create())["thread_id"]

    async def cancel(run_id: str) -> None:
        await client.runs.cancel(thread_id, run_id, wait=True)

    run_id, events = await _cancelled_after_quick(client, thread_id, cancel)
    assert "error" not in events, events
    assert (await client.runs.get(thread_id, run_id))["status"] == "interrupted"
    assert await client.runs.join(thread_id, run_id) == {"log": ["quick"]}
    assert [p.event async for p in client.runs.join_stream(thread_id, run_id)] == ["metadata", "values"]

    joined: list[Any] = []

    async def supersede(run_id: str) -> None:
        joined.append(asyncio.ensure_future(client.runs.join(thread_id, run_id)))
        await client.runs.create(thread_id, "slow", input={}, multitask_strategy="interrupt")

    run_id, events = await _cancelled_after_quick(client, thread_id, supersede)
    assert "error" not in events, events
    assert await joined[0] == {"log": ["quick", "quick"]}


async def test_cancel_with_rollback_deletes_the_run(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, run["run_id"], "running"), what="the run running")
    await client.runs.cancel(thread_id, run["run_id"], wait=True, action="rollback")  # answered, not a 404
    with pytest.raises(NotFoundError):
        await client.runs.get(thread_id, run["run_id"])
    assert (await client.threads.get(thread_id))["status"] != "busy"
    # multitask_strategy "rollback": the run it replaces goes the same way
    first = await client.runs.create(thread_id, "slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, first["run_id"], "running"), what="the run running")
    second = await client.runs.wait(thread_id, "agent", input={"some_text": "t"}, multitask_strategy="rollback")
    assert second["some_text"] == "t"
    assert [r["run_id"] for r in await client.runs.list(thread_id)] != [] and first["run_id"] not in [
        r["run_id"] for r in await client.runs.list(thread_id)]


async def test_a_stream_whose_thread_is_deleted_ends_with_an_error_event(client: Any) -> None:
    """The stream's headers went long before: its end is an `error` event, never a second HTTP
    response written into the stream (which httpx reads as a broken chunk)."""
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, run["run_id"], "running"), what="the run running")
    parts: list[Any] = []

    async def follow() -> None:
        async for part in client.runs.join_stream(thread_id, run["run_id"]):
            parts.append(part)

    async def started() -> bool:
        return bool(parts)

    following = asyncio.ensure_future(follow())
    await eventually(started, what="the stream started")
    await client.threads.delete(thread_id)
    await asyncio.wait_for(following, 30)
    assert [p.event for p in parts] == ["metadata", "error"], parts

    # the same for a thread's stream (threads.join_stream) following a run
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "very_slow", input={})
    await eventually(lambda: run_status_is(client, thread_id, run["run_id"], "running"), what="the run running")
    parts.clear()

    async def follow_thread() -> None:
        async for part in await client.threads.join_stream(thread_id):
            parts.append(part)

    following = asyncio.ensure_future(follow_thread())
    await eventually(started, what="the stream started")
    await client.threads.delete(thread_id)
    await asyncio.wait_for(following, 30)
    assert [p.event for p in parts] == ["metadata", "error"], parts


@pytest.mark.parametrize("how", ["wait", "stream"])
async def test_on_disconnect_cancel_stops_the_run_when_its_client_goes(client: Any, how: str) -> None:
    """As on langgraph dev (langgraph-api 0.16.7): runs.wait / runs.stream with on_disconnect="cancel"
    whose client goes away mid-run leave the run interrupted."""
    thread_id = (await client.threads.create())["thread_id"]

    async def follow() -> None:
        if how == "wait":
            await client.runs.wait(thread_id, "very_slow", input={}, on_disconnect="cancel")
        else:
            async for _ in client.runs.stream(thread_id, "very_slow", input={}, on_disconnect="cancel"):
                pass

    following = asyncio.ensure_future(follow())

    async def running() -> bool:
        runs = await client.runs.list(thread_id)
        return bool(runs) and runs[0]["status"] == "running"

    await eventually(running, what="the run running")
    following.cancel()  # the client goes
    await asyncio.gather(following, return_exceptions=True)
    run_id = (await client.runs.list(thread_id))[0]["run_id"]
    await eventually(lambda: run_status_is(client, thread_id, run_id, "interrupted"), what="the run cancelled")


async def test_enqueue_runs_in_order(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    results = await asyncio.gather(
        *[
            client.runs.wait(thread_id, "slow", input={}, multitask_strategy="enqueue")
            for _ in range(3)
        ]
    )
    # Each run appends once to the same thread, strictly one after the other.
    assert sorted(len(r["log"]) for r in results) == [1, 2, 3]
    runs = await client.runs.list(thread_id, limit=10)
    assert len(runs) == 3 and {r["status"] for r in runs} == {"success"}


async def test_stream_values_and_updates(client: Any) -> None:
    parts = [
        p
        async for p in client.runs.stream(
            None, "breakpoints", input={"input": "x"}, stream_mode=["values", "updates"]
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert parts[-1].data["steps"] == ["a", "b", "c"] or parts[-2].data["steps"] == ["a", "b", "c"]
    assert {"node_a": {"steps": ["a"]}} in [p.data for p in parts if p.event == "updates"]


async def test_state_update_history_and_time_travel(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    await client.threads.update_state(thread_id, {"some_text": "patched"})
    state = await client.threads.get_state(thread_id)
    assert state["values"]["some_text"] == "patched"
    history = await client.threads.get_history(thread_id, limit=10)
    assert history[0]["checkpoint_id"] == state["checkpoint_id"]
    older = history[-1]["checkpoint_id"]
    at = await client.threads.get_state(thread_id, checkpoint_id=older)
    assert at["checkpoint_id"] == older


async def test_a_past_checkpoint_reads_as_its_history_shows_it(client: Any) -> None:
    """get_state at a past checkpoint shows what its tasks returned, as langgraph dev (and LangGraph's
    get_state) answer and as the history shows it; it showed each task's result as null."""
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    await client.runs.wait(thread_id, "agent", command=Command(resume="final"))
    history = await client.threads.get_history(thread_id, limit=10)
    paused = next(h for h in history if h["next"] == ["human_node"])
    assert [(t["name"], t["result"]) for t in paused["tasks"]] == [("human_node", {"some_text": "final"})]
    for past in history:
        assert await client.threads.get_state(thread_id, checkpoint_id=past["checkpoint_id"]) == past
        assert await client.threads.get_state(thread_id, checkpoint=past["checkpoint"]) == past


async def test_thread_search_and_delete(client: Any) -> None:
    thread_id = (await client.threads.create(metadata={"team": "search-me"}))["thread_id"]
    found = await client.threads.search(metadata={"team": "search-me"})
    assert [t["thread_id"] for t in found] == [thread_id]
    await client.threads.delete(thread_id)
    with pytest.raises(httpx.HTTPStatusError):
        await client.threads.get(thread_id)


async def test_resume_with_nothing_pending_returns_values(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "t"})
    await client.runs.wait(thread_id, "agent", command=Command(resume="done"))
    again = await client.runs.wait(thread_id, "agent", command=Command(resume="twice"))
    assert again == {"some_text": "done"}


async def test_run_context_reaches_the_nodes_runtime(client: Any) -> None:
    result = await client.runs.wait(None, "greet", input={}, context={"user": "ana"})
    assert result == {"greeting": "hello ana"}


async def test_state_with_subgraphs_shows_the_paused_subgraph(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "nested", input={})
    assert paused["__interrupt__"][0]["value"] == "name?"
    flat = await client.threads.get_state(thread_id)
    assert flat["next"] == ["inner"] and flat["tasks"][0]["state"] is None
    nested = await client.threads.get_state(thread_id, subgraphs=True)
    inner = nested["tasks"][0]["state"]
    assert inner["next"] == ["inner_ask"] and inner["interrupts"][0]["value"] == "name?"
    # references as langgraph dev writes them: the task's namespace alone, null once its state is given;
    # a subgraph checkpoint's map of the checkpoints it lies in; no map at the root
    assert flat["tasks"][0]["checkpoint"] == {"thread_id": thread_id, "checkpoint_ns": inner["checkpoint"]["checkpoint_ns"]}
    assert nested["tasks"][0]["checkpoint"] is None and inner["checkpoint"]["checkpoint_ns"].startswith("inner:")
    assert inner["checkpoint"]["checkpoint_map"] == {"": flat["checkpoint_id"],
                                                     inner["checkpoint"]["checkpoint_ns"]: inner["checkpoint_id"]}
    assert "checkpoint_map" not in flat["checkpoint"] and "checkpoint_map" not in flat["parent_checkpoint"]
    # The subgraph's checkpoint, read back by the reference the state gave (langgraph dev answers the
    # subgraph's state; its namespace was ignored here, so the root graph had no such checkpoint: 404)
    again = await client.threads.get_state(thread_id, checkpoint=inner["checkpoint"])
    assert again == {**inner, "tasks": [{**t, "state": None} for t in inner["tasks"]]}
    done = await client.runs.wait(thread_id, "nested", command=Command(resume="ana"))
    assert done == {"greeting": "ana"}


async def test_custom_stream_mode_carries_what_nodes_write(client: Any) -> None:
    parts = [p async for p in client.runs.stream(None, "progress", input={}, stream_mode=["custom", "updates"])]
    assert [(p.event, p.data) for p in parts[1:]] == [
        ("custom", {"step": 1}),
        ("custom", {"step": 2}),
        ("updates", {"progress": {"greeting": "done"}}),
    ]


async def test_message_stream_modes_send_the_messages_nodes_return(client: Any) -> None:
    """stream_mode "messages-tuple" and "messages" (a 422 before): each message a node returns, once,
    before that step's values, in the events langgraph dev (langgraph-api 0.16.7) sends for the same
    graph and input; the input's own message is not sent. A graph returning no messages sends none."""
    thread_id = (await client.threads.create())["thread_id"]
    asked = {"messages": [{"type": "human", "content": "hi", "id": "h-1"}]}
    parts = [(p.event, p.data) async for p in client.runs.stream(
        thread_id, "chat", input=asked, stream_mode=["values", "messages-tuple"])]
    run_id = parts[0][1]["run_id"]
    first, second = (message_dict(text, f"ai-{n}") for n, text in ((1, "hello back"), (2, "and again")))
    assert [(e, d[0] if e == "messages" else d) for e, d in parts[1:]] == [
        ("values", asked),
        ("messages", first),
        ("values", {"messages": [*asked["messages"], first]}),
        ("messages", second),
        ("values", {"messages": [*asked["messages"], first, second]}),
    ]
    metadata = [d[1] for e, d in parts if e == "messages"]
    assert [(m["langgraph_node"], m["run_id"], m["thread_id"], m["graph_id"]) for m in metadata] == [
        ("reply", run_id, thread_id, "chat"), ("reply_again", run_id, thread_id, "chat")]

    parts = [(p.event, p.data) async for p in client.runs.stream(None, "chat", input=asked, stream_mode="messages")]
    assert [e for e, _ in parts[1:]] == ["messages/metadata", "messages/complete"] * 2
    assert parts[1][1]["ai-1"]["metadata"]["langgraph_node"] == "reply" and parts[2][1] == [first]
    quiet = [p.event async for p in client.runs.stream(None, "slow", input={}, stream_mode="messages-tuple")]
    assert quiet == ["metadata"]


def message_dict(text: str, message_id: str) -> dict[str, Any]:
    """An AIMessage as the LangGraph server writes it."""
    return {"content": text, "additional_kwargs": {}, "response_metadata": {}, "type": "ai", "name": None,
            "id": message_id, "tool_calls": [], "invalid_tool_calls": [], "usage_metadata": None}


async def test_stream_subgraphs_names_events_by_namespace(client: Any) -> None:
    """stream_subgraphs=True: a subgraph's chunks come as events "<mode>|<namespace>", as the
    LangGraph server sends them; without it only the graph's own."""
    thread_id = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(
        thread_id, "nested", input={"greeting": ""}, stream_mode=["updates", "values"], stream_subgraphs=True)]
    sub_events = [p.event for p in parts if "|" in p.event]
    assert sub_events and all(e.split("|")[1].startswith("inner:") for e in sub_events)
    assert {e.split("|")[0] for e in sub_events} == {"updates", "values"}
    inner = next(p.data for p in parts if p.event.startswith("updates|"))
    assert inner["__interrupt__"][0]["value"] == "name?"
    plain = [p.event async for p in client.runs.stream(
        thread_id, "nested", command={"resume": "Ada"}, stream_mode=["updates"])]
    assert plain[0] == "metadata" and all("|" not in e for e in plain)


async def test_resume_runs_a_node_that_is_next_without_an_open_interrupt(client: Any) -> None:
    """At a static breakpoint, or after a state update that leaves the asking node next with no open
    interrupt, a resume runs the node (its interrupt() returns the value), as the LangGraph server
    does; only a thread with nothing next answers its current values."""
    thread_id = (await client.threads.create())["thread_id"]
    stopped = await client.runs.wait(thread_id, "agent", input={"some_text": "x"}, interrupt_before=["human_node"])
    assert stopped == {"some_text": "x"}
    assert await client.runs.wait(thread_id, "agent", command=Command(resume="r")) == {"some_text": "r"}
    assert (await client.threads.get_state(thread_id))["next"] == []

    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "x"})
    paused = await client.threads.get_state(thread_id)
    await client.threads.update_state(thread_id, {"some_text": "z"}, checkpoint_id=paused["checkpoint_id"])
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["human_node"] and state["interrupts"] == []
    assert await client.runs.wait(thread_id, "agent", command=Command(resume="r")) == {"some_text": "r"}
