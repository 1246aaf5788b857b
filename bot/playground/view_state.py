"""`view.state.values` as Slack sends it: one entry per input, in each element's own format.

Slack reports an input under `state.values[block_id][action_id]` as `{"type": <element type>, ...}`
with `value` (text, email, URL and number inputs; numbers as strings), `selected_option`
(static select, radio buttons), `selected_options` (multi-select, checkboxes), `selected_date`,
`selected_time` (plus the picker's `timezone`) or `selected_date_time` (a UNIX timestamp). An input
the person left alone reports its initial value, or null (an empty list for the multi-valued ones).

`input_state(element, given)` builds that entry from what the person chose, written either the
short way (a string, a number, a list of option values) or as Slack's own entry; a choice the
element does not offer is a `LocalSlackError`, as the Slack client offers no way to make it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bot.playground.workspace import LocalSlackError

TEXT_KINDS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
SINGLE_CHOICE = ("static_select", "radio_buttons")
MULTI_CHOICE = ("multi_static_select", "checkboxes")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def options_of(element: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """An element's options, also those inside option groups."""
    for option in element.get("options") or []:
        yield dict(option)
    for group in element.get("option_groups") or []:
        for option in group.get("options") or []:
            yield dict(option)


def _option(element: Mapping[str, Any], chosen: Any) -> dict[str, Any]:
    value = chosen.get("value") if isinstance(chosen, Mapping) else chosen
    for option in options_of(element):
        if option.get("value") == value:
            return option
    raise LocalSlackError(f"{element.get('type')} {element.get('action_id', '')!r} offers no option {value!r}")


def initial_state(element: Mapping[str, Any]) -> dict[str, Any]:
    """What Slack reports for an input nobody touched."""
    kind = element.get("type", "plain_text_input")
    entry: dict[str, Any] = {"type": kind}
    if kind in SINGLE_CHOICE:
        entry["selected_option"] = element.get("initial_option")
    elif kind in MULTI_CHOICE:
        entry["selected_options"] = list(element.get("initial_options") or [])
    elif kind == "datepicker":
        entry["selected_date"] = element.get("initial_date")
    elif kind == "timepicker":
        entry["selected_time"] = element.get("initial_time")
    elif kind == "datetimepicker":
        entry["selected_date_time"] = element.get("initial_date_time")
    else:
        entry["value"] = element.get("initial_value")
    if kind == "timepicker" and element.get("timezone"):
        entry["timezone"] = element["timezone"]
    return entry


def input_state(element: Mapping[str, Any], given: Any) -> dict[str, Any]:
    """Slack's entry for `element` holding `given` (short form or Slack's entry; None: untouched)."""
    kind = element.get("type", "plain_text_input")
    if given is None:
        return initial_state(element)
    if isinstance(given, Mapping):
        if given.get("type", kind) != kind:
            raise LocalSlackError(f"a {given.get('type')} entry given for a {kind} input")
        field = _FIELD.get(kind, "value")
        given = given.get(field)
        if given is None:
            return {**initial_state(element), **{field: [] if kind in MULTI_CHOICE else None}}
    entry = initial_state(element)
    if kind in SINGLE_CHOICE:
        entry["selected_option"] = _option(element, given)
    elif kind in MULTI_CHOICE:
        chosen = [given] if isinstance(given, str | Mapping) else list(given)
        entry["selected_options"] = [_option(element, c) for c in chosen]
        limit = element.get("max_selected_items")
        if isinstance(limit, int) and len(chosen) > limit:
            raise LocalSlackError(f"at most {limit} options can be selected")
    elif kind == "datepicker":
        entry["selected_date"] = _date(given)
    elif kind == "timepicker":
        if not isinstance(given, str) or not _TIME.fullmatch(given):
            raise LocalSlackError(f"a timepicker holds HH:mm, not {given!r}")
        entry["selected_time"] = given
    elif kind == "datetimepicker":
        if isinstance(given, bool) or not isinstance(given, int):
            raise LocalSlackError(f"a datetimepicker holds a UNIX timestamp, not {given!r}")
        entry["selected_date_time"] = given
    else:
        entry["value"] = str(given) if given != "" else None
    return entry


_FIELD = {
    **{kind: "selected_option" for kind in SINGLE_CHOICE},
    **{kind: "selected_options" for kind in MULTI_CHOICE},
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def _date(given: Any) -> str:
    try:
        return datetime.date.fromisoformat(str(given)).isoformat()
    except ValueError as exc:
        raise LocalSlackError(f"a datepicker holds YYYY-MM-DD, not {given!r}") from exc


def state_values(blocks: list[dict[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """`view.state.values` of a modal's `blocks` where the person entered `values` (by block_id).

    `values[block_id]` is the short form, or Slack's own `{action_id: entry}`.
    """
    state: dict[str, Any] = {}
    for block in blocks:
        if block.get("type") != "input":
            continue
        block_id, element = block.get("block_id", ""), block.get("element", {})
        action_id = element.get("action_id", "value")
        given = values.get(block_id)
        if isinstance(given, Mapping) and "type" not in given:
            given = given.get(action_id)  # Slack's {action_id: entry}
        state[block_id] = {action_id: input_state(element, given)}
    return state
