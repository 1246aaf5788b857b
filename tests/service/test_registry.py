"""The graphs file: every kind of entry, and errors that name the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.registry import Registry, RegistryError, assistant_uuid
from engine import CompiledGraph

GRAPHS = '''
from typing import TypedDict
from engine import StateGraph, START, END

class S(TypedDict):
    x: int

def inc(state: S) -> S:
    return {"x": state["x"] + 1}

builder = StateGraph(S)
builder.add_node("inc", inc)
builder.add_edge(START, "inc")
builder.add_edge("inc", END)
compiled = builder.compile()

def factory():
    return builder

def factory_with_config(config):
    return builder.compile()

not_a_graph = 42

async def async_factory():
    return builder
'''


def _write(tmp_path: Path, graphs: dict[str, str], extra: dict[str, object] | None = None) -> Path:
    (tmp_path / "my_graphs.py").write_text(GRAPHS)
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({"graphs": graphs, **(extra or {})}))
    return path


async def test_state_graph_compiled_graph_and_factories(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "builder": "my_graphs.py:builder",
            "compiled": "my_graphs.py:compiled",
            "factory": "my_graphs.py:factory",
            "configured": "my_graphs.py:factory_with_config",
        },
        {"sluice": {"compiled": {"slack_channel": "C1", "approvers": "U1,U2"}}},
    )
    registry = Registry.load(path)
    assert registry.names() == ["builder", "compiled", "factory", "configured"]
    for name in registry.names():
        assistant = registry.find(name)
        assert assistant is not None and isinstance(assistant.graph, CompiledGraph)
        assert await assistant.graph.ainvoke({"x": 1}) == {"x": 2}
        assert registry.find(assistant_uuid(name)) is assistant
    compiled = registry.find("compiled")
    assert compiled is not None and compiled.slack_channel == "C1" and compiled.approvers == {"U1", "U2"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("my_graphs.py:missing", "has no attribute 'missing'"),
        ("nowhere.py:graph", "not found"),
        ("my_graphs.py:not_a_graph", "expected a StateGraph"),
        ("no-colon", "expected 'path/to/file.py:attribute'"),
    ],
)
def test_bad_entries_name_the_graph(tmp_path: Path, ref: str, message: str) -> None:
    with pytest.raises(RegistryError) as info:
        Registry.load(_write(tmp_path, {"broken": ref}))
    assert "'broken'" in str(info.value) and message in str(info.value)


def test_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not found"):
        Registry.load(tmp_path / "absent.json")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(RegistryError, match='no "graphs"'):
        Registry.load(tmp_path / "empty.json")


def test_an_async_factory_is_refused_without_a_never_awaited_warning(tmp_path: Path) -> None:
    import gc
    import sys
    import warnings

    path = _write(tmp_path, {"agent": "my_graphs.py:async_factory"})
    unraised: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraised.append
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            with pytest.raises(RegistryError) as refused:
                Registry.load(path)
            said = str(refused.value)
            del refused  # its traceback holds the factory's frames
            gc.collect()  # a coroutine never awaited warns when it is collected
    finally:
        sys.unraisablehook = hook
    assert "async factories are not supported" in said
    assert not unraised and not [w for w in warned if "never awaited" in str(w.message)], (unraised, warned)
