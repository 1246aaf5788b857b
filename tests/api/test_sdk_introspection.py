"""GET /assistants/{id}/graph, /schemas and /subgraphs through the published langgraph_sdk client.

The expected bodies are what `langgraph dev` (langgraph-api 0.16.7) answered for the same graphs
written with LangGraph: tests/api/graphs.py routed_graph, mapped_graph and typed_io_graph.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from bot.registry import assistant_uuid

pytestmark = pytest.mark.e2e  # starts Sluice processes


@pytest.fixture
def client(server_url: str) -> Any:
    return get_client(url=server_url)


def _node(name: str) -> dict[str, Any]:
    return {"id": name, "type": "runnable", "data": {"name": name}}


def _edges(graph: dict[str, Any]) -> list[tuple[str, str, bool, Any]]:
    return sorted((e["source"], e["target"], e.get("conditional", False), e.get("data")) for e in graph["edges"])


async def test_graph_of_the_seed_example(client: Any) -> None:
    for assistant_id in ("agent", assistant_uuid("agent")):
        drawn = await client.assistants.get_graph(assistant_id)
        assert drawn == {
            "nodes": [_node("__start__"), _node("human_node"), {"id": "__end__"}],
            "edges": [{"source": "__start__", "target": "human_node"}, {"source": "human_node", "target": "__end__"}],
        }


async def test_graph_with_conditional_edges_and_a_subgraph(client: Any) -> None:
    drawn = await client.assistants.get_graph("routed")
    assert drawn["nodes"] == [_node("__start__"), _node("start"), _node("inner"), _node("done"), {"id": "__end__"}]
    assert _edges(drawn) == [
        ("__start__", "start", False, None),
        ("done", "__end__", False, None),
        ("inner", "done", False, None),
        ("start", "done", True, None),  # from route's -> Literal["inner", "done"]
        ("start", "inner", True, None),
    ]
    for xray in (True, 1):
        inside = await client.assistants.get_graph("routed", xray=xray)
        assert [n["id"] for n in inside["nodes"]] == ["__start__", "start", "done", "__end__", "inner:inner_ask"]
        assert _edges(inside) == [
            ("__start__", "start", False, None),
            ("done", "__end__", False, None),
            ("inner:inner_ask", "done", False, None),
            ("start", "done", True, None),
            ("start", "inner:inner_ask", True, None),
        ]


async def test_path_map_keys_label_their_edges(client: Any) -> None:
    drawn = await client.assistants.get_graph("mapped")
    assert _edges(drawn) == [
        ("__start__", "start", False, None),
        ("done", "__end__", False, None),
        ("start", "__end__", True, "end"),
        ("start", "done", True, None),
    ]


async def test_bad_xray_and_unknown_assistant(client: Any, server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as http:
        for value in ("abc", "-1", "0"):
            answer = await http.get("/assistants/agent/graph", params={"xray": value})
            assert answer.status_code == 422 and "xray" in answer.json()["detail"]
    for call in (client.assistants.get_graph, client.assistants.get_schemas, client.assistants.get_subgraphs):
        with pytest.raises(httpx.HTTPStatusError) as info:
            await call("00000000-0000-0000-0000-000000000000")
        assert info.value.response.status_code == 404


async def test_schemas(client: Any) -> None:
    schemas = await client.assistants.get_schemas("routed")
    assert schemas["graph_id"] == "routed"
    assert schemas["state_schema"] == {
        "properties": {
            "greeting": {"default": None, "title": "Greeting", "type": "string"},
            "log": {"default": None, "items": {"type": "string"}, "title": "Log", "type": "array"},
            "n": {"default": None, "title": "N", "type": "integer"},
        },
        "title": "routed_state",
        "type": "object",
    }
    context = {
        "properties": {"user": {"title": "User", "type": "string"}, "level": {"default": 1, "title": "Level", "type": "integer"}},
        "required": ["user"],
        "title": "RouteContext",
        "type": "object",
    }
    assert schemas["context_schema"] == context and schemas["config_schema"] == context
    assert schemas["input_schema"]["title"] == "RouteState"  # langgraph dev: null for a typing.TypedDict on 3.11
    assert set(schemas["input_schema"]["properties"]) == {"greeting", "log", "n"}


async def test_input_and_output_schemas(client: Any) -> None:
    schemas = await client.assistants.get_schemas("typed_io")
    assert schemas["input_schema"] == {
        "properties": {"question": {"title": "Question", "type": "string"}},
        "required": ["question"],
        "title": "Question",
        "type": "object",
    }
    assert schemas["output_schema"] == {
        "properties": {"answer": {"title": "Answer", "type": "string"}},
        "required": ["answer"],
        "title": "Answer",
        "type": "object",
    }
    assert (schemas["config_schema"], schemas["context_schema"]) == ({}, None)


async def test_subgraphs(client: Any) -> None:
    inner_state = {
        "properties": {"greeting": {"default": None, "title": "Greeting", "type": "string"}},
        "title": "LangGraphState",
        "type": "object",
    }
    for kwargs in ({}, {"recurse": True}, {"namespace": "inner"}):
        found = await client.assistants.get_subgraphs("routed", **kwargs)
        assert list(found) == ["inner"] and found["inner"]["state_schema"] == inner_state
        assert "graph_id" not in found["inner"]
    assert await client.assistants.get_subgraphs("routed", namespace="elsewhere") == {}
    assert await client.assistants.get_subgraphs("agent") == {}


async def test_versions_of_a_graphs_file_assistant(client: Any) -> None:
    [version] = await client.assistants.get_versions("agent")
    assert (version["graph_id"], version["version"]) == ("agent", 1)
    assert (await client.assistants.set_latest("agent", 1))["assistant_id"] == assistant_uuid("agent")
    with pytest.raises(httpx.HTTPStatusError) as info:
        await client.assistants.set_latest("agent", 2)
    assert info.value.response.status_code == 404
