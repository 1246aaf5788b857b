"""The graph spec types: what a StateGraph compiles into, read by everything that runs it.

A leaf module: it imports nothing that runs graphs, so the builder, the step maths, the loop and
the compiled graph can all import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from .retry import RetryPolicy
from .state import StateSchema

Breakpoints = tuple[str, ...] | Literal["*"]


@dataclass(frozen=True)
class NodeSpec:
    name: str
    action: Any  # a callable or a CompiledGraph (subgraph)
    is_subgraph: bool
    is_async: bool
    wants_config: bool
    metadata: dict[str, Any] | None = None
    wants_runtime: bool = False
    retry: tuple[RetryPolicy, ...] = ()  # the first whose retry_on matches an error decides
    input_schema: StateSchema | None = None  # the keys the node reads (None: the graph's state)
    wants_writer: bool = False
    defer: bool = False  # runs once nothing else is left to run


@dataclass(frozen=True)
class Branch:
    source: str
    path: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    is_async: bool
    wants_config: bool
    input_schema: StateSchema | None = None

    def targets(self) -> list[str] | None:
        return None if self.path_map is None else list(self.path_map.values())


@dataclass(frozen=True)
class GraphSpec:
    """The validated, immutable shape of a graph."""

    schema: StateSchema
    nodes: dict[str, NodeSpec]
    edges: dict[str, tuple[str, ...]]  # source -> static targets
    joins: tuple[tuple[tuple[str, ...], str], ...]  # (sources waited for, target)
    branches: dict[str, tuple[Branch, ...]]
    order: dict[str, int] = field(default_factory=dict)  # node -> position it was added at
    input_keys: frozenset[str] | None = None  # from input_schema: the input keys a run takes
    output_keys: frozenset[str] | None = None  # from output_schema: the keys invoke returns
    context_schema: Any = None
