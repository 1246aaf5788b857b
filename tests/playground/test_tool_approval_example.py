"""examples/tool_approval.py on the engine: the HITL middleware payload and every decision type."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engine import Command, InMemorySaver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tool_approval.py"


def load_example() -> ModuleType:
    # By path, the way langgraph.json names it (examples/ is not an installed package).
    spec = importlib.util.spec_from_file_location("tool_approval_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example() -> ModuleType:
    return load_example()


def start(example: ModuleType, request: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    graph = example.builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    paused = graph.invoke({"request": request}, config)
    return graph, config, paused


def test_pause_has_the_middleware_payload_shape(example: ModuleType) -> None:
    _, _, paused = start(example, "Mail bob@example.org, then remove logs/old.log")
    [pause] = paused["__interrupt__"]
    assert pause.value == {
        "action_requests": [
            {
                "name": "send_email",
                "args": {
                    "to": "bob@example.org",
                    "subject": "Q3 report",
                    "body": "Hello, as requested: Mail bob@example.org, then remove logs/old.log",
                },
                "description": "The agent wants to call send_email.",
            },
            {
                "name": "delete_file",
                "args": {"path": "logs/old.log"},
                "description": "The agent wants to call delete_file.",
            },
        ],
        "review_configs": [
            {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject", "respond"]},
            {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
        ],
    }


def test_approve_and_reject_in_order(example: ModuleType) -> None:
    graph, config, _ = start(example, "Send it to ana@example.com and delete reports/q3-draft.txt")
    done = graph.invoke(
        Command(resume={"decisions": [{"type": "approve"}, {"type": "reject", "message": "keep the draft"}]}), config
    )
    assert done["results"] == ["Email sent to ana@example.com: 'Q3 report'", "Rejected delete_file: keep the draft"]
    assert graph.get_state(config).next == ()


def test_edit_runs_the_edited_call_and_respond_replaces_it(example: ModuleType) -> None:
    graph, config, _ = start(example, "")
    edited = {"name": "send_email", "args": {"to": "cfo@example.com", "subject": "Numbers", "body": "Attached."}}
    done = graph.invoke(
        Command(resume={"decisions": [{"type": "edit", "edited_action": edited}, {"type": "approve"}]}), config
    )
    assert done["results"] == ["Email sent to cfo@example.com: 'Numbers'", "Deleted reports/q3-draft.txt"]

    graph, config, _ = start(example, "")
    done = graph.invoke(
        Command(resume={"decisions": [{"type": "respond", "message": "I'll call her"}, {"type": "approve"}]}), config
    )
    assert done["results"] == ["Reply instead of send_email: I'll call her", "Deleted reports/q3-draft.txt"]


def test_a_decision_the_review_config_does_not_allow_fails_the_run(example: ModuleType) -> None:
    graph, config, _ = start(example, "")
    with pytest.raises(ValueError, match="'edit' is not allowed for delete_file"):
        graph.invoke(
            Command(
                resume={
                    "decisions": [
                        {"type": "approve"},
                        {"type": "edit", "edited_action": {"name": "delete_file", "args": {"path": "/"}}},
                    ]
                }
            ),
            config,
        )
