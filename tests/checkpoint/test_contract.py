"""The Checkpointer contract (engine.checkpoint.conformance), run against InMemorySaver and
RedisSaver on one server and on a cluster: one test per check, through the public `validate`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import InMemorySaver, SavedCheckpoint
from engine.checkpoint.base import Checkpointer
from engine.checkpoint.conformance import CHECKS, validate


@pytest.mark.parametrize("check", list(CHECKS))
async def test_checkpointer_contract(check: str, make_saver: Callable[..., Checkpointer]) -> None:
    (await validate(make_saver, only=[check])).raise_for_failures()


class ForgetfulSaver(InMemorySaver):
    """A checkpointer that breaks the contract: its history drops the oldest checkpoint."""

    async def history(
        self, thread_id: str, ns: str, *, limit: int | None = None, before: str | None = None
    ) -> list[SavedCheckpoint]:
        return (await super().history(thread_id, ns, limit=limit, before=before))[:-1]


async def test_validate_reports_each_broken_rule_by_name() -> None:
    shared = ForgetfulSaver()
    report = await validate(lambda: shared)
    assert not report.ok and "history_order_limit_before" in report.failed and "empty_thread" in report.passed
    assert "AssertionError" in report.failed["history_order_limit_before"]
    with pytest.raises(AssertionError, match="checkpointer checks failed"):
        report.raise_for_failures()
    with pytest.raises(ValueError, match="unknown checks"):
        await validate(lambda: shared, only=["no_such_check"])
