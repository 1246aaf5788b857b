"""Starts example runs through the server's own LangGraph-compatible HTTP API.

Going through HTTP (not the runs layer directly) makes a click on the page exactly what a
`langgraph_sdk` user does: create a thread, create a run; the bot then posts the pause. The run
asks for its end to be told in the channel, as a `/sluice` run's is: a failure before any pause
with Retry and Details, a finish with its answer.
"""

from __future__ import annotations

import aiohttp

from bot.playground.examples import Example
from bot.slack.outcomes import TELL_END


class LaunchError(Exception):
    """The API refused or failed to start the run; the message says what it answered."""


class Launcher:
    def __init__(self, api_url: str, channel: str, api_key: str | None = None) -> None:
        self._api_url = api_url.rstrip("/")
        self._channel = channel
        self._headers = {"x-api-key": api_key} if api_key else {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def has_api_key(self) -> bool:
        return bool(self._headers)

    async def start(self, example: Example) -> str:
        """Creates a thread and a background run of the example; returns the thread id."""
        session = self._session_or_new()
        try:
            async with session.post(
                f"{self._api_url}/threads", json={"metadata": {"playground_example": example.id}}
            ) as response:
                thread = await self._json(response, "create a thread")
            thread_id = str(thread["thread_id"])
            run_body = {
                "assistant_id": example.assistant_id,
                "input": example.input,
                "config": {"configurable": {"slack_channel": self._channel}},
                "metadata": {"playground_example": example.id, TELL_END: True},
            }
            async with session.post(f"{self._api_url}/threads/{thread_id}/runs", json=run_body) as response:
                await self._json(response, "start a run")
        except aiohttp.ClientError as exc:
            raise LaunchError(f"could not reach the API at {self._api_url}: {exc}") from exc
        return thread_id

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    @staticmethod
    async def _json(response: aiohttp.ClientResponse, what: str) -> dict[str, object]:
        if response.status >= 400:
            detail = (await response.text())[:500]
            raise LaunchError(f"the API refused to {what}: {response.status} {detail}")
        data = await response.json()
        if not isinstance(data, dict):
            raise LaunchError(f"the API answered {what} with {type(data).__name__}, not an object")
        return data
