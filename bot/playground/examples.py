"""The bundled examples the page starts with one click, and the SDK snippet printed at start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Example:
    """One click on the page = a thread and a run of `assistant_id` with this input.

    The page lists it under the assistant's name, the name its pause messages show.
    """

    id: str
    assistant_id: str
    description: str
    input: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "assistant_id": self.assistant_id, "description": self.description}


EXAMPLES: tuple[Example, ...] = (
    Example(
        id="text_revision",
        assistant_id="text_revision",
        description="Text revision: approve or edit a proposed text (the seed example).",
        input={"some_text": "Sluice turns every pause of a graph into a Slack message you can approve or edit."},
    ),
    Example(
        id="tool_approval",
        assistant_id="tool_approval",
        description="Tool calls: an agent wants to send an email and delete a file.",
        input={"request": "Send the Q3 report to ana@example.com and delete reports/q3-draft.txt"},
    ),
    Example(
        id="release_decision",
        assistant_id="release_decision",
        description="Typed question: ship or hold a release, in a form (ship/hold, risk 1-5, a reason) checked as you send it.",
        input={"version": "2.4.0", "changes": ["Faster search", "New billing page"]},
    ),
    Example(
        id="per_call_approval",
        assistant_id="per_call_approval",
        description="Per-call tool approvals: each call is its own pause, and Edit is a form of its arguments.",
        input={"request": "Send the Q3 report to ana@example.com and delete reports/q3-draft.txt"},
    ),
    Example(
        id="notify",
        assistant_id="notify",
        description="Breakpoint: three steps, paused before node_b until you continue.",
        input={"input": "deploy v1.2"},
    ),
)


def served_examples(assistant_ids: Iterable[str]) -> tuple[Example, ...]:
    """The examples whose assistant this server serves (SLUICE_GRAPHS may name other graphs)."""
    served = set(assistant_ids)
    return tuple(e for e in EXAMPLES if e.assistant_id in served)


def sdk_snippet(base_url: str, *, api_key: bool = False) -> str:
    """The seed's flow against this server; paste into `python -m asyncio` (top-level await)."""
    client = (
        f'import os\nclient = get_client(url="{base_url}", api_key=os.environ["SLUICE_API_KEY"])'
        if api_key
        else f'client = get_client(url="{base_url}")'
    )
    return f"""\
# pip install langgraph-sdk, then paste into `python -m asyncio`:
from langgraph_sdk import get_client
from langgraph_sdk.schema import Command

{client}
thread = await client.threads.create()
result = await client.runs.wait(thread["thread_id"], "agent", input={{"some_text": "original text"}})
print(result["__interrupt__"])  # the pause, also posted in the playground channel
# decide in the page, or resume from code:
print(await client.runs.wait(thread["thread_id"], "agent", command=Command(resume="Edited text")))
"""
