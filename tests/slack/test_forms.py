"""Forms from JSON Schema: which input each schema gets, what a submission reads back as, and the
field errors a bad answer gets. Schemas come from pydantic (as LangGraph publishes them) and from
real LangChain per-call tool approvals; views are checked with the local Slack's validator."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from bot.playground.block_kit import view_errors
from bot.slack import blocks, forms
from bot.slack.form_blocks import field_blocks, read_answer
from bot.slack.form_check import check
from bot.slack.form_schema import MISSING, SchemaError, build_form
from bot.slack.pause import ButtonRef, Pause, PendingInterrupt
from bot.slack.prompts import FormPrompt, SlotDecision, ToolPrompt, classify, resume_value
from tests.slack.langchain_pauses import Agent, real_pauses

REF = ButtonRef("thread-1", "ckpt-1", "a" * 32, "0.0", "answer")


class Stage(enum.StrEnum):
    canary = "canary"
    full = "full"


class Release(BaseModel):
    """Ship or hold release 2.4."""

    decision: Literal["ship", "hold"] = Field(description="Ship now, or hold it back.")
    risk: int = Field(ge=1, le=5, title="Risk (1-5)")
    reason: str = Field(max_length=500)
    stage: Stage = Stage.canary
    freeze_until: datetime.date | None = None
    notify: bool = True
    channels: list[Literal["eng", "ops", "sales", "support", "legal", "exec"]] = []
    owner_email: str = Field(default="ops@example.com", json_schema_extra={"format": "email"})
    rollout: dict[str, int] | None = None


def kinds(schema: dict[str, Any]) -> dict[str | None, str]:
    return {f.key: f.kind for f in build_form(schema).fields}


def elements(schema: dict[str, Any], initial: Any = MISSING) -> dict[str, dict[str, Any]]:
    return {b["label"]["text"]: b for b in field_blocks(build_form(schema, initial)) if b["type"] == "input"}


def state(**values: dict[str, Any]) -> dict[str, Any]:
    """Slack's `view.state.values` for inputs field.<n>: {"field.3": {...}} written as f3={...}."""
    return {f"field.{k[1:]}": {"value": v} for k, v in values.items()}


def test_a_pydantic_model_becomes_typed_inputs() -> None:
    schema = Release.model_json_schema()
    assert kinds(schema) == {
        "decision": "choice",
        "risk": "number",
        "reason": "text",
        "stage": "choice",  # an Enum class behind a $ref
        "freeze_until": "date",  # Optional[date]: anyOf with null
        "notify": "boolean",
        "channels": "multi_choice",
        "owner_email": "email",
        "rollout": "json",  # a free mapping: nothing a form can type
    }
    by_label = elements(schema)
    decision = by_label["Decision"]
    assert decision["element"]["type"] == "radio_buttons" and decision["optional"] is False
    assert decision["hint"]["text"] == "Ship now, or hold it back."
    risk = by_label["Risk (1-5)"]["element"]
    assert risk == {
        "type": "number_input", "is_decimal_allowed": False, "min_value": "1", "max_value": "5", "action_id": "value"
    }
    assert by_label["Reason"]["element"]["multiline"] and by_label["Reason"]["element"]["max_length"] == 500
    assert by_label["Stage"]["element"]["initial_option"]["text"]["text"] == "canary"  # the default
    assert by_label["Freeze Until"]["optional"] and by_label["Freeze Until"]["element"]["type"] == "datepicker"
    notify = by_label["Notify"]["element"]
    assert [o["text"]["text"] for o in notify["options"]] == ["Yes", "No"] and notify["initial_option"]["value"] == "0"
    assert by_label["Channels"]["element"]["type"] == "multi_static_select"  # 6 options: more than a few
    assert by_label["Owner Email"]["element"] == {
        "type": "email_text_input", "initial_value": "ops@example.com", "action_id": "value"
    }
    assert by_label["Rollout"]["element"]["multiline"] and "JSON object" in by_label["Rollout"]["hint"]["text"]
    view = forms.answer_modal(REF, FormPrompt("Ship 2.4?", schema))
    assert view_errors(view) == [] and view["title"]["text"] == "Release"


def test_formats_bounds_and_shapes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "site": {"type": "string", "format": "uri"},
            "at": {"type": "string", "format": "date-time", "default": "2026-11-27T10:30:00Z"},
            "time": {"type": "string", "format": "time", "default": "09:15:00"},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.25},
            "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
            "tags": {"type": "array", "items": {"type": "string"}},
            "level": {"enum": [1, 2, 3, None]},
            "mode": {"const": "fast"},
            "pairs": {"type": "array", "items": {"type": "object"}},
            "size": {"type": "string", "enum": [f"s{i}" for i in range(40)]},
            "huge": {"type": "string", "enum": [f"h{i}" for i in range(101)]},
            "picks": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1},
        },
        "required": ["site", "count", "picks"],
    }
    by_label = elements(schema)
    assert by_label["Site"]["element"]["type"] == "url_text_input"
    assert by_label["At"]["element"]["initial_date_time"] == int(datetime.datetime(2026, 11, 27, 10, 30, tzinfo=datetime.UTC).timestamp())
    assert by_label["Time"]["element"] == {"type": "timepicker", "initial_time": "09:15", "action_id": "value"}
    assert by_label["Ratio"]["element"]["is_decimal_allowed"] and by_label["Ratio"]["element"]["initial_value"] == "0.25"
    count = by_label["Count"]["element"]
    assert (count["min_value"], count["max_value"]) == ("1", "9")  # exclusive bounds of a whole number
    assert by_label["Tags"]["element"]["type"] == "plain_text_input" and by_label["Tags"]["element"]["multiline"]
    assert [o["text"]["text"] for o in by_label["Level"]["element"]["options"]] == ["1", "2", "3", "null"]
    assert by_label["Mode"]["element"]["initial_option"]["text"]["text"] == "fast"  # const: chosen already
    assert kinds(schema)["pairs"] == "json" and kinds(schema)["huge"] == "json"  # Slack allows 100 options
    assert by_label["Size"]["element"]["type"] == "static_select" and len(by_label["Size"]["element"]["options"]) == 40
    picks = by_label["Picks"]
    assert picks["element"]["type"] == "checkboxes" and picks["optional"] is False
    assert view_errors(forms.answer_modal(REF, FormPrompt("?", schema))) == []


def test_a_schema_that_is_not_an_object_is_one_field() -> None:
    assert kinds({"type": "integer", "minimum": 0}) == {None: "number"}
    assert kinds({"type": "string", "enum": ["yes", "no"], "title": "Go?"}) == {None: "choice"}
    form = build_form({"anyOf": [{"type": "integer"}, {"type": "string"}]})
    assert [f.kind for f in form.fields] == ["json"]
    value, errors = read_answer(form, state(f0={"type": "plain_text_input", "value": "12"}))
    assert (value, errors) == (12, {})
    assert check(form, [1]) == {"field.0": "Must be a whole number."}  # the closest branch's complaint


def test_a_submission_reads_back_typed_and_bad_values_get_field_errors() -> None:
    schema = Release.model_json_schema()
    form = build_form(schema)
    submitted = state(
        f0={"type": "radio_buttons", "selected_option": {"value": "1"}},
        f1={"type": "number_input", "value": "9"},
        f2={"type": "plain_text_input", "value": "Error rate doubled"},
        f3={"type": "radio_buttons", "selected_option": {"value": "1"}},
        f4={"type": "datepicker", "selected_date": None},
        f5={"type": "radio_buttons", "selected_option": {"value": "1"}},
        f6={"type": "multi_static_select", "selected_options": [{"value": "1"}, {"value": "0"}]},
        f7={"type": "email_text_input", "value": "not-an-email"},
        f8={"type": "plain_text_input", "value": '{"eu": "half"}'},
    )
    answer, errors = read_answer(form, submitted)
    assert errors == {}
    assert answer == {
        "decision": "hold", "risk": 9, "reason": "Error rate doubled", "stage": "full", "freeze_until": None,
        "notify": False, "channels": ["ops", "eng"], "owner_email": "not-an-email", "rollout": {"eu": "half"},
    }
    assert check(form, answer) == {
        "field.1": "Must be at most 5.",
        "field.7": "Must be a valid email.",
        "field.8": "eu: Must be a whole number.",
    }
    fixed = {**answer, "risk": 4, "owner_email": "ops@example.com", "rollout": {"eu": 50}}
    assert check(form, fixed) == {} and Release.model_validate(fixed).risk == 4
    unparsable = state(f1={"type": "number_input", "value": "2.5"}, f8={"type": "plain_text_input", "value": "{eu"})
    _, errors = read_answer(form, {**submitted, **unparsable})
    assert errors["field.1"] == "Must be a whole number." and errors["field.8"].startswith("Not valid JSON")
    missing = {k: v for k, v in submitted.items() if k != "field.2"}
    assert read_answer(form, missing)[1] == {"field.2": "Required."}


def test_times_and_dates_read_back_as_json_schema_strings() -> None:
    schema = {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "time": {"type": "string", "format": "time"},
            "day": {"type": "string", "format": "date"},
        },
    }
    answer, _ = read_answer(
        build_form(schema),
        state(
            f0={"type": "datetimepicker", "selected_date_time": 1_795_000_000},
            f1={"type": "timepicker", "selected_time": "14:05"},
            f2={"type": "datepicker", "selected_date": "2026-12-01"},
        ),
    )
    assert answer == {"at": "2026-11-18T11:06:40Z", "time": "14:05:00", "day": "2026-12-01"}


def test_slack_limits_are_kept() -> None:
    long = "x" * 2500
    schema = {
        "type": "object",
        "title": "A title longer than twenty-four characters",
        "properties": {
            "a": {"type": "string", "title": long, "description": long},
            "b": {"enum": ["y" * 200, "z"]},
            "c": {"type": "string", "default": "w" * 4000},
        },
    }
    view = forms.answer_modal(REF, FormPrompt("?", schema))
    assert view_errors(view) == []
    texts = json.dumps(view)
    assert "w" * 4000 not in texts and "kept as it is" in texts  # too long for an input: sent back unchanged
    form = build_form(schema)
    answer, _ = read_answer(form, state(f0={"type": "plain_text_input", "value": "a"}))
    assert answer["c"] == "w" * 4000
    many = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(120)}}
    assert kinds(many) == {None: "json"}  # more fields than a modal holds: one JSON field


def test_bad_schemas_are_said_so() -> None:
    with pytest.raises(SchemaError, match="points nowhere"):
        build_form({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}})
    with pytest.raises(SchemaError, match="local"):
        build_form({"$ref": "https://example.com/schema.json"})
    view = forms.answer_modal(REF, FormPrompt("?", {"$ref": "#/nowhere"}))
    assert view_errors(view) == [] and "cannot be read" in json.dumps(view)


def test_a_pause_with_a_schema_shows_the_question_an_answer_button_and_then_the_answer() -> None:
    schema = Release.model_json_schema()
    pause = Pause("thread-1", "ckpt-1", "release", "run-1", (PendingInterrupt("a" * 32, {"question": "Ship 2.4?"}, schema),))
    prompt = pause.prompts[0]
    assert isinstance(prompt, FormPrompt)
    message = blocks.pause_blocks(pause)
    shown = json.dumps(message)
    assert "Ship 2.4?" in shown and "Ship or hold release 2.4." in shown
    assert [e["text"]["text"] for b in message if b["type"] == "actions" for e in b["elements"]] == ["Answer"]
    answer = {"decision": "ship", "risk": 2, "reason": "All green", "channels": ["eng", "ops"], "notify": True}
    decided = blocks.decided_blocks(pause, {"0.0": SlotDecision("answer", answer, "U1")}, 1_800_000_000)
    text = json.dumps(decided, ensure_ascii=False)
    assert "*Decision:* ship" in text and "*Risk (1-5):* 2" in text and "*Channels:* eng, ops" in text
    assert "*Notify:* Yes" in text and "Answered" in text and "actions" not in [b["type"] for b in decided]
    assert resume_value(prompt, [SlotDecision("answer", answer, "U1")]) == answer
    round_trip = Pause.from_json(pause.to_json())
    assert round_trip.interrupts[0].response_schema == schema


# --- LangChain per-call tool approvals ---------------------------------------------------------


def test_per_call_pauses_offer_exactly_the_decisions_their_schema_allows() -> None:
    pauses = real_pauses()
    offered = {}
    for name, real in pauses.items():
        prompt = classify(real.value, real.response_schema)
        assert isinstance(prompt, ToolPrompt) and prompt.shape == "tool_approval"
        offered[name] = prompt.actions[0].allowed
    assert offered == {
        "send_email": ("approve", "edit", "reject", "respond"),
        "delete_file": ("approve", "reject"),
        "schedule_meeting": ("approve", "edit"),
    }


def test_per_call_edit_is_a_typed_form_of_the_tools_arguments_prefilled() -> None:
    real = real_pauses()["schedule_meeting"]
    action = classify(real.value, real.response_schema).actions[0]  # type: ignore[union-attr]
    form = forms.edit_form(action)
    assert form is not None
    assert [(f.key, f.kind, f.initial) for f in form.fields] == [
        ("title", "text", "Q3 review"), ("minutes", "number", 30), ("attendees", "lines", ["ana", "bo"])
    ]
    ref = ButtonRef("thread-1", "ckpt-1", real.id, "0.0", "edit")
    view = forms.edit_modal(ref, action, form)
    assert view_errors(view) == []
    bad = state(f0={"type": "plain_text_input", "value": "Q3 review"}, f1={"type": "number_input", "value": "x"},
                f2={"type": "plain_text_input", "value": "ana\ncy"})
    assert forms.edit_value(action, form, bad)[1] == {"field.1": "Must be a number."}
    good = {**bad, **state(f1={"type": "number_input", "value": "45"})}
    args, errors = forms.edit_value(action, form, good)
    assert errors == {} and args == {"title": "Q3 review", "minutes": 45, "attendees": ["ana", "cy"]}
    decision = resume_value(classify(real.value, real.response_schema), [SlotDecision("edit", args, "U1")])
    assert decision == {"type": "edit", "edited_action": {"name": "schedule_meeting", "args": args}}
    agent = Agent()  # LangChain itself accepts what the form made, and runs the edited call
    ids = {name: p.id for name, p in agent.pauses().items()}
    results = agent.resume(
        {
            ids["schedule_meeting"]: decision,
            ids["send_email"]: {"type": "reject", "message": "not yet"},
            ids["delete_file"]: {"type": "approve"},
        }
    )
    assert results["schedule_meeting"].endswith("Meeting 'Q3 review', 45 min, with ana, cy")
    assert "not yet" in results["send_email"] and results["delete_file"] == "Deleted reports/q3-draft.txt"


def test_per_call_decisions_are_checked_against_the_whole_schema() -> None:
    real = real_pauses()["delete_file"]
    action = classify(real.value, real.response_schema).actions[0]  # type: ignore[union-attr]
    assert forms.decision_errors(action, SlotDecision("reject", "keep it"), {"part.0": {}}) == {}
    refused = forms.decision_errors(action, SlotDecision("respond", "done"), {"part.0": {}})
    assert list(refused) == ["part.0"] and "does not fit" in refused["part.0"]


def test_a_form_too_big_for_a_modal_is_one_json_field_and_initial_numbers_stay_in_bounds() -> None:
    options = [f"a rather long option label number {j}" for j in range(100)]
    big = {"type": "object", "properties": {f"p{i}": {"enum": options} for i in range(60)}}
    form = build_form(big)
    assert [f.kind for f in form.fields] == ["json"]  # 6,000 options would pass Slack's 250 KB view limit
    view = forms.answer_modal(REF, FormPrompt("?", big))
    assert view_errors(view) == [] and len(json.dumps(view)) < 250_000
    out_of_bounds = {"type": "object", "properties": {"risk": {"type": "integer", "minimum": 1, "maximum": 5, "default": 9}}}
    assert "initial_value" not in field_blocks(build_form(out_of_bounds))[0]["element"]


def test_a_tool_with_one_decision_gets_that_branch_alone_and_one_button() -> None:
    from langchain.agents.middleware.human_in_the_loop import ApproveDecision
    from pydantic import TypeAdapter

    schema = TypeAdapter(ApproveDecision).json_schema()  # what LangChain's middleware publishes for ["approve"]
    assert "oneOf" not in schema
    value = {"type": "tool_approval", "tool_call_id": "c9", "name": "ping", "args": {}, "description": "Ping?"}
    prompt = classify(value, schema)
    assert isinstance(prompt, ToolPrompt) and prompt.actions[0].allowed == ("approve",)
    assert prompt.actions[0].args_schema is None


def test_a_schema_that_is_not_valid_json_schema_is_said_so_on_submit() -> None:
    prompt = FormPrompt("?", {"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}})
    value, errors = forms.answer_value(prompt, state(f0={"type": "plain_text_input", "value": "x"}))
    assert value is None and "cannot be checked" in errors["field.0"]
