"""What a search body asks for beyond its filters, applied to the rows it found: `sort_by` and
`sort_order`, `select` (the fields each row keeps) and `extract` (values picked out of each row by
path, returned under `extracted`), as `langgraph_sdk`'s `threads.search` / `assistants.search` send them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_EXTRACT = 10
_STEP = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")
_PATH = re.compile(r"^[^.\[\]]+(\[-?\d+\])*(\.[^.\[\]]+(\[-?\d+\])*)*$")


def path_problem(path: str) -> str | None:
    """Why `path` (dot notation, `[i]` indices: `values.messages[-1].content`) is not one, else None."""
    if not _PATH.match(path):
        return f"invalid extract path {path!r}: use dot notation with [index] for lists"
    return None


def pick(row: Any, path: str) -> Any:
    """The value at `path` in `row`, or None when any step of it is missing."""
    value = row
    for key, index in _STEP.findall(path):
        if key:
            value = value.get(key) if isinstance(value, Mapping) else None
        elif isinstance(value, list) and -len(value) <= int(index) < len(value):
            value = value[int(index)]
        else:
            value = None
        if value is None:
            return None
    return value


def sort_rows(rows: list[dict[str, Any]], sort_by: str | None, sort_order: str | None) -> list[dict[str, Any]]:
    """Rows ordered by one field (descending unless `sort_order` is "asc"); rows without it go last."""
    if sort_by is None:
        return rows
    present = [r for r in rows if r.get(sort_by) is not None]
    absent = [r for r in rows if r.get(sort_by) is None]
    return sorted(present, key=lambda r: str(r[sort_by]), reverse=sort_order != "asc") + absent


def shape(row: dict[str, Any], select: Sequence[str] | None, extract: Mapping[str, str] | None) -> dict[str, Any]:
    out = {k: row[k] for k in select if k in row} if select else dict(row)  # a field a row lacks stays out
    if extract:
        out["extracted"] = {alias: pick(row, path) for alias, path in extract.items()}
    return out
