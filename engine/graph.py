"""StateGraph: the builder LangGraph users know, compiled into an immutable CompiledGraph."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from types import GenericAlias
from typing import TYPE_CHECKING, Any, Literal

from .checkpoint.base import Checkpointer
from .errors import GraphBuildError
from .pregel import CompiledGraph
from .retry import retry_policies_of
from .signatures import (
    input_schema_of,
    is_async_callable,
    may_return_command,
    node_name,
    schema_keys,
    wants_config,
    wants_runtime,
    wants_writer,
)
from .spec import Branch, Breakpoints, GraphSpec, NodeSpec
from .state import StateSchema
from .types import END, START

if TYPE_CHECKING:
    from .managed import ManagedValue

_RESERVED_CHARS = ("|", ":")


class StateGraph:
    """Build a graph whose nodes read and update a shared state."""

    def __class_getitem__(cls, item: Any) -> GenericAlias:
        """`StateGraph[State]` in annotations, as LangGraph's builder is generic in its state."""
        return GenericAlias(cls, item)

    def __init__(
        self,
        state_schema: Any = None,
        config_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
        context_schema: Any = None,
        **_: Any,
    ) -> None:
        if state_schema is None:
            raise GraphBuildError("StateGraph needs a state schema, e.g. StateGraph(State) with a TypedDict State.")
        self.schema = StateSchema(state_schema)
        self.input_schema, self.output_schema = input_schema, output_schema  # read by schemas_json
        own_keys = None if self.schema.accepts_any_key() or self.schema.kind == "root" else frozenset(self.schema.keys)
        self.input_keys = schema_keys(input_schema) or own_keys
        self.output_keys = schema_keys(output_schema) or own_keys
        # Keys only an input, output or node schema names are channels too, private to who names them.
        self._extra_schemas = [StateSchema(s) for s in (input_schema, output_schema) if s is not None]
        self._node_schemas: dict[Any, StateSchema] = {state_schema: self.schema}
        self.context_schema = context_schema
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: set[tuple[str, str]] = set()
        self._edge_order: list[tuple[str, str]] = []
        self.joins: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, list[Branch]] = {}
        self.compiled = False

    # -- nodes ---------------------------------------------------------------------------------
    def add_node(
        self, node: Any, action: Any = None, *, metadata: dict[str, Any] | None = None, **options: Any
    ) -> StateGraph:
        if action is None:
            action = node
            name = node_name(node)
            if name is None:
                raise GraphBuildError(f"Cannot infer a name for node {node!r}: pass add_node('name', action).")
        else:
            name = node
        if not isinstance(name, str) or not name:
            raise GraphBuildError(f"Node names must be non-empty strings, got {name!r}")
        if name in (START, END):
            raise GraphBuildError(f"Node name '{name}' is reserved")
        if any(c in name for c in _RESERVED_CHARS):
            raise GraphBuildError(f"Node name '{name}' must not contain '|' or ':'")
        if name in self.nodes:
            raise GraphBuildError(f"Node `{name}` already present.")
        if not (callable(action) or _is_compiled(action)):
            raise GraphBuildError(f"Node '{name}' must be a function or a compiled graph, got {type(action).__name__}")
        sub = _is_compiled(action)
        self.nodes[name] = NodeSpec(
            name=name,
            action=action,
            is_subgraph=sub,
            is_async=sub or is_async_callable(action),
            wants_config=False if sub else wants_config(action),
            metadata=metadata,
            wants_runtime=False if sub else wants_runtime(action),
            retry=retry_policies_of(options),
            input_schema=self._schema_for(options.get("input_schema") or (None if sub else input_schema_of(action))),
            wants_writer=False if sub else wants_writer(action),
            defer=bool(options.get("defer", False)),
        )
        return self

    def _schema_for(self, schema: Any) -> StateSchema:
        """The StateSchema a node or routing function reads with (the graph's own by default)."""
        if schema is None:
            return self.schema
        if schema not in self._node_schemas:
            self._node_schemas[schema] = StateSchema(schema)
        return self._node_schemas[schema]

    @property
    def managed(self) -> dict[str, ManagedValue]:
        """The managed keys of the state (RemainingSteps, IsLastStep)."""
        return dict(self.schema.managed)

    def add_sequence(self, nodes: Sequence[Any]) -> StateGraph:
        if len(nodes) < 1:
            raise GraphBuildError("Sequence requires at least one node.")
        names = [item[0] if isinstance(item, tuple) else node_name(item) for item in nodes]
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise GraphBuildError(f"Node names must be unique: node with the name '{duplicate}' already exists")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                self.add_node(item[0], item[1])
                name = item[0]
            else:
                self.add_node(item)
                name = list(self.nodes)[-1]
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    # -- edges ---------------------------------------------------------------------------------
    def add_edge(self, start_key: str | list[str], end_key: str) -> StateGraph:
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphBuildError("END cannot be a start node")
            if end_key == START:
                raise GraphBuildError("START cannot be an end node")
            if (start_key, end_key) not in self.edges:
                self.edges.add((start_key, end_key))
                self._edge_order.append((start_key, end_key))
            return self
        sources = tuple(start_key)
        if not sources:
            raise GraphBuildError("add_edge() needs at least one start node")
        for s in sources:
            if s == END:
                raise GraphBuildError("END cannot be a start node")
        if len(sources) == 1:
            return self.add_edge(sources[0], end_key)
        self.joins.append((sources, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: dict[Hashable, str] | list[str] | None = None,
    ) -> StateGraph:
        if isinstance(path_map, list):
            mapping: dict[Hashable, str] | None = {name: name for name in path_map}
        elif isinstance(path_map, dict):
            mapping = dict(path_map)
        else:
            mapping = None
        branch = Branch(source, path, mapping, is_async_callable(path), wants_config(path),
                        self._schema_for(input_schema_of(path)))
        self.branches.setdefault(source, []).append(branch)
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        return self.add_edge(START, key)

    def set_conditional_entry_point(self, path: Callable[..., Any], path_map: Any = None) -> StateGraph:
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        return self.add_edge(key, END)

    # -- compile -------------------------------------------------------------------------------
    def validate(self, interrupt_nodes: Sequence[str]) -> GraphSpec:
        known = set(self.nodes)
        for source, target in self._edge_order:
            if source != START and source not in known:
                raise GraphBuildError(f"Found edge starting at unknown node `{source}`")
            if target != END and target not in known:
                raise GraphBuildError(f"Found edge ending at unknown node `{target}`")
        for sources, target in self.joins:
            for s in sources:
                if s != START and s not in known:
                    raise GraphBuildError(f"Found edge starting at unknown node `{s}`")
            if target != END and target not in known:
                raise GraphBuildError(f"Found edge ending at unknown node `{target}`")
        for source, branches in self.branches.items():
            if source != START and source not in known:
                raise GraphBuildError(f"Found conditional edge starting at unknown node `{source}`")
            for branch in branches:
                for target in branch.targets() or ():
                    if target != END and target not in known:
                        raise GraphBuildError(f"Found conditional edge from '{source}' to unknown node `{target}`")
        has_entry = any(s == START for s, _ in self._edge_order) or START in self.branches
        if not has_entry:
            raise GraphBuildError(
                "Graph must have an entrypoint: add at least one edge from START to another node. "
                "For example: builder.add_edge(START, 'first_node')."
            )
        for name in interrupt_nodes:
            if name not in known:
                raise GraphBuildError(f"Interrupt node `{name}` not found")
        self._check_end_reachable()
        edges: dict[str, list[str]] = {}
        for source, target in self._edge_order:
            edges.setdefault(source, []).append(target)
        return GraphSpec(
            schema=self.schema.merged([*self._extra_schemas, *self._node_schemas.values()]),
            nodes=dict(self.nodes),
            edges={k: tuple(v) for k, v in edges.items()},
            joins=tuple(self.joins),
            branches={k: tuple(v) for k, v in self.branches.items()},
            order={name: i for i, name in enumerate(self.nodes)},
            input_keys=self.input_keys,
            output_keys=self.output_keys,
            context_schema=self.context_schema,
        )

    def _check_end_reachable(self) -> None:
        """Refuse graphs that can only loop forever: every path is static and none reaches END."""
        if self.branches or any(not n.is_subgraph and may_return_command(n.action) for n in self.nodes.values()):
            return
        successors: dict[str, set[str]] = {}
        for source, target in self._edge_order:
            successors.setdefault(source, set()).add(target)
        for sources, target in self.joins:
            for s in sources:
                successors.setdefault(s, set()).add(target)
        seen: set[str] = set()
        stack = [START]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            nxt = successors.get(node, set())
            if node != START and (not nxt or END in nxt):
                return  # a node without outgoing edges, or an edge to END, finishes the run
            stack.extend(nxt - {END})
        raise GraphBuildError(
            "END is unreachable: every path from START loops forever. Add an edge to END or a conditional edge."
        )

    def compile(
        self,
        checkpointer: Checkpointer | None | Literal[False] = None,
        *,
        interrupt_before: Sequence[str] | Literal["*"] | None = None,
        interrupt_after: Sequence[str] | Literal["*"] | None = None,
        name: str | None = None,
        debug: bool = False,
        **_: Any,
    ) -> CompiledGraph:
        before = _breakpoint_list(interrupt_before)
        after = _breakpoint_list(interrupt_after)
        if not isinstance(checkpointer, (bool, type(None), Checkpointer)):
            raise TypeError(
                f"Invalid checkpointer provided. Expected an engine checkpointer (e.g. InMemorySaver, RedisSaver), "
                f"True, False or None, got {type(checkpointer).__name__}."
            )
        named = [n for n in (*(before if before != "*" else ()), *(after if after != "*" else ()))]
        spec = self.validate(named)
        self.compiled = True
        return CompiledGraph(
            spec=spec,
            builder=self,
            checkpointer=checkpointer,
            interrupt_before=before,
            interrupt_after=after,
            name=name or "LangGraph",
        )


def _breakpoint_list(value: Sequence[str] | str | None) -> Breakpoints:
    if value is None:
        return ()
    if value == "*":
        return "*"
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _is_compiled(obj: Any) -> bool:
    return isinstance(obj, CompiledGraph)
