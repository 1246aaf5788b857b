"""Graphs the API tests need beyond the examples: a slow one (to hold a thread busy) and a failing one."""

from __future__ import annotations

import asyncio
import operator
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic validates TypedDicts from typing_extensions on 3.11

from engine import END, START, Runtime, StateGraph, get_stream_writer, interrupt


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


async def slow(state: State) -> State:
    await asyncio.sleep(0.6)
    return {"log": ["slow"]}


async def very_slow(state: State) -> State:
    await asyncio.sleep(5)
    return {"log": ["very slow"]}


def fail(state: State) -> State:
    raise ValueError("boom!")


slow_graph = StateGraph(State).add_node("slow", slow).add_edge(START, "slow").add_edge("slow", END)
failing_graph = StateGraph(State).add_node("fail", fail).add_edge(START, "fail").add_edge("fail", END)
very_slow_graph = (
    StateGraph(State).add_node("very_slow", very_slow).add_edge(START, "very_slow").add_edge("very_slow", END)
)


def quick(state: State) -> State:
    return {"log": ["quick"]}


quick_then_very_slow_graph = (
    StateGraph(State).add_node("quick", quick).add_node("very_slow", very_slow)
    .add_edge(START, "quick").add_edge("quick", "very_slow").add_edge("very_slow", END)
)


class ActState(TypedDict, total=False):
    path: str
    log: Annotated[list[str], operator.add]


def ask(state: ActState) -> ActState:
    return {"log": [f"answer:{interrupt('go?')}"]}


def act(state: ActState) -> ActState:
    time.sleep(2)  # a sync node: the engine runs it in a worker thread
    with open(state["path"], "a") as out:  # the side effect: must happen exactly once
        out.write("acted\n")
    return {"log": ["acted"]}


approve_then_act_graph = (
    StateGraph(ActState)
    .add_node("ask", ask)
    .add_node("act", act)
    .add_edge(START, "ask")
    .add_edge("ask", "act")
    .add_edge("act", END)
)


class GreetState(TypedDict, total=False):
    greeting: str


@dataclass
class GreetContext:
    user: str


def greet(state: GreetState, runtime: Runtime[GreetContext]) -> GreetState:
    return {"greeting": f"hello {runtime.context.user}"}


greet_graph = (
    StateGraph(GreetState, context_schema=GreetContext).add_node("greet", greet).add_edge(START, "greet").add_edge("greet", END)
)


def inner_ask(state: GreetState) -> GreetState:
    return {"greeting": interrupt("name?")}


inner_graph = StateGraph(GreetState).add_node("inner_ask", inner_ask).add_edge(START, "inner_ask").compile()
nested_graph = StateGraph(GreetState).add_node("inner", inner_graph).add_edge(START, "inner").add_edge("inner", END)


def progress(state: GreetState) -> GreetState:
    write = get_stream_writer()
    for step in (1, 2):
        write({"step": step})
    return {"greeting": "done"}


progress_graph = StateGraph(GreetState).add_node("progress", progress).add_edge(START, "progress").add_edge("progress", END)


class Release(BaseModel):
    """A release decision."""

    choice: Literal["ship", "hold"]
    risk: int = Field(ge=1, le=5)


class Approve(TypedDict):
    type: Literal["approve"]


class Reject(TypedDict):
    type: Literal["reject"]
    message: str


Decision = Annotated[Approve | Reject, Field(discriminator="type")]


def decide(state: State) -> State:
    answer = interrupt({"question": "Ship 1.4?"}, response_schema=Release)
    return {"log": [f"{answer.choice}/{answer.risk}"]}


def reviewer(name: str) -> Any:
    def review(state: State) -> State:
        decision = interrupt(f"{name}?", response_schema=Decision)
        return {"log": [f"{name}={decision['type']}"]}
    return review


typed_graph = StateGraph(State).add_node("decide", decide).add_edge(START, "decide").add_edge("decide", END)
typed_parallel_graph = (
    StateGraph(State)
    .add_node("a", reviewer("a"))
    .add_node("b", reviewer("b"))
    .add_edge(START, "a")
    .add_edge(START, "b")
)


def own_check(state: State) -> State:
    Release.model_validate({"choice": "later"})  # the node's own pydantic error, not a refused answer
    return {}


own_validation_graph = StateGraph(State).add_node("check", own_check).add_edge(START, "check")


class RouteState(TypedDict, total=False):
    greeting: str
    log: Annotated[list[str], operator.add]
    n: int


@dataclass
class RouteContext:
    user: str
    level: int = 1


def route(state: RouteState) -> Literal["inner", "done"]:
    return "inner" if state.get("n", 0) else "done"


def begin(state: RouteState) -> RouteState:
    return {"log": ["start"]}


def done(state: RouteState) -> RouteState:
    return {"log": ["done"]}


# A conditional edge (targets from the routing function's Literal) and a subgraph node: drawn and
# described by GET /assistants/{id}/graph, /schemas and /subgraphs.
routed_graph = (
    StateGraph(RouteState, context_schema=RouteContext)
    .add_node("start", begin)
    .add_node("inner", inner_graph)
    .add_node("done", done)
    .add_edge(START, "start")
    .add_conditional_edges("start", route)
    .add_edge("inner", "done")
    .add_edge("done", END)
)
mapped_graph = (
    StateGraph(RouteState)
    .add_node("start", begin)
    .add_node("done", done)
    .add_edge(START, "start")
    .add_conditional_edges("start", lambda state: "done", {"done": "done", "end": END})
)


class Question(TypedDict):
    question: str


class Answer(TypedDict):
    answer: str


class QAState(TypedDict, total=False):
    question: str
    answer: str
    log: Annotated[list[str], operator.add]


def answer(state: QAState) -> QAState:
    return {"answer": "a"}


typed_io_graph = (
    StateGraph(QAState, input_schema=Question, output_schema=Answer)
    .add_node("respond", answer).add_edge(START, "respond")
)


def asker(name: str) -> Any:
    def ask_one(state: State) -> State:
        return {"log": [f"{name}={interrupt(f'{name}?')}"]}
    return ask_one


def done(state: State) -> State:
    return {"log": ["done"]}


# Two interrupts pending at once (parallel askers, joined by `done`), and one after the other.
two_asks_graph = (
    StateGraph(State)
    .add_node("ask_a", asker("a"))
    .add_node("ask_b", asker("b"))
    .add_node("done", done)
    .add_edge(START, "ask_a")
    .add_edge(START, "ask_b")
    .add_edge(["ask_a", "ask_b"], "done")
    .add_edge("done", END)
)
two_seq_graph = (
    StateGraph(State)
    .add_node("first", asker("1"))
    .add_node("second", asker("2"))
    .add_edge(START, "first")
    .add_edge("first", "second")
    .add_edge("second", END)
)


class ChatState(TypedDict, total=False):
    messages: Annotated[list[Any], operator.add]


def reply(state: ChatState) -> ChatState:
    from langchain_core.messages import AIMessage  # a test dependency: LangChain's messages

    return {"messages": [AIMessage(content="hello back", id="ai-1")]}


def reply_again(state: ChatState) -> ChatState:
    from langchain_core.messages import AIMessage

    return {"messages": [AIMessage(content="and again", id="ai-2")]}


# Nodes that return LangChain messages (stream_mode messages-tuple / messages).
chat_graph = (
    StateGraph(ChatState).add_node("reply", reply).add_node("reply_again", reply_again)
    .add_edge(START, "reply").add_edge("reply", "reply_again").add_edge("reply_again", END)
)
