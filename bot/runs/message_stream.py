"""stream_mode "messages-tuple" and "messages": the LangChain messages a run's nodes return.

As the LangGraph server streams them (observed on langgraph dev, langgraph-api 0.16.7): each message a
node returns that its input did not already hold is sent once, before that step's `values`, as a
"messages" event `[message, metadata]` ("messages-tuple"), or as "messages/metadata" `{id:
{"metadata": ...}}` then "messages/complete" `[message]` ("messages"). The engine has no model
callbacks, so a chat model's reply comes whole when its node returns, never token by token; the
metadata is the run's (its checkpoints' metadata) and `langgraph_node`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

MESSAGE_MODES = ("messages-tuple", "messages")
NOT_NODES = ("__interrupt__", "__metadata__")  # keys of an updates chunk that name no node


@functools.cache
def _message_type() -> type | None:
    """LangChain's message class, when LangChain is installed (a graph without it returns none)."""
    try:
        from langchain_core.messages import BaseMessage
    except ImportError:
        return None
    return BaseMessage


def _messages_in(value: Any, kind: type) -> Iterator[Any]:
    """The messages a node's update holds: a message, or messages in a list, at its top or its keys'."""
    for item in value.values() if isinstance(value, dict) else (value,):
        if isinstance(item, kind):
            yield item
        elif isinstance(item, (list, tuple)):
            yield from (m for m in item if isinstance(m, kind))


class MessageTap:
    """Turns a run's root updates into its message events; `saw` the values each step starts from."""

    def __init__(self, modes: tuple[str, ...], metadata: dict[str, Any]) -> None:
        self.modes = [m for m in MESSAGE_MODES if m in modes]
        self.metadata = metadata
        self.seen: set[str] = set()  # ids already in the state or already sent

    def saw(self, values: Any) -> None:
        kind = _message_type()
        if kind is not None and isinstance(values, dict):
            self.seen.update(m.id for m in _messages_in(values, kind) if m.id)

    def events(self, updates: Any) -> list[tuple[str, Any]]:
        kind = _message_type()
        if kind is None or not isinstance(updates, dict):
            return []
        out: list[tuple[str, Any]] = []
        for node, update in updates.items():
            if node in NOT_NODES:
                continue
            for message in _messages_in(update, kind):
                if message.id in self.seen:
                    continue
                if message.id:
                    self.seen.add(message.id)
                metadata = {**self.metadata, "langgraph_node": node}
                if "messages-tuple" in self.modes:
                    out.append(("messages", [message, metadata]))
                if "messages" in self.modes:
                    out.append(("messages/metadata", {message.id: {"metadata": metadata}}))
                    out.append(("messages/complete", [message]))
        return out


def message_tap(modes: tuple[str, ...], metadata: dict[str, Any]) -> MessageTap | None:
    """A tap for a run that asked for a message mode, else None (nothing to do per chunk)."""
    return MessageTap(modes, metadata) if any(m in modes for m in MESSAGE_MODES) else None
