"""The page's JSON API on a real playground process: what the browser's script does, without a browser.

The message box as the slash command and as a mention, the breakpoint example continued, a second
click answered with an ephemeral, the change feed (server-sent events), the printed SDK snippet.
"""

from __future__ import annotations

import ast
import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from langgraph_sdk import get_sync_client

from tests.playground.conftest import Playground, running_playground

pytestmark = pytest.mark.e2e  # starts Sluice processes

Message = dict[str, Any]


def call(playground: Playground, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        playground.url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post(playground: Playground, path: str, body: dict[str, Any]) -> Any:
    status, answer = call(playground, path, body)
    assert status == 200, answer
    return answer


def wait_for(
    playground: Playground, find: Callable[[dict[str, Any]], Any], timeout: float = 10.0, tab: str = ""
) -> Any:
    """Polls the page's state (with `tab`'s modals) until `find` returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        _, state = call(playground, f"/playground/api/state?tab={tab}")
        found = find(state)
        if found:
            return found
        assert time.monotonic() < deadline, f"not found in time; state: {json.dumps(state)[:3000]}"
        time.sleep(0.05)


def buttons(message: Message) -> dict[str, tuple[str, dict[str, Any]]]:
    """Label -> (block_id, element) of the message's buttons (the first one of each label)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for block in message["blocks"]:
        if block["type"] == "actions":
            for element in block["elements"]:
                found.setdefault(element["text"]["text"], (block.get("block_id", ""), element))
    return found


def press(playground: Playground, message: Message, label: str) -> None:
    block_id, element = buttons(message)[label]
    post(
        playground,
        "/playground/api/click",
        {
            "channel": message["channel"],
            "ts": message["ts"],
            "action_id": element["action_id"],
            "block_id": block_id,
            "value": element.get("value"),
        },
    )


def text_of(message: Message) -> str:
    return message["text"] + json.dumps(message["blocks"])


def test_the_banner_says_where_and_who_may_decide(shared_playground: Playground) -> None:
    out = shared_playground.output()
    assert f"Sluice playground: {shared_playground.url}/" in out
    assert "listening on 127.0.0.1 only" in out
    assert "SLUICE_APPROVERS=*" in out
    assert f'get_client(url="{shared_playground.url}")' in out


def test_slash_command_in_the_message_box_runs_in_a_slack_thread(shared_playground: Playground) -> None:
    post(shared_playground, "/playground/api/send", {"text": "/sluice text_revision Drafted in the box"})

    def pause(state: dict[str, Any]) -> Message | None:
        return next(
            (
                m
                for m in state["messages"]
                if m.get("thread_ts") and "Drafted in the box" in text_of(m) and "Approve" in buttons(m)
            ),
            None,
        )

    paused = wait_for(shared_playground, pause)
    press(shared_playground, paused, "Approve")

    def decided(state: dict[str, Any]) -> list[Message] | None:
        thread = [m for m in state["messages"] if m.get("thread_ts") == paused["thread_ts"]]
        mine = next(m for m in thread if m["ts"] == paused["ts"])
        later = [m for m in thread if float(m["ts"]) > float(paused["ts"])]
        return thread if mine["updated"] and not buttons(mine) and later else None

    thread = wait_for(shared_playground, decided)
    # The run's end is posted in its Slack thread, after the decided pause.
    assert "Drafted in the box" in text_of(thread[-1])
    # A second press of the same (now gone) button: an ephemeral reply, nothing resumed twice.
    press(shared_playground, paused, "Approve")
    ephemeral = wait_for(shared_playground, lambda s: [m for m in s["messages"] if m.get("ephemeral")])
    assert ephemeral[0]["ephemeral_to"] == "U0YOU"


def test_a_mention_in_the_message_box_starts_a_run(shared_playground: Playground) -> None:
    post(shared_playground, "/playground/api/send", {"text": "@sluice text_revision Mentioned draft"})
    wait_for(
        shared_playground,
        lambda s: [m for m in s["messages"] if m.get("bot") and "Mentioned draft" in text_of(m) and buttons(m)],
    )


def test_breakpoint_example_continues(shared_playground: Playground) -> None:
    thread_id = post(shared_playground, "/playground/api/start", {"example": "notify"})["thread_id"]
    paused = wait_for(
        shared_playground,
        lambda s: next((m for m in s["messages"] if thread_id in text_of(m) and "Continue" in buttons(m)), None),
    )
    assert "node_b" in text_of(paused)
    press(shared_playground, paused, "Continue")
    client = get_sync_client(url=shared_playground.url)
    deadline = time.monotonic() + 10
    while client.threads.get(thread_id)["status"] != "idle":
        assert time.monotonic() < deadline, client.threads.get(thread_id)
        time.sleep(0.05)
    assert client.threads.get_state(thread_id)["next"] == []


def test_bad_requests_are_refused_with_a_reason(shared_playground: Playground) -> None:
    status, answer = call(shared_playground, "/playground/api/start", {"example": "nope"})
    assert status == 404 and "text_revision" in answer["error"]
    status, answer = call(shared_playground, "/playground/api/click", {"channel": "C0PLAYGROUND", "ts": "1.2"})
    assert status == 400 and "action_id" in answer["error"]
    status, answer = call(
        shared_playground, "/playground/api/click", {"channel": "C0PLAYGROUND", "ts": "1.2", "action_id": "x"}
    )
    assert status == 404 and "no message" in answer["error"]


def test_a_cross_site_form_post_cannot_press_buttons(shared_playground: Playground) -> None:
    # What another web site can send without a CORS preflight: a text/plain body.
    request = urllib.request.Request(
        shared_playground.url + "/playground/api/start",
        data=json.dumps({"example": "text_revision"}).encode(),
        headers={"content-type": "text/plain"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a text/plain POST was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 415


async def test_changes_are_pushed_as_server_sent_events(shared_playground: Playground) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(shared_playground.url + "/playground/api/events") as stream,
    ):
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        first = await stream.content.readuntil(b"\n\n")
        assert first.startswith(b"event: change\ndata: ")
        seen = int(first.split(b"data: ")[1])
        async with session.post(shared_playground.url + "/playground/api/start", json={"example": "text_revision"}):
            pass
        event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10)
        assert int(event.split(b"data: ")[1]) > seen


def test_the_printed_sdk_snippet_runs_and_its_pause_reaches_the_channel(shared_playground: Playground) -> None:
    out = shared_playground.output()
    snippet = out[out.index("from langgraph_sdk import get_client") :]
    snippet = snippet[: snippet.index("\n", snippet.index("print(await"))]  # log lines follow it
    code = compile(snippet, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {}

    async def run() -> None:
        result = eval(code, namespace)  # the snippet as a person pastes it into `python -m asyncio`
        if asyncio.iscoroutine(result):
            await result

    asyncio.run(run())
    thread_id = namespace["thread"]["thread_id"]
    # The pause went to the playground's channel (the default channel) before the snippet resumed it.
    posted = wait_for(shared_playground, lambda s: [m for m in s["messages"] if thread_id in text_of(m)])
    assert "original text" in text_of(posted[0])


def test_shared_on_the_network_with_an_api_key(tmp_path: Path) -> None:
    with running_playground(tmp_path, {"HOST": "0.0.0.0", "SLUICE_API_KEY": "k-test"}) as playground:
        out = playground.output()
        assert "WARNING: listening on 0.0.0.0" in out
        assert 'api_key=os.environ["SLUICE_API_KEY"]' in out and "k-test" not in out
        # The page's own launcher passes the key to the API; a client without it is refused.
        thread_id = post(playground, "/playground/api/start", {"example": "text_revision"})["thread_id"]
        wait_for(playground, lambda s: [m for m in s["messages"] if thread_id in text_of(m)])
        status, _ = call(playground, f"/threads/{thread_id}")
        assert status == 401
        assert get_sync_client(url=playground.url, api_key="k-test").threads.get(thread_id)["thread_id"] == thread_id


def test_with_other_graphs_the_sidebar_offers_only_the_examples_the_server_serves(tmp_path: Path) -> None:
    # SLUICE_GRAPHS naming one bundled graph and one of the user's: the sidebar listed all five
    # examples, and a click on one not served answered with the API's raw 422 in a toast.
    examples = Path(__file__).resolve().parents[2] / "examples"
    graphs = tmp_path / "langgraph.json"
    graphs.write_text(json.dumps({"graphs": {"text_revision": f"{examples}/text_revision.py:graph",
                                             "mine": f"{examples}/breakpoints.py:graph"}}))
    with running_playground(tmp_path, {"SLUICE_GRAPHS": str(graphs)}) as playground:
        _, config = call(playground, "/playground/api/config")
        assert [e["id"] for e in config["examples"]] == ["text_revision"]
        status, answer = call(playground, "/playground/api/start", {"example": "tool_approval"})
        assert (status, answer) == (404, {"error": "no such example; choose one of text_revision"})
        thread_id = post(playground, "/playground/api/start", {"example": "text_revision"})["thread_id"]
        wait_for(playground, lambda s: [m for m in s["messages"] if thread_id in text_of(m)])
