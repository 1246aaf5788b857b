"""A compiled graph's drawing: its nodes and edges as JSON, in the shape the LangGraph server answers
`GET /assistants/{id}/graph` with. Read-only: it looks at the spec, it never runs a node.

    {"nodes": [{"id": "__start__", "type": "runnable", "data": {"name": "__start__"}}, ...,
               {"id": "__end__"}],
     "edges": [{"source": "a", "target": "b"},
               {"source": "a", "target": "c", "conditional": true, "data": "<path_map key>"}]}

Edges come from the spec: static edges, each source of a waiting edge (`add_edge([a, b], c)`),
conditional edges to the targets of their path map or, without one, to those the routing
function's return annotation names (`-> Literal["a", "b"]`), and a node's
`-> Command[Literal[...]]`. A node that edges lead to and that leads nowhere itself ends the run:
it gets an edge to `__end__`. With `xray`, a subgraph node is replaced by the subgraph's own nodes
(ids prefixed `"<node>:"`), to the depth `xray` gives (`True`: all).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin, get_type_hints

from .types import END, START, Command

if TYPE_CHECKING:
    from .pregel import CompiledGraph


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    conditional: bool = False
    data: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "target": self.target}
        if self.data is not None:
            out["data"] = self.data
        if self.conditional:
            out["conditional"] = True
        return out


@dataclass
class Drawing:
    nodes: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # id -> metadata; None for __end__
    edges: list[Edge] = field(default_factory=list)

    def add_edge(self, edge: Edge) -> None:
        if edge.target == END and END not in self.nodes:
            self.nodes[END] = None
        if not any(e.source == edge.source and e.target == edge.target for e in self.edges):
            self.edges.append(edge)

    def to_json(self) -> dict[str, Any]:
        nodes = []
        for node_id, metadata in self.nodes.items():
            if node_id == END:
                nodes.append({"id": END})
                continue
            node: dict[str, Any] = {"id": node_id, "type": "runnable", "data": {"name": node_id}}
            if metadata:
                node["metadata"] = metadata
            nodes.append(node)
        return {"nodes": nodes, "edges": [e.to_json() for e in self.edges]}


def graph_json(graph: CompiledGraph, xray: bool | int = False) -> dict[str, Any]:
    return draw(graph, xray).to_json()


def draw(graph: CompiledGraph, xray: bool | int = False) -> Drawing:
    spec = graph.spec
    drawing = Drawing()
    drawing.nodes[START] = {}
    for name, node in spec.nodes.items():
        drawing.nodes[name] = _node_metadata(graph, name, node.metadata)
    found: list[Edge] = []
    for source, targets in spec.edges.items():
        found.extend(Edge(source, target) for target in targets)
    for sources, target in spec.joins:
        found.extend(Edge(source, target) for source in sources)
    for source, branches in spec.branches.items():
        for branch in branches:
            found.extend(Edge(source, target, True, label) for label, target in _branch_targets(branch.path, branch.path_map))
    for name, node in spec.nodes.items():
        if not node.is_subgraph:
            found.extend(Edge(name, target, True) for target in _command_targets(node.action))
    # Edges to END last (as LangGraph lists them), each pair once.
    for edge in sorted(found, key=lambda e: e.target == END):
        drawing.add_edge(edge)
    leads = {e.source for e in drawing.edges}
    for ending in [t for t in dict.fromkeys(e.target for e in drawing.edges) if t != END and t not in leads]:
        drawing.add_edge(Edge(ending, END))
    if xray:
        for name, node in spec.nodes.items():
            if node.is_subgraph:
                _inline(drawing, name, draw(node.action, xray if xray is True else int(xray) - 1))
    return drawing


def _node_metadata(graph: CompiledGraph, name: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(metadata or {})
    before = graph.interrupt_before_nodes == "*" or name in graph.interrupt_before_nodes
    after = graph.interrupt_after_nodes == "*" or name in graph.interrupt_after_nodes
    if before or after:
        out["__interrupt"] = ",".join(w for w, on in (("before", before), ("after", after)) if on)
    if graph.spec.nodes[name].defer:
        out["defer"] = True
    return out


def _branch_targets(path: Any, path_map: dict[Hashable, str] | None) -> list[tuple[str | None, str]]:
    """(label, target) of a conditional edge: the label is the path map's key when it is not the target."""
    if path_map is not None:
        return [(None if str(key) == target else str(key), target) for key, target in path_map.items()]
    return [(None, target) for target in _literal_names(_return_hint(path))]


def _command_targets(action: Any) -> list[str]:
    ret = _return_hint(action)
    if get_origin(ret) is Command:
        return [name for arg in get_args(ret) for name in _literal_names(arg)]
    return []


def _return_hint(fn: Any) -> Any:
    try:
        return get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: nothing to learn from them
        try:
            return get_type_hints(type(fn).__call__).get("return")
        except Exception:
            return None


def _literal_names(hint: Any) -> list[str]:
    if get_origin(hint) is Literal:
        return [str(arg) for arg in get_args(hint)]
    return [name for arg in get_args(hint) for name in _literal_names(arg)] if hint is not None else []


def _inline(drawing: Drawing, name: str, inner: Drawing) -> None:
    """Replace node `name` by the subgraph's nodes when it has one first and one last node."""
    firsts = [e.target for e in inner.edges if e.source == START]
    lasts = [e.source for e in inner.edges if e.target == END]
    if len(firsts) != 1 or len(lasts) != 1 or firsts[0] == END:
        return
    prefixed = {node_id: f"{name}:{node_id}" for node_id in inner.nodes if node_id not in (START, END)}
    del drawing.nodes[name]
    for node_id, metadata in inner.nodes.items():
        if node_id in prefixed:
            drawing.nodes[prefixed[node_id]] = metadata
    first, last = prefixed[firsts[0]], prefixed[lasts[0]]
    rewired = []
    for edge in drawing.edges:
        source = last if edge.source == name else edge.source
        target = first if edge.target == name else edge.target
        rewired.append(Edge(source, target, edge.conditional, edge.data))
    inside = [
        Edge(prefixed[e.source], prefixed[e.target], e.conditional, e.data)
        for e in inner.edges
        if e.source in prefixed and e.target in prefixed
    ]
    drawing.edges = rewired + inside
