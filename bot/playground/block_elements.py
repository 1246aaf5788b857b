"""Block Kit elements as Slack checks them: where each may appear and what each must hold.

`ElementChecker.check(element, pointer, place)` appends Slack's messages (with their
`json-pointer`) for an element of an `input` block, an `actions` block or a section's
`accessory`. The inputs Sluice's forms use are checked field by field: text inputs (lengths),
`number_input` (numbers, decimals, bounds), selects, radio buttons and checkboxes (options,
initial options that must match one of them), and the date, time and date-time pickers (formats).
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Place = Literal["input", "actions", "accessory"]

_SELECTS = {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
_MULTI_SELECTS = {"multi_" + kind for kind in _SELECTS}
_PICKERS = {"datepicker", "timepicker", "radio_buttons", "checkboxes"}
# Which elements Slack accepts where (Block Kit reference, "compatible blocks" of each element).
ALLOWED: dict[Place, frozenset[str]] = {
    "input": frozenset(
        _SELECTS
        | _MULTI_SELECTS
        | _PICKERS
        | {"datetimepicker", "plain_text_input", "number_input", "email_text_input", "url_text_input"}
        | {"file_input", "rich_text_input"}
    ),
    "actions": frozenset(
        _SELECTS | _MULTI_SELECTS | _PICKERS | {"button", "workflow_button", "overflow", "datetimepicker"}
    ),
    "accessory": frozenset(_SELECTS | _MULTI_SELECTS | _PICKERS | {"button", "workflow_button", "overflow", "image"}),
}
_TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_INPUT_LENGTH = 3000
MAX_SELECT_OPTIONS = 100
MAX_CHOICE_OPTIONS = 10  # radio buttons and checkboxes


class ElementChecker:
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors

    def _fail(self, message: str, ptr: str) -> None:
        self.errors.append(f"{message} [json-pointer:{ptr}]")

    def text(self, obj: Any, limit: int, ptr: str, *, plain: bool = False) -> None:
        """A text object: `plain_text` or `mrkdwn`, at most `limit` characters."""
        if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
            self._fail("must be a text object", ptr)
            return
        if obj.get("type") not in ("plain_text", "mrkdwn"):
            self._fail("unknown text type", ptr + "/type")
        elif plain and obj["type"] != "plain_text":
            self._fail("must be plain_text", ptr + "/type")
        if len(obj["text"]) > limit:
            self._fail(f"must be less than {limit + 1} characters", ptr + "/text")

    def check(self, el: Any, ptr: str, place: Place) -> None:
        if not isinstance(el, Mapping):
            self._fail("must be an object", ptr)
            return
        kind = el.get("type")
        if kind not in ALLOWED[place]:
            self._fail(f"unsupported type `{kind}` in {place}", ptr + "/type")
            return
        if "action_id" in el and (not isinstance(el["action_id"], str) or len(el["action_id"]) > 255):
            self._fail("must be a string of at most 255 characters", ptr + "/action_id")
        if "placeholder" in el:
            self.text(el["placeholder"], 150, ptr + "/placeholder", plain=True)
        if "focus_on_load" in el and not isinstance(el["focus_on_load"], bool):
            self._fail("must be a boolean", ptr + "/focus_on_load")
        if kind == "button":
            self._button(el, ptr)
        elif kind in _TEXT_INPUTS:
            self._text_input(el, ptr)
        elif kind in ("static_select", "multi_static_select"):
            self._options(el, ptr, MAX_SELECT_OPTIONS, mrkdwn=False, groups=True)
        elif kind in ("radio_buttons", "checkboxes"):
            self._options(el, ptr, MAX_CHOICE_OPTIONS, mrkdwn=True, groups=False)
        elif kind in ("datepicker", "timepicker", "datetimepicker"):
            self._picker(el, ptr)
        if kind in _MULTI_SELECTS and "max_selected_items" in el:
            count = el["max_selected_items"]
            if not _is_int(count) or count < 1:
                self._fail("must be an integer of at least 1", ptr + "/max_selected_items")

    def _button(self, el: Mapping[str, Any], ptr: str) -> None:
        self.text(el.get("text"), 75, ptr + "/text", plain=True)
        if len(str(el.get("value", ""))) > 2000:
            self._fail("must be less than 2001 characters", ptr + "/value")
        if "style" in el and el["style"] not in ("primary", "danger"):
            self._fail("must be primary or danger", ptr + "/style")

    def _text_input(self, el: Mapping[str, Any], ptr: str) -> None:
        initial = el.get("initial_value")
        if initial is not None and not isinstance(initial, str):
            self._fail("must be a string", ptr + "/initial_value")
            initial = None
        if el["type"] == "number_input":
            self._number_input(el, ptr, initial)
            return
        if el["type"] != "plain_text_input":
            return
        if "multiline" in el and not isinstance(el["multiline"], bool):
            self._fail("must be a boolean", ptr + "/multiline")
        max_length = el.get("max_length", MAX_INPUT_LENGTH)
        min_length = el.get("min_length", 0)
        if not _is_int(max_length) or not 1 <= max_length <= MAX_INPUT_LENGTH:
            self._fail(f"must be at most {MAX_INPUT_LENGTH}", ptr + "/max_length")
            return
        if not _is_int(min_length) or not 0 <= min_length <= MAX_INPUT_LENGTH:
            self._fail(f"must be between 0 and {MAX_INPUT_LENGTH}", ptr + "/min_length")
        elif min_length > max_length:
            self._fail("min_length must not be greater than max_length", ptr + "/min_length")
        if initial is not None and len(initial) > max_length:
            self._fail(f"must be less than {max_length + 1} characters", ptr + "/initial_value")

    def _number_input(self, el: Mapping[str, Any], ptr: str, initial: str | None) -> None:
        decimals = el.get("is_decimal_allowed")
        if not isinstance(decimals, bool):
            self._fail("is_decimal_allowed is required and must be a boolean", ptr + "/is_decimal_allowed")
            decimals = True
        numbers: dict[str, Decimal] = {}
        for key in ("initial_value", "min_value", "max_value"):
            raw = initial if key == "initial_value" else el.get(key)
            if key not in el or (key == "initial_value" and raw is None):
                continue
            number = _number(raw)
            if number is None:
                self._fail("must be a number written as a string", f"{ptr}/{key}")
            elif not decimals and number != number.to_integral_value():
                self._fail("must be an integer when is_decimal_allowed is false", f"{ptr}/{key}")
            else:
                numbers[key] = number
        low, high, start = numbers.get("min_value"), numbers.get("max_value"), numbers.get("initial_value")
        if low is not None and high is not None and low > high:
            self._fail("min_value must not be greater than max_value", ptr + "/min_value")
        elif start is not None and ((low is not None and start < low) or (high is not None and start > high)):
            self._fail("must be between min_value and max_value", ptr + "/initial_value")

    def _option(self, option: Any, ptr: str, mrkdwn: bool) -> tuple[str, str] | None:
        if not isinstance(option, Mapping):
            self._fail("must be an option object", ptr)
            return None
        self.text(option.get("text"), 75, ptr + "/text", plain=not mrkdwn)
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > 150:
            self._fail("must be a string of 1 to 150 characters", ptr + "/value")
        if "description" in option:
            self.text(option["description"], 75, ptr + "/description", plain=not mrkdwn)
        text = option.get("text")
        return (str(value), str(text.get("text")) if isinstance(text, Mapping) else "")

    def _option_list(self, options: Any, ptr: str, limit: int, mrkdwn: bool) -> list[tuple[str, str]]:
        if not isinstance(options, list) or not 1 <= len(options) <= limit:
            self._fail(f"must provide 1 to {limit} items", ptr)
            return []
        found = [self._option(o, f"{ptr}/{i}", mrkdwn) for i, o in enumerate(options)]
        return [f for f in found if f is not None]

    def _options(self, el: Mapping[str, Any], ptr: str, limit: int, *, mrkdwn: bool, groups: bool) -> None:
        known: list[tuple[str, str]] = []
        if groups and "option_groups" in el:
            if "options" in el:
                self._fail("must provide either options or option_groups, not both", ptr)
            option_groups = el["option_groups"]
            if not isinstance(option_groups, list) or not 1 <= len(option_groups) <= limit:
                self._fail(f"must provide 1 to {limit} items", ptr + "/option_groups")
                option_groups = []
            for i, group in enumerate(option_groups):
                gptr = f"{ptr}/option_groups/{i}"
                if not isinstance(group, Mapping):
                    self._fail("must be an option group object", gptr)
                    continue
                self.text(group.get("label"), 75, gptr + "/label", plain=True)
                known += self._option_list(group.get("options"), gptr + "/options", limit, mrkdwn)
        else:
            known = self._option_list(el.get("options"), ptr + "/options", limit, mrkdwn)
        single = el["type"] in ("static_select", "radio_buttons")
        key = "initial_option" if single else "initial_options"
        if key not in el:
            return
        chosen = [el[key]] if single else el[key]
        if not isinstance(chosen, list):
            self._fail("must be an array of options", f"{ptr}/{key}")
            return
        for i, option in enumerate(chosen):
            optr = f"{ptr}/{key}" if single else f"{ptr}/{key}/{i}"
            found = self._option(option, optr, mrkdwn)
            if found is not None and found not in known:
                self._fail("must exactly match one of the provided options", optr)

    def _picker(self, el: Mapping[str, Any], ptr: str) -> None:
        kind = el["type"]
        if kind == "datepicker" and "initial_date" in el:
            if not _is_date(el["initial_date"]):
                self._fail("must be a date in the format YYYY-MM-DD", ptr + "/initial_date")
        elif kind == "timepicker":
            if "initial_time" in el and not (
                isinstance(el["initial_time"], str) and _TIME.fullmatch(el["initial_time"])
            ):
                self._fail("must be a time in the format HH:mm", ptr + "/initial_time")
            if "timezone" in el and not (isinstance(el["timezone"], str) and _is_timezone(el["timezone"])):
                self._fail("must be an IANA time zone", ptr + "/timezone")
        elif kind == "datetimepicker" and "initial_date_time" in el:
            stamp = el["initial_date_time"]
            if not _is_int(stamp) or not 0 <= stamp < 10**10:
                self._fail("must be a UNIX timestamp in seconds (10 digits at most)", ptr + "/initial_date_time")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(raw: Any) -> Decimal | None:
    if not isinstance(raw, str):
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _is_date(raw: Any) -> bool:
    if not isinstance(raw, str) or not _DATE.fullmatch(raw):
        return False
    try:
        datetime.date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
