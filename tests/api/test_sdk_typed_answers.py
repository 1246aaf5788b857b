"""Typed answers over HTTP with the published langgraph_sdk, on memory and on Redis.

What `langgraph dev` (langgraph-api 0.16.7, langgraph 1.2.22) does with a pause that has a
`response_schema`, and what we match: every interrupt it sends carries `response_schema`; an
answer the schema refuses ends the run in `error` with `{"__error__": {"error": "ValidationError",
"message": <pydantic's text>}}` (runs.wait answers 200 with that body, a stream ends with an
`error` event of the same body), the thread goes to `error` with that error, an empty
`interrupts` map and its last saved checkpoint's values, while its state still shows the open pause
(and the task's error, pydantic's text); a later good answer resumes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client
from pydantic import TypeAdapter

from .conftest import running_server
from .graphs import Decision, Release

pytestmark = pytest.mark.e2e  # starts Sluice processes

RELEASE_SCHEMA = Release.model_json_schema()
DECISION_SCHEMA = TypeAdapter(Decision).json_schema()  # a discriminated union: oneOf + $defs


@pytest.fixture(scope="module", params=["memory", "redis"])
def typed_server(request: pytest.FixtureRequest) -> Iterator[str]:
    env = {"REDIS_URL": request.getfixturevalue("redis_server")} if request.param == "redis" else {}
    with running_server(**env) as url:
        yield url


@pytest.fixture
def client(typed_server: str) -> Any:
    return get_client(url=typed_server)


async def test_every_interrupt_the_server_sends_carries_the_schema(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    chunks = [c async for c in client.runs.stream(thread_id, "typed", input={"log": []}, stream_mode="updates")]
    [streamed] = [c.data["__interrupt__"] for c in chunks if c.event == "updates" and "__interrupt__" in c.data]
    assert [i["response_schema"] for i in streamed] == [RELEASE_SCHEMA]
    pause_id = streamed[0]["id"]

    [run] = await client.runs.list(thread_id)
    joined = await client.runs.join(thread_id, run["run_id"])
    assert [(i["id"], i["response_schema"]) for i in joined["__interrupt__"]] == [(pause_id, RELEASE_SCHEMA)]
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert [i["response_schema"] for pauses in thread["interrupts"].values() for i in pauses] == [RELEASE_SCHEMA]
    state = await client.threads.get_state(thread_id)
    assert [i["response_schema"] for i in state["interrupts"]] == [RELEASE_SCHEMA]
    assert [i["response_schema"] for t in state["tasks"] for i in t["interrupts"]] == [RELEASE_SCHEMA]
    history = await client.threads.get_history(thread_id)
    assert [i["response_schema"] for s in history for t in s["tasks"] for i in t["interrupts"]] == [RELEASE_SCHEMA]


async def test_refused_answer_is_an_error_run_and_the_pause_stays_open(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "typed", input={"log": []})
    [pause] = paused["__interrupt__"]

    refused = await client.runs.wait(
        thread_id, "typed", command={"resume": {"choice": "maybe", "risk": 9}}, raise_error=False
    )
    error = refused["__error__"]
    assert error["error"] == "ValidationError" and error["message"].startswith("2 validation errors for Release\n")
    assert [r["status"] for r in await client.runs.list(thread_id)] == ["error", "success"]
    thread = await client.threads.get(thread_id)
    assert (thread["status"], thread["error"], thread["interrupts"]) == ("error", error, {})
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["decide"] and [i["id"] for i in state["interrupts"]] == [pause["id"]]
    assert state["tasks"][0]["error"] == error["message"]  # the task shows why, as in LangGraph's state

    events = [(c.event, c.data) async for c in client.runs.stream(
        thread_id, "typed", command={"resume": "ship"}, stream_mode=["values", "updates"]
    )]
    assert [e for e, _ in events] == ["metadata", "values", "error"]
    assert events[-1][1]["error"] == "ValidationError" and "valid dictionary" in events[-1][1]["message"]
    assert (await client.threads.get(thread_id))["status"] == "error"

    # pydantic's lax mode, as in LangGraph: "3" is a valid risk.
    done = await client.runs.wait(thread_id, "typed", command={"resume": {"choice": "hold", "risk": "3"}})
    assert done == {"log": ["hold/3"]}
    thread = await client.threads.get(thread_id)
    assert (thread["status"], thread["error"], thread["interrupts"]) == ("idle", None, {})


async def test_parallel_pauses_one_refused_answer_in_an_id_map(client: Any) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, "typed_parallel", input={"log": []})
    ids = {i["value"]: i["id"] for i in paused["__interrupt__"]}
    assert [i["response_schema"] for i in paused["__interrupt__"]] == [DECISION_SCHEMA, DECISION_SCHEMA]

    answers = {ids["a?"]: {"type": "approve"}, ids["b?"]: {"type": "reject"}}  # b lacks its message
    refused = await client.runs.wait(thread_id, "typed_parallel", command={"resume": answers}, raise_error=False)
    assert refused["__error__"]["error"] == "ValidationError"
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["b"] and [i["id"] for i in state["interrupts"]] == [ids["b?"]]
    assert state["values"] == {"log": ["a=approve"]}  # a's answer was good: its result is kept
    thread = await client.threads.get(thread_id)  # the last saved checkpoint, as the LangGraph server shows it
    assert (thread["status"], thread["values"], thread["interrupts"]) == ("error", {"log": []}, {})

    done = await client.runs.wait(
        thread_id, "typed_parallel", command={"resume": {ids["b?"]: {"type": "reject", "message": "not yet"}}}
    )
    assert done == {"log": ["a=approve", "b=reject"]}
    assert (await client.threads.get(thread_id))["status"] == "idle"

