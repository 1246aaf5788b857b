"""The bot's calls to Slack's Web API: retried where Slack says so, otherwise logged with the thread id.

A failed post never raises into the caller's flow: the pause stays pending (and indexed), so
`/sluice pending` can post it again.

The calls every click makes (chat.update, chat.postMessage, chat.getPermalink, chat.postEphemeral)
are sent here on kept connections of a lean HTTP/1.1 client (`bot.slack.http1`), with the retries
`tune` gives slack_sdk's client (a 429 after its Retry-After, three times; a refused connection
twice, backing off), except that a connection lost after the request went out is retried only for
a call whose repetition changes nothing (a read; a chat.update, which sets the message to the same
content again): Slack may have acted on a post whose answer was lost, and a second chat.postMessage
is a second message (of a pause: two sets of buttons). That post is reported failed like a refused one:
the pause stays pending and `/sluice pending` lists it. slack_sdk's own per-call work (URL joins, header and argument
building, its response object, the stdlib JSON) was about as much CPU as aiohttp's request, and
aiohttp's request about three times the lean client's, on five calls a click. The rarer ones
(views, user groups) still go through slack_sdk, on its kept aiohttp session.
"""

from __future__ import annotations

import asyncio
import logging
import random
import urllib.parse
from typing import Any, NamedTuple

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.internal_utils import get_user_agent

from bot.slack import limits
from bot.slack.http1 import Dropped, Http1, Malformed, NotSent
from bot.slack.lanes import outside
from bot.slack.pause import Placement

log = logging.getLogger("sluice.slack")

RATE_LIMITED_RETRIES = 3  # as AsyncRateLimitErrorRetryHandler(max_retry_count=3) in `tune`
DROPPED_RETRIES = 2  # as AsyncConnectionErrorRetryHandler(max_retry_count=2)
BACKOFF_S = 0.5  # slack_sdk's default: 0.5 s, then 1 s


class Posted(NamedTuple):
    """A message Slack took: its channel's id (whatever name it was posted to) and its ts."""

    channel: str
    ts: str


class WebApiError(Exception):
    """A Web API call Slack refused (`ok: false`, or an HTTP error), or could not be reached after retries."""

    def __init__(self, method: str, error: str, status: int = 0) -> None:
        super().__init__(f"{method}: {error}")
        self.error = error
        self.status = status


def make_client(token: str, base_url: str | None) -> AsyncWebClient:
    """A Web API client honouring 429 Retry-After and retrying dropped connections."""
    return tune(AsyncWebClient(token=token), base_url)


def tune(client: AsyncWebClient, base_url: str | None) -> AsyncWebClient:
    """Points `client` (e.g. the one bolt made from the token) at `base_url`, with retries and a timeout."""
    client.base_url = base_url or "https://slack.com/api/"
    client.timeout = 15
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    client.retry_handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=2))
    return client


def _why(exc: Exception) -> str:
    if isinstance(exc, WebApiError):
        return exc.error
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


class SlackCalls:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._targets: dict[str, str] = {}  # method -> the path its requests go to
        self._http: Http1 | None = None
        self._headers = {"Authorization": f"Bearer {client.token}", "User-Agent": get_user_agent(),
                         "Content-Type": "application/json;charset=utf-8"}
        self._read_headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}

    def _connected(self) -> AsyncWebClient:
        """The client with one HTTP session kept for this event loop: without one, slack_sdk opens
        (and closes) a session and a TCP connection per call, which under a burst of clicks cost
        more than the calls. Bolt's listeners share the client, so their calls reuse it too."""
        loop = asyncio.get_running_loop()
        session = self.client.session
        if session is None or session.closed or self._loop is not loop:
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout), trust_env=self.client.trust_env_in_session
            )
            self._loop = loop
        return self.client

    def _origin(self) -> Http1:
        """The lean client of the Web API's base URL (made again if the client was pointed elsewhere)."""
        base_url = self.client.base_url
        if self._http is None or self._http.base_url != base_url:
            if self._http is not None:
                self._http.close()
            self._http = Http1(base_url, float(self.client.timeout))
            self._targets = {}
        return self._http

    async def _api(self, method: str, args: dict[str, Any], read: bool = False,
                   repeatable: bool = False) -> dict[str, Any]:
        """One Web API call (arguments that are None left out, as slack_sdk does): JSON in a POST, or
        for a read (`read`) the query of a GET; its answer, or WebApiError after the retries.
        `repeatable`: sending it twice does no more than once, so it is sent again after a connection
        lost once it went out, as a read is."""
        http = self._origin()
        target = self._targets.get(method) or self._targets.setdefault(
            method, urllib.parse.urlsplit(urllib.parse.urljoin(http.base_url, method)).path
        )
        given = {k: v for k, v in args.items() if v is not None}
        if read:
            request = http.request_bytes("GET", f"{target}?{urllib.parse.urlencode(given)}", self._read_headers)
        else:
            request = http.request_bytes("POST", target, self._headers, orjson.dumps(given))
        limited = dropped = 0
        while True:
            try:
                answer = await outside(http.call(request))  # the job's lane slot serves others meanwhile
            except Dropped as exc:  # refused, reset, closed before the whole answer
                # sent again only if Slack cannot have had it, or having it twice changes nothing
                if dropped < DROPPED_RETRIES and (read or repeatable or isinstance(exc, NotSent)):
                    await outside(asyncio.sleep(BACKOFF_S * 2**dropped))
                    dropped += 1
                    continue
                raise WebApiError(method, f"{type(exc).__name__}: {exc}") from exc
            except (Malformed, TimeoutError) as exc:
                raise WebApiError(method, f"{type(exc).__name__}: {exc}") from exc
            status, raw, retry_after = answer.status, answer.body, answer.headers.get("retry-after")
            if status == 429 and limited < RATE_LIMITED_RETRIES:
                limited += 1
                await outside(asyncio.sleep(_seconds(retry_after) + random.random()))  # jittered, as slack_sdk does
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                raise WebApiError(method, f"HTTP {status}", status)
            if not data.get("ok"):
                raise WebApiError(method, str(data.get("error") or f"HTTP {status}"), status)
            return data

    async def aclose(self) -> None:
        """Closes the kept connections and HTTP session (on shutdown)."""
        if self._http is not None:
            self._http.close()
        session, self.client.session = self.client.session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()

    async def post(self, placement: Placement, text: str, blocks: list[dict[str, Any]], thread_id: str) -> str | None:
        """Posts a message; returns its ts, or None (logged) when Slack refused or was unreachable."""
        posted = await self.publish(placement, text, blocks, thread_id)
        return posted.ts if posted is not None else None

    async def publish(
        self, placement: Placement, text: str, blocks: list[dict[str, Any]], thread_id: str
    ) -> Posted | None:
        """Posts a message; returns where it is: the channel's id as Slack answers it (a channel may be
        named `#general`, but clicks and chat.update know it by id only) and the message's ts."""
        try:
            response = await self._api("chat.postMessage", {
                "channel": placement.channel,
                "thread_ts": placement.thread_ts,
                "text": limits.clip(text, limits.MESSAGE_TEXT),
                "blocks": blocks,
                "unfurl_links": False,
            })
        except WebApiError as exc:
            log.error("chat.postMessage to %s for thread %s failed: %s", placement.channel, thread_id, _why(exc))
            return None
        return Posted(str(response.get("channel") or placement.channel), str(response["ts"]))

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]], thread_id: str) -> bool:
        try:
            await self._api(
                "chat.update", {"channel": channel, "ts": ts, "text": limits.clip(text, limits.MESSAGE_TEXT), "blocks": blocks},
                repeatable=True,
            )
        except WebApiError as exc:
            log.error("chat.update %s/%s for thread %s failed: %s", channel, ts, thread_id, _why(exc))
            return False
        return True

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_id: str = "-", thread_ts: str | None = None
    ) -> None:
        try:
            await self._api("chat.postEphemeral", {
                "channel": channel, "user": user, "text": limits.clip(text, limits.MESSAGE_TEXT), "thread_ts": thread_ts
            })
        except WebApiError as exc:
            log.error("chat.postEphemeral to %s in %s (thread %s) failed: %s", user, channel, thread_id, _why(exc))

    async def permalink(self, channel: str, ts: str, thread_id: str = "-") -> str | None:
        """A link to the message (chat.getPermalink), or None (logged) when Slack did not give one."""
        try:
            response = await self._api("chat.getPermalink", {"channel": channel, "message_ts": ts}, read=True)
        except WebApiError as exc:
            log.error("chat.getPermalink %s/%s for thread %s failed: %s", channel, ts, thread_id, _why(exc))
            return None
        link = response.get("permalink")
        return str(link) if link else None

    async def open_view(self, trigger_id: str, view: dict[str, Any], thread_id: str) -> bool:
        try:
            await self._connected().views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.error("views.open for thread %s failed: %s", thread_id, _why(exc))
            return False
        return True

    async def publish_home(self, user: str, view: dict[str, Any]) -> None:
        try:
            await self._connected().views_publish(user_id=user, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.error("views.publish for %s failed: %s", user, _why(exc))

    async def group_members(self, group: str) -> list[str]:
        response = await self._connected().usergroups_users_list(usergroup=group)
        return [str(u) for u in response.get("users") or []]


def _seconds(retry_after: str | None) -> int:
    """Retry-After's whole seconds (1 when Slack gave none or garbage, as slack_sdk waits)."""
    try:
        return max(0, int(retry_after)) if retry_after is not None else 1
    except ValueError:
        return 1
