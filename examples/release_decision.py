"""A typed question: ship or hold a release, how risky it is, and why.

`decide` pauses with `interrupt(question, response_schema=ReleaseDecision)`. The pause publishes the
model's JSON Schema, so Slack shows an **Answer** button that opens a form (ship/hold, risk 1-5, a
reason); the answer is checked against the schema as it is submitted, and by the model itself on
resume: holding a release needs a reason, a rule the schema cannot say, so such an answer is
refused and the question stays open. A change ticket, if given, must look like REL-123.
`interrupt()` returns a `ReleaseDecision`.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, Field, model_validator

from engine import END, START, StateGraph, interrupt


class ReleaseDecision(BaseModel):
    """Ship the release now, or hold it back."""

    decision: Literal["ship", "hold"] = Field(description="Ship now, or hold the release back.")
    risk: int = Field(ge=1, le=5, title="Risk (1-5)", description="1: routine, 5: could take the service down.")
    reason: str | None = Field(default=None, max_length=500, description="Needed when you hold the release.")
    ticket: str | None = Field(
        default=None, pattern=r"^REL-[0-9]+$", title="Change ticket", description="Like REL-123."
    )

    @model_validator(mode="after")
    def holding_needs_a_reason(self) -> ReleaseDecision:
        if self.decision == "hold" and not (self.reason or "").strip():
            raise ValueError("say why the release is held")
        return self


class State(TypedDict, total=False):
    version: str
    changes: list[str]
    decision: str
    risk: int
    reason: str | None
    ticket: str | None
    outcome: str


def decide(state: State) -> dict[str, object]:
    version = state.get("version") or "2.4.0"
    changes = "\n".join(f"• {c}" for c in state.get("changes") or ["Faster search", "New billing page"])
    answer = interrupt({"question": f"Ship {version}?\n{changes}"}, response_schema=ReleaseDecision)
    return {"decision": answer.decision, "risk": answer.risk, "reason": answer.reason, "ticket": answer.ticket}


def announce(state: State) -> dict[str, str]:
    version = state.get("version") or "2.4.0"
    if state["decision"] == "ship":
        return {"outcome": f"Shipping {version} (risk {state['risk']}/5)."}
    return {"outcome": f"Holding {version}: {state['reason']}"}


builder = StateGraph(State)
builder.add_node("decide", decide)
builder.add_node("announce", announce)
builder.add_edge(START, "decide")
builder.add_edge("decide", "announce")
builder.add_edge("announce", END)

graph = builder.compile()
