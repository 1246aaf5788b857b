"""Filling a Slack modal as a person would: its inputs by label, and the `view.state.values` a
submission sends."""

from __future__ import annotations

from typing import Any


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's inputs by label."""
    return {b["label"]["text"]: b for b in view["blocks"] if b["type"] == "input"}


def filled(view: dict[str, Any], **by_label: Any) -> dict[str, Any]:
    """`view.state.values` as Slack sends it: what each input shows, with `by_label` changed."""
    out: dict[str, Any] = {}
    for label, block in inputs(view).items():
        element = block["element"]
        kind, given = element["type"], by_label.get(label, ...)
        if kind in ("radio_buttons", "static_select"):
            option = element.get("initial_option")
            if given is not ...:
                option = next(o for o in element["options"] if o["text"]["text"] == given)
            state = {"selected_option": option}
        elif kind in ("checkboxes", "multi_static_select"):
            picked = element.get("initial_options", [])
            if given is not ...:
                picked = [o for o in element["options"] if o["text"]["text"] in given]
            state = {"selected_options": picked}
        else:
            state = {"value": element.get("initial_value") if given is ... else given}
        out[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return out
