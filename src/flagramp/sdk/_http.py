"""What the client sends with every request, and how it reads the answers."""

from __future__ import annotations

import enum
import json

import httpx

from flagramp import __version__
from flagramp.core.types import Json

USER_AGENT = f"flagramp-python/{__version__}"
#: The server sends a comment every 15 s: three missed in a row is a dead line.
STREAM_READ_TIMEOUT = 45.0


def base_headers(token: str | None) -> dict[str, str]:
    """Headers every request carries."""
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def describe(response: httpx.Response) -> str:
    """`HTTP 401 unauthorized: the token is revoked`, from a problem document."""
    text = f"HTTP {response.status_code}"
    try:
        problem = json.loads(response.content) if response.content else None
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        code, detail = (
            problem.get("code"),
            problem.get("detail") or problem.get("title"),
        )
        if isinstance(code, str):
            text += f" {code}"
        if isinstance(detail, str):
            text += f": {detail[:200]}"
    return text


def is_transient(status: int) -> bool:
    """Whether trying again later may succeed (server trouble, rate limits)."""
    return status >= 500 or status in (408, 425, 429)


class Verdict(enum.Enum):
    """What to do with a batch after the server answered."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    SPLIT = "split"
    DROP = "drop"


def judge_batch(response: httpx.Response) -> tuple[Verdict, int, list[Json]]:
    """The verdict on an events POST, with the accepted count and rejections."""
    status = response.status_code
    if status == 200:
        try:
            answer = json.loads(response.content)
        except ValueError:
            return Verdict.RETRY, 0, []
        if not isinstance(answer, dict):
            return Verdict.RETRY, 0, []
        if answer.get("duplicate") is True:
            # Delivered by an earlier attempt whose answer was lost on the way.
            return Verdict.DUPLICATE, 0, []
        accepted = answer.get("accepted")
        rejected = answer.get("rejected")
        return (
            Verdict.DELIVERED,
            accepted if type(accepted) is int else 0,
            rejected if isinstance(rejected, list) else [],
        )
    if status == 413:
        return Verdict.SPLIT, 0, []
    # 401 and 403 too: a token fixed on the server lets the batch through, and
    # the queue's bound and the events' age limit what waiting can cost.
    if is_transient(status) or status in (401, 403):
        return Verdict.RETRY, 0, []
    return Verdict.DROP, 0, []
