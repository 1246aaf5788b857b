"""Node retries: `add_node(..., retry_policy=RetryPolicy(...))`, with LangGraph's defaults.

By default a node is retried on errors that may pass (connection errors, HTTP 5xx from httpx or
requests, exceptions of its own kind) and not on programming or input errors (ValueError,
TypeError, KeyError, ...), which would fail the same way again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple


def _server_error(exc: Exception) -> bool | None:
    """For HTTP errors of httpx / requests (duck-typed: they are not our dependencies)."""
    if type(exc).__name__ not in ("HTTPStatusError", "HTTPError"):
        return None
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return True if status is None else 500 <= int(status) < 600


_NOT_TRANSIENT = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)


def default_retry_on(exc: Exception) -> bool:
    if isinstance(exc, ConnectionError):
        return True
    http = _server_error(exc)
    if http is not None:
        return http
    return not isinstance(exc, _NOT_TRANSIENT)


class RetryPolicy(NamedTuple):
    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = default_retry_on

    def should_retry(self, exc: Exception) -> bool:
        rule = self.retry_on
        if isinstance(rule, type) and issubclass(rule, BaseException):
            return isinstance(exc, rule)
        if isinstance(rule, Sequence):
            return isinstance(exc, tuple(rule))
        decide: Callable[[Exception], bool] = rule  # type: ignore[assignment]
        return bool(decide(exc))

    def pause_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        interval = min(self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1))
        return interval + random.uniform(0, 1) if self.jitter else interval


def retry_policies_of(options: dict[str, Any]) -> tuple[RetryPolicy, ...]:
    """The policies given to add_node (`retry_policy=`, or the older `retry=`): one or a sequence."""
    policy = options.get("retry_policy", options.get("retry"))
    if policy is None:
        return ()
    if isinstance(policy, RetryPolicy):
        return (policy,)
    if isinstance(policy, Sequence) and all(isinstance(p, RetryPolicy) for p in policy):
        return tuple(policy)
    return (RetryPolicy(*policy),)


def matching_policy(policies: Sequence[RetryPolicy], exc: Exception) -> RetryPolicy | None:
    return next((p for p in policies if p.should_retry(exc)), None)
