"""The graphs a server serves, loaded from a `langgraph.json`-style file.

    {"graphs": {"agent": "examples/text_revision.py:graph"},
     "sluice": {"agent": {"slack_channel": "C012", "approvers": ["U034"]}}}

An entry is `path.py:attr` (relative to the file) or `package.module:attr`; the attribute may be
a `StateGraph`, a compiled graph, or a factory returning either. The optional `sluice` section
holds per-assistant settings (`bot.assistant_settings`). A graph's name is its assistant id.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.assistant_settings import AssistantSettings, SettingsProblem, parse_section, startup_problem
from engine import CompiledGraph, StateGraph

# Assistant ids the LangGraph server derives from a graph id: uuid5 over this namespace, so a
# client may address an assistant by name or by that id.
ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


class RegistryError(Exception):
    """The graphs file or one of its entries cannot be loaded; the message names which."""


@dataclass(frozen=True)
class Assistant:
    graph_id: str
    assistant_id: str
    graph: CompiledGraph
    slack_channel: str | None = None
    approvers: frozenset[str] = field(default_factory=frozenset)
    created_at: str = "1970-01-01T00:00:00+00:00"
    settings: AssistantSettings = field(default_factory=AssistantSettings)


def assistant_uuid(graph_id: str) -> str:
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))


class Registry:
    def __init__(self, assistants: dict[str, Assistant]) -> None:
        self._by_name = assistants
        self._by_uuid = {a.assistant_id: a for a in assistants.values()}

    def __iter__(self) -> Any:
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return list(self._by_name)

    def find(self, assistant_id: str) -> Assistant | None:
        """By graph name or by the assistant's uuid."""
        return self._by_name.get(assistant_id) or self._by_uuid.get(assistant_id)

    @classmethod
    def from_graphs(cls, graphs: dict[str, Any], section: Any = None) -> Registry:
        """`section` is the graphs file's `sluice` object; RegistryError naming a bad key."""
        try:
            per_assistant = parse_section(section, list(graphs))
        except SettingsProblem as exc:
            raise RegistryError(str(exc)) from None
        assistants = {}
        for name, obj in graphs.items():
            settings = per_assistant.get(name) or AssistantSettings()
            graph = _as_compiled(name, obj)
            problem = startup_problem(name, graph, settings)
            if problem:
                raise RegistryError(problem)
            assistants[name] = Assistant(
                graph_id=name,
                assistant_id=assistant_uuid(name),
                graph=graph,
                slack_channel=settings.slack_channel,
                approvers=frozenset(settings.approvers),
                settings=settings,
            )
        return cls(assistants)

    @classmethod
    def load(cls, path: Path) -> Registry:
        try:
            spec = json.loads(path.read_text())
        except FileNotFoundError:
            raise RegistryError(
                f"graphs file {path} not found: create it (see README) or point SLUICE_GRAPHS at it"
            ) from None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"graphs file {path} is not readable JSON: {exc}") from exc
        graphs = spec.get("graphs") if isinstance(spec, dict) else None
        if not isinstance(graphs, dict) or not graphs:
            raise RegistryError(f'graphs file {path} has no "graphs" object naming at least one graph')
        base = path.resolve().parent
        loaded = {name: _import(base, name, ref) for name, ref in graphs.items()}
        try:
            return cls.from_graphs(loaded, spec.get("sluice"))
        except RegistryError as exc:
            raise RegistryError(f"graphs file {path}: {exc}") from None


def _import(base: Path, name: str, ref: Any) -> Any:
    if not isinstance(ref, str) or ":" not in ref:
        raise RegistryError(f"graph {name!r}: expected 'path/to/file.py:attribute', got {ref!r}")
    where, attr = ref.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            file = (base / where).resolve()
            if not file.is_file():
                raise RegistryError(f"graph {name!r}: file {file} not found")
            module_name = f"sluice_graphs.{file.stem}_{abs(hash(str(file)))}"
            module = sys.modules.get(module_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(module_name, file)
                if spec is None or spec.loader is None:
                    raise RegistryError(f"graph {name!r}: cannot import {file}")
                module = importlib.util.module_from_spec(spec)
                # Registered before running, so string annotations (reducers) resolve through it.
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except RegistryError:
        raise
    except Exception as exc:
        raise RegistryError(
            f"graph {name!r}: importing {where} failed{_where_it_failed(exc)}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise RegistryError(f"graph {name!r}: {where} has no attribute {attr!r}") from None


def _as_compiled(name: str, obj: Any) -> CompiledGraph:
    if isinstance(obj, CompiledGraph):
        return obj
    if isinstance(obj, StateGraph):
        return obj.compile()
    if callable(obj):
        try:
            produced = obj({}) if _takes_argument(obj) else obj()
        except Exception as exc:
            raise RegistryError(
                f"graph {name!r}: its factory failed{_where_it_failed(exc)}: {type(exc).__name__}: {exc}"
            ) from exc
        if inspect.isawaitable(produced):
            if inspect.iscoroutine(produced):
                produced.close()  # never run: closed, so no "coroutine was never awaited" warning follows
            raise RegistryError(f"graph {name!r}: async factories are not supported; return the graph directly")
        if isinstance(produced, (CompiledGraph, StateGraph)):
            return _as_compiled(name, produced)
    raise RegistryError(f"graph {name!r}: expected a StateGraph, a compiled graph or a factory, got {type(obj).__name__}")


def _takes_argument(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


# Frames that are not the graph author's code: Python's own, installed packages, Sluice itself.
_HERE = Path(__file__).resolve().parent
_NOT_THEIRS = tuple(str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, _HERE, _HERE.parent / "engine"))


def _where_it_failed(exc: BaseException) -> str:
    """` at file.py, line N`: the innermost frame of the graph author's code (else the innermost)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename}, line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    theirs = [f for f in frames if not str(Path(f.filename).resolve()).startswith(_NOT_THEIRS)]
    frames = theirs or frames
    if not frames:
        return ""
    return f" at {frames[-1].filename}, line {frames[-1].lineno}"
