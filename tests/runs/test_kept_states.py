"""KeptStates.stored: a resume's read of its thread answered from the state the last run here ended at,
only while the stored head is byte for byte the checkpoint that state was read from."""

from __future__ import annotations

from bot.runs.kept_states import KeptStates
from engine import Command, InMemorySaver, serde
from examples.breakpoints import graph as breakpoints_graph
from examples.text_revision import builder


async def test_the_kept_state_answers_while_the_head_is_unchanged_and_a_read_after_any_write() -> None:
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    states = KeptStates.stored(saver, enabled=True)
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"some_text": "draft"}, config)
    reads: list[str] = []

    async def read() -> object:
        reads.append("read")
        return await graph.aget_state(config)

    ended = await states.ended("t", graph, read)
    assert reads == ["read"]
    current = await states.current("t", graph, read)
    assert current is ended and current == await graph.aget_state(config) and reads == ["read"]

    await states.ended("t", graph, read)
    await graph.aupdate_state(config, {"some_text": "changed"})  # a write the kept state never saw
    current = await states.current("t", graph, read)
    assert reads == ["read", "read", "read"] and current.values == {"some_text": "changed"}

    ended = await states.ended("t", graph, read)
    head = await saver.load("t", "")
    assert head is not None
    await saver.save_writes("t", "", head.id, {"note": serde.dumps("x")})  # a pending write alone is a change
    assert (await states.current("t", graph, read)) is not ended and len(reads) == 5

    await states.ended("t", graph, read)
    await graph.ainvoke(Command(resume="answer"), config)
    assert (await states.current("t", graph, read)).values == {"some_text": "answer"} and len(reads) == 7


async def test_a_state_is_answered_once_and_only_to_the_graph_that_read_it() -> None:
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    states = KeptStates.stored(saver, enabled=True)
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"some_text": "draft"}, config)
    ended = await states.ended("t", graph, lambda: graph.aget_state(config))
    other = breakpoints_graph.with_checkpointer(saver)
    assert await states.current("t", other, lambda: other.aget_state(config)) is not ended
    await states.ended("t", graph, lambda: graph.aget_state(config))
    assert await states.current("t", graph, lambda: graph.aget_state(config)) is not None
    fresh = await states.current("t", graph, lambda: graph.aget_state(config))  # taken already: read
    assert fresh is not ended and fresh == ended

    await states.ended("t", graph, lambda: graph.aget_state(config))
    await saver.delete_thread("t")
    assert (await states.current("t", graph, lambda: graph.aget_state(config))).values == {}


async def test_disabled_every_read_goes_to_the_store() -> None:
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    states = KeptStates.stored(saver, enabled=False)
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"some_text": "draft"}, config)
    ended = await states.ended("t", graph, lambda: graph.aget_state(config))
    assert await states.current("t", graph, lambda: graph.aget_state(config)) is not ended


async def test_only_the_most_recently_ended_threads_are_kept() -> None:
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    states = KeptStates.stored(saver, enabled=True, limit=2)
    kept = {}
    for thread_id in ("a", "b", "c"):
        config = {"configurable": {"thread_id": thread_id}}
        await graph.ainvoke({"some_text": thread_id}, config)
        kept[thread_id] = await states.ended(thread_id, graph, lambda c=config: graph.aget_state(c))  # type: ignore[misc]
    for thread_id, expected_kept in (("a", False), ("b", True), ("c", True)):
        config = {"configurable": {"thread_id": thread_id}}
        current = await states.current(thread_id, graph, lambda c=config: graph.aget_state(c))  # type: ignore[misc]
        assert (current is kept[thread_id]) is expected_kept and current == kept[thread_id]
