"""The thread record after `threads.update_state` on a paused thread, on memory and on Redis, as
`langgraph dev` answers it (langgraph-api 0.16.7, langgraph 1.2.24, langgraph_sdk 0.4.14; recorded
by running the same graphs there through the same client calls).

An update writes a checkpoint of its own, which holds no pending interrupt: the thread record's
`interrupts` is emptied (the old questions are no longer asked), `status` is `interrupted` while
tasks are still to run there (`next`), else `idle`. Without `as_node` the update counts as the last
node's and `next` stays; as the asking node it answers in that node's place; as another node the
graph goes on from that node. A run with input None then re-asks whatever `next` holds (with the
updated values); a `Command(resume)` answers the first question asked again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from .conftest import running_server

pytestmark = pytest.mark.e2e  # starts Sluice processes

Seen = tuple[str, Any, list[list[Any]], list[str], list[tuple[str, list[Any]]]]  # status, values, interrupts, next, tasks

GRAPHS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, str]]] = {
    # graph: (input, update, as_node by case)
    "agent": ({"some_text": "draft"}, {"some_text": "patched"}, {"as_asking": "human_node", "as_other": "__start__"}),
    "two_asks": ({"log": []}, {"log": ["patched"]}, {"as_asking": "ask_a", "as_other": "done"}),
    "two_seq": ({"log": []}, {"log": ["patched"]}, {"as_asking": "first", "as_other": "second"}),
}
PATCHED = {"some_text": "patched"}
LOG = {"log": ["patched"]}
ASKED = {"text_to_revise": "patched"}
IDLE_TEXT: Seen = ("idle", PATCHED, [], [], [])
IDLE_LOG: Seen = ("idle", LOG, [], [], [])

UPDATED: dict[tuple[str, str], Seen] = {
    ("agent", "no_as_node"): ("interrupted", PATCHED, [], ["human_node"], [("human_node", [])]),
    ("agent", "as_asking"): IDLE_TEXT,
    ("agent", "as_other"): ("interrupted", PATCHED, [], ["human_node"], [("human_node", [])]),
    ("two_asks", "no_as_node"): ("interrupted", LOG, [], ["ask_a", "ask_b"], [("ask_a", []), ("ask_b", [])]),
    ("two_asks", "as_asking"): IDLE_LOG,  # `done` waits for both askers: as ask_a alone, nothing runs
    ("two_asks", "as_other"): IDLE_LOG,
    ("two_seq", "no_as_node"): ("interrupted", LOG, [], ["first"], [("first", [])]),
    ("two_seq", "as_asking"): ("interrupted", LOG, [], ["second"], [("second", [])]),
    ("two_seq", "as_other"): IDLE_LOG,
}
ASKED_AGAIN: Seen = ("interrupted", PATCHED, [[ASKED]], ["human_node"], [("human_node", [ASKED])])
AFTER_RUN: dict[tuple[str, str, str], Seen] = {
    ("agent", "no_as_node", "input_none"): ASKED_AGAIN,
    ("agent", "no_as_node", "resume"): ("idle", {"some_text": "ok"}, [], [], []),
    ("agent", "as_asking", "input_none"): IDLE_TEXT,
    ("agent", "as_asking", "resume"): IDLE_TEXT,
    ("agent", "as_other", "input_none"): ASKED_AGAIN,
    ("agent", "as_other", "resume"): ("idle", {"some_text": "ok"}, [], [], []),
    ("two_asks", "no_as_node", "input_none"):
        ("interrupted", LOG, [["a?"], ["b?"]], ["ask_a", "ask_b"], [("ask_a", ["a?"]), ("ask_b", ["b?"])]),
    # ask_a takes the answer and ends; its write waits with the step: the record shows the saved values
    ("two_asks", "no_as_node", "resume"): ("interrupted", LOG, [["b?"]], ["ask_b"], [("ask_a", []), ("ask_b", ["b?"])]),
    ("two_asks", "as_asking", "input_none"): IDLE_LOG,
    ("two_asks", "as_asking", "resume"): IDLE_LOG,
    ("two_asks", "as_other", "input_none"): IDLE_LOG,
    ("two_asks", "as_other", "resume"): IDLE_LOG,
    ("two_seq", "no_as_node", "input_none"): ("interrupted", LOG, [["1?"]], ["first"], [("first", ["1?"])]),
    ("two_seq", "no_as_node", "resume"):
        ("interrupted", {"log": ["patched", "1=ok"]}, [["2?"]], ["second"], [("second", ["2?"])]),
    ("two_seq", "as_asking", "input_none"): ("interrupted", LOG, [["2?"]], ["second"], [("second", ["2?"])]),
    ("two_seq", "as_asking", "resume"): ("idle", {"log": ["patched", "2=ok"]}, [], [], []),
    ("two_seq", "as_other", "input_none"): IDLE_LOG,
    ("two_seq", "as_other", "resume"): IDLE_LOG,
}


@pytest.fixture(scope="module", params=["memory", "redis"])
def store_server(request: pytest.FixtureRequest) -> Iterator[str]:
    env = {"REDIS_URL": request.getfixturevalue("redis_server")} if request.param == "redis" else {}
    with running_server(**env) as url:
        yield url


@pytest.fixture
def client(store_server: str) -> Any:
    return get_client(url=store_server)


def values_of(interrupts: list[dict[str, Any]]) -> list[Any]:
    return [i["value"] for i in interrupts]


async def seen(client: Any, thread_id: str) -> Seen:
    """The thread record and its state, as one comparable tuple; the record's interrupts are keyed by
    the ids of the tasks whose interrupts get_state shows, and get_state's own list is theirs."""
    thread = await client.threads.get(thread_id)
    state = await client.threads.get_state(thread_id)
    asking = {t["id"]: values_of(t["interrupts"]) for t in state["tasks"] if t["interrupts"]}
    assert {k: values_of(v) for k, v in thread["interrupts"].items()} == asking
    assert values_of(state["interrupts"]) == [v for t in state["tasks"] for v in values_of(t["interrupts"])]
    tasks = [(t["name"], values_of(t["interrupts"])) for t in state["tasks"]]
    return thread["status"], thread["values"], sorted(asking.values()), state["next"], tasks


@pytest.mark.parametrize(("graph", "case", "then"), sorted(AFTER_RUN))
async def test_the_thread_record_follows_a_state_update_and_the_run_after_it(
    client: Any, graph: str, case: str, then: str
) -> None:
    start, update, as_nodes = GRAPHS[graph]
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, graph, input=start)
    paused = await seen(client, thread_id)
    assert paused[0] == "interrupted" and paused[2]

    await client.threads.update_state(thread_id, update, as_node=as_nodes.get(case))
    assert await seen(client, thread_id) == UPDATED[graph, case]

    if then == "input_none":
        await client.runs.wait(thread_id, graph, input=None)
    else:
        await client.runs.wait(thread_id, graph, command={"resume": "ok"})
    assert await seen(client, thread_id) == AFTER_RUN[graph, case, then]


async def test_a_partly_answered_step_shows_its_saved_values_outside_get_state(client: Any) -> None:
    """ask_a is answered and ends, ask_b asks again: the step is not over, so ask_a's write waits.
    get_state's live view shows it; the run's result and the thread record show the values saved."""
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "two_asks", input={"log": []})
    first = next(i["id"] for i in paused["__interrupt__"] if i["value"] == "a?")
    result = await client.runs.wait(thread_id, "two_asks", command={"resume": {first: "yes"}})
    assert result["log"] == [] and values_of(result["__interrupt__"]) == ["b?"]
    assert (await client.threads.get(thread_id))["values"] == {"log": []}
    state = await client.threads.get_state(thread_id)
    assert state["values"] == {"log": ["a=yes"]} and state["next"] == ["ask_b"]


@pytest.mark.parametrize(("as_node", "status", "next_nodes"), [(None, "interrupted", ["fail"]), ("fail", "idle", [])])
async def test_an_update_clears_the_error_of_a_failed_thread(
    client: Any, as_node: str | None, status: str, next_nodes: list[str]
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "failing", input={"log": []}, raise_error=False)
    failed = await client.threads.get(thread_id)
    assert failed["status"] == "error" and failed["error"] == {"error": "ValueError", "message": "boom!"}
    await client.threads.update_state(thread_id, {"log": ["patched"]}, as_node=as_node)
    thread = await client.threads.get(thread_id)
    assert (thread["status"], thread["error"], thread["interrupts"]) == (status, None, {})
    assert thread["state_updated_at"] > failed["state_updated_at"]
    assert (await client.threads.get_state(thread_id))["next"] == next_nodes


async def test_a_state_update_of_a_thread_with_no_graph_is_refused(client: Any) -> None:
    """As on langgraph dev (langgraph-api 0.16.7): a thread no run was made on, created without a
    graph_id, has no graph to apply the update with, so the update is a 400 (it was applied with
    whichever graph the server listed first); created with graph_id, it is applied with that graph."""
    import httpx

    thread_id = (await client.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.threads.update_state(thread_id, {"some_text": "x"})
    assert info.value.response.status_code == 400 and "graph_id" in info.value.response.json()["detail"]
    assert (await client.threads.get_state(thread_id))["values"] == {}
    named = (await client.threads.create(graph_id="agent"))["thread_id"]
    await client.threads.update_state(named, {"some_text": "x"})
    assert (await client.threads.get_state(named))["values"] == {"some_text": "x"}


async def test_a_bad_update_is_the_servers_400_and_changes_nothing(client: Any) -> None:
    """As langgraph dev (langgraph-api 0.16.7) answers the same calls: an update as a node the graph
    lacks, or values that are not a dict, is a 400 whose detail is the error's message (it was a 422
    'InvalidUpdateError: ...'); the thread keeps its state."""
    from langgraph_sdk.errors import BadRequestError, UnprocessableEntityError

    thread_id = (await client.threads.create(graph_id="agent"))["thread_id"]
    await client.threads.update_state(thread_id, {"some_text": "kept"})
    before = await client.threads.get_state(thread_id)
    with pytest.raises(BadRequestError) as info:
        await client.threads.update_state(thread_id, {"some_text": "x"}, as_node="nope")
    assert info.value.response.json() == {"detail": "Node nope does not exist"}
    with pytest.raises(BadRequestError) as info:
        await client.threads.update_state(thread_id, [1, 2], as_node="human_node")  # type: ignore[arg-type]
    assert info.value.response.json()["detail"].startswith("Expected dict, got [1, 2]")
    for values in (5, "x"):  # not an object, an array or null: the server's 422, before the graph sees it
        with pytest.raises(UnprocessableEntityError) as refused:
            await client.threads.update_state(thread_id, values, as_node="human_node")  # type: ignore[arg-type]
        assert refused.value.response.json()["detail"].startswith("values: ")
    assert await client.threads.get_state(thread_id) == before


async def test_a_run_leaves_its_config_on_the_thread(client: Any) -> None:
    """As langgraph dev (langgraph-api 0.16.7) shows the thread after the same run: its config is the
    run's without the configurable values (it stayed {} here)."""
    thread_id = (await client.threads.create())["thread_id"]
    assert (await client.threads.get(thread_id))["config"] == {}
    await client.runs.wait(thread_id, "two_seq", input={"log": []})
    assert (await client.threads.get(thread_id))["config"] == {"configurable": {}}
    config = {"tags": ["x"], "recursion_limit": 30, "configurable": {"foo": 1}}
    await client.runs.wait(thread_id, "two_seq", command={"resume": "ok"}, config=config)
    thread = await client.threads.get(thread_id)
    assert thread["config"] == {"tags": ["x"], "recursion_limit": 30, "configurable": {}}
    assert [t["config"] for t in await client.threads.search(ids=[thread_id])] == [thread["config"]]


async def test_a_thread_given_no_state_yet_has_no_error_or_interrupts_fields(client: Any) -> None:
    """As langgraph dev (langgraph-api 0.16.7) writes a thread: until a run or an update gives it state,
    it has no `error` and `interrupts` fields (create, get, search, update, while its first run runs);
    from then on both are there."""
    fresh = ["config", "created_at", "metadata", "state_updated_at", "status", "thread_id", "updated_at", "values"]
    thread = await client.threads.create(graph_id="two_seq")
    thread_id = thread["thread_id"]
    assert sorted(thread) == fresh
    assert sorted(await client.threads.get(thread_id)) == fresh
    assert sorted(await client.threads.update(thread_id, metadata={"k": 1})) == fresh
    assert [sorted(t) for t in await client.threads.search(ids=[thread_id])] == [fresh]
    assert await client.threads.search(ids=[thread_id], select=["thread_id", "interrupts"]) == [{"thread_id": thread_id}]
    await client.threads.update_state(thread_id, {"log": ["x"]}, as_node="first")
    assert sorted(await client.threads.get(thread_id)) == sorted([*fresh, "error", "interrupts"])
    ran = (await client.threads.create())["thread_id"]
    await client.runs.wait(ran, "two_seq", input={"log": []})
    assert sorted(await client.threads.get(ran)) == sorted([*fresh, "error", "interrupts"])
