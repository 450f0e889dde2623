"""The grader's transport policy, shared by the cluster and the HTTP readers.

- The run has one deadline (`--timeout`); it bounds every request in flight, not only the gap between checks:
  a request waits at most min(its own bound, the time the run has left).
- A transient failure on a read (connection reset, 429, 502, 503, 504) is retried once after a short pause
  (Retry-After honoured up to 2 s); nothing else is retried, and never past the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TypeVar

from maas_lab.errors import RunTimedOut

T = TypeVar("T")
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_PAUSE = 0.5
MAX_PAUSE = 2.0



class Deadline:
    """When the run must end (time.monotonic() seconds); `None`: no bound but the per-request one."""

    def __init__(self, at: float | None = None) -> None:
        self.at = at

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def bound(self, request_timeout: float, what: str) -> float:
        """The time one request to `what` may take; raises when the run has no time left at all."""
        left = self.left()
        if left is None:
            return request_timeout
        if left <= 0:
            raise RunTimedOut(f"the run's --timeout was reached before the request to {what}")
        return min(request_timeout, left)

    def allows(self, pause: float) -> bool:
        """Is there time for `pause` and something after it?"""
        left = self.left()
        return left is None or left > pause


UNBOUNDED = Deadline(None)


def pause_before_retry(headers: Mapping[str, str] | None) -> float:
    """Retry-After (seconds or an HTTP date), capped at 2 s; a short default without one."""
    value = next((str(v).strip() for k, v in (headers or {}).items() if k.lower() == "retry-after"), "")
    if not value:
        return DEFAULT_PAUSE
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return DEFAULT_PAUSE
    if seconds != seconds:  # NaN
        return DEFAULT_PAUSE
    return max(0.0, min(MAX_PAUSE, seconds))


def sleep(seconds: float) -> None:
    """The pause before a retry (a function of this module, so tests can record pauses instead of waiting)."""
    time.sleep(seconds)


class Reset(Exception):
    """The connection was dropped before a whole answer arrived (reset, truncated body): worth one retry."""


def with_one_retry(
    send: Callable[[], T],
    *,
    retryable: bool,
    deadline: Deadline,
    status: Callable[[T], int],
    headers: Callable[[T], Mapping[str, str]],
) -> T:
    """Call `send`; when it is a read and failed transiently, pause and call it once more (within the deadline).

    The second attempt's outcome stands, whatever it is: a Reset escapes for the caller to translate.
    """
    try:
        first = send()
    except Reset:
        if not (retryable and deadline.allows(DEFAULT_PAUSE)):
            raise
        sleep(DEFAULT_PAUSE)
    else:
        if not retryable or status(first) not in TRANSIENT_STATUSES:
            return first
        pause = pause_before_retry(headers(first))
        if not deadline.allows(pause):
            return first
        sleep(pause)
    return send()
