"""Per-assistant settings: the graphs file's `sluice` section, validated at start-up.

    {"sluice": {"deploy": {"slack_channel": "C012", "approvers": ["U034", "S056"],
                           "notify_on_finish": false, "deadline_seconds": 3600, ...}}}

Every key is known here (issue 12's governance keys included), so a typo is an error naming the
key instead of a setting silently ignored.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.slack_ids import approver_problem, channel_problem, split_ids


class SettingsProblem(Exception):
    """The section is malformed; the message names the assistant and key."""


def _approver_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (str, list, tuple)):
        raise ValueError("must be a list of Slack user or user-group ids, or a comma-separated string")
    problem = approver_problem(value)
    if problem:
        raise ValueError(problem)
    return tuple(split_ids(value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ResumeWith(_Strict):
    """`{"resume": <any JSON>}`: what a timeout resumes the graph with."""

    resume: Any

    @field_validator("resume")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # Command(resume=None) resumes nothing: the timed-out run would fail
            raise ValueError('null cannot be a resume value: a graph is never resumed with null; give a value')
        return value


def _channel_id(value: Any) -> Any:
    problem = None if value is None else channel_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class Escalation(_Strict):
    slack_channel: str = Field(min_length=1)
    approvers: tuple[str, ...] = ()
    deadline_seconds: float | None = Field(default=None, gt=0)

    _ids = field_validator("approvers", mode="before")(classmethod(lambda cls, v: _approver_ids(v)))
    _channel = field_validator("slack_channel", mode="before")(classmethod(lambda cls, v: _channel_id(v)))


class AssistantSettings(_Strict):
    slack_channel: str | None = None
    approvers: tuple[str, ...] = ()
    deadline_seconds: float | None = Field(default=None, gt=0)
    remind_every_seconds: float | None = Field(default=None, gt=0)
    on_timeout: Literal["reject", "approve", "expire", "escalate"] | ResumeWith | None = None
    escalate_to: Escalation | None = None
    required_approvals: int = Field(default=1, ge=1)
    allow_self_approval: bool = True
    notify_on_finish: bool = True

    _ids = field_validator("approvers", mode="before")(classmethod(lambda cls, v: _approver_ids(v)))
    _channel = field_validator("slack_channel", mode="before")(classmethod(lambda cls, v: _channel_id(v)))


KNOWN_KEYS = tuple(AssistantSettings.model_fields)


def parse_section(section: Any, graph_names: list[str]) -> dict[str, AssistantSettings]:
    """The `sluice` section as settings per assistant; SettingsProblem naming the first bad key."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise SettingsProblem('"sluice" must be an object of per-assistant settings, keyed by graph name')
    parsed = {}
    for name, raw in section.items():
        if name not in graph_names:
            raise SettingsProblem(
                f'"sluice" names {name!r}, which is not one of the graphs ({", ".join(graph_names)})'
            )
        if not isinstance(raw, dict):
            raise SettingsProblem(f'"sluice.{name}" must be an object, got {type(raw).__name__}')
        try:
            parsed[name] = AssistantSettings.model_validate(raw)
        except ValidationError as exc:
            raise SettingsProblem(_describe(name, exc)) from None
    return parsed


def run_settings_problem(config: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None = None) -> str | None:
    """Why a run's `config.configurable.sluice` (or the Slack channel it names for its pauses, in its
    configurable or metadata) is not acceptable, or None."""
    configurable = (config or {}).get("configurable") or {}
    for where, source in (("config.configurable", configurable), ("metadata", metadata or {})):
        channel = source.get("slack_channel") if isinstance(source, Mapping) else None
        if channel and (problem := channel_problem(channel)):
            return f"{where}.slack_channel: {problem}"
    raw = configurable.get("sluice") if isinstance(configurable, Mapping) else None
    if raw is None:
        return None
    try:
        parse_section({"run": raw}, ["run"])
    except SettingsProblem as exc:
        return "config.configurable." + str(exc).replace('"sluice.run"', "sluice", 1)
    return None


def _describe(name: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"] if not str(part).startswith(("literal[", "ResumeWith")))
        if error["type"] == "extra_forbidden":
            known = KNOWN_KEYS if len(error["loc"]) == 1 else tuple(Escalation.model_fields)
            problems.append(f'unknown key "{where}" (known keys: {", ".join(known)})')
        elif where == "on_timeout":
            problems.append('"on_timeout": must be "reject", "approve", "expire", "escalate" or {"resume": <value>}')
        else:
            problems.append(f'"{where}": {str(error["msg"]).removeprefix("Value error, ")}')
    return f'"sluice.{name}": ' + "; ".join(dict.fromkeys(problems))


# --- start-up: a text revision cannot be rejected by a timeout ---------------------------------


def text_revision_only(graph: Any) -> bool:
    """True when every `interrupt(...)` in the graph's nodes asks to revise one text (a dict literal
    with one key), so a timeout's "reject" means nothing; False when any call says otherwise or the
    source cannot be read (then nothing is refused at start-up)."""
    calls = []
    for node in getattr(getattr(graph, "spec", None), "nodes", {}).values():
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(node.action)))
        except (OSError, TypeError, SyntaxError):
            return False
        calls += [
            c for c in ast.walk(tree)
            if isinstance(c, ast.Call) and getattr(c.func, "id", getattr(c.func, "attr", None)) == "interrupt"
        ]
    return bool(calls) and all(
        c.args and isinstance(c.args[0], ast.Dict) and len(c.args[0].keys) == 1
        and isinstance(c.args[0].keys[0], ast.Constant) and isinstance(c.args[0].keys[0].value, str)
        and not c.keywords
        for c in calls
    )


def startup_problem(name: str, graph: Any, settings: AssistantSettings) -> str | None:
    if settings.on_timeout == "reject" and text_revision_only(graph):
        return (
            f'"sluice.{name}.on_timeout": "reject" means nothing for a text to revise (it has no reject); '
            'use "approve" (the text as proposed), "expire" or {"resume": <value>}'
        )
    return None
