"""Managed values: state keys the engine fills in for each task instead of storing them.

    class State(TypedDict):
        items: list[str]
        remaining_steps: RemainingSteps   # supersteps left before recursion_limit stops the run

A node sees them in its input like any key; they are never written, stored or returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated


@dataclass(frozen=True, slots=True)
class ManagedValue:
    kind: str  # "remaining_steps" | "is_last_step"

    def value(self, steps_left: int) -> int | bool:
        """Its value for a task with `steps_left` supersteps left, this one included."""
        return steps_left if self.kind == "remaining_steps" else steps_left <= 1


RemainingSteps = Annotated[int, ManagedValue("remaining_steps")]
IsLastStep = Annotated[bool, ManagedValue("is_last_step")]
