"""A time limit on archive API calls, so a dead or failing API stops a build in seconds.

The ``dandi`` client retries a refused connection or an HTTP 5xx twelve times with growing
waits (minutes) and sends its requests without a timeout (a stalled server hangs it). Listing
goes through :class:`Deadline` instead: every request gets a timeout, transient failures are
retried only while the API has answered something within the last ``timeout_s`` seconds, and
then the listing fails with one line naming the API URL. A slow but answering API is not cut
off: each answer renews the deadline.

The limit is :data:`LISTING_TIMEOUT_S`, overridden by the environment variable
``NEURAL_PILE_LISTING_TIMEOUT_S`` (it reaches Ray workers too) or a ``timeout_s`` argument.
"""

from __future__ import annotations

import os
import time

import requests

from builders.errors import NeuralPileError, SettingError

#: Seconds an archive API may stay silent or failing before the listing gives up.
LISTING_TIMEOUT_S = 30.0
#: Environment variable overriding :data:`LISTING_TIMEOUT_S`.
LISTING_TIMEOUT_ENV = "NEURAL_PILE_LISTING_TIMEOUT_S"
#: Longest wait between two attempts, seconds.
MAX_RETRY_WAIT_S = 4.0
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ListingTimeout(NeuralPileError, RuntimeError):
    """The API gave no good answer within the time limit (never retried by the ``dandi`` client:
    it is not a ``requests`` exception)."""


def listing_timeout_s(timeout_s: float | None = None) -> float:
    """``timeout_s`` if given, else ``NEURAL_PILE_LISTING_TIMEOUT_S``, else :data:`LISTING_TIMEOUT_S`."""
    if timeout_s is None:
        text = os.environ.get(LISTING_TIMEOUT_ENV)
        try:
            timeout_s = float(text) if text else LISTING_TIMEOUT_S
        except ValueError:
            raise SettingError(f"{LISTING_TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if not timeout_s > 0:
        raise SettingError(f"listing timeout must be positive, got {timeout_s} s")
    return float(timeout_s)


class Deadline:
    """``timeout_s`` seconds from now, renewed by every good answer of the API."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self.timeout_s = listing_timeout_s(timeout_s)
        self.renew()

    def renew(self) -> None:
        self._end = time.monotonic() + self.timeout_s

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self, url: str, last: object = None) -> float:
        """Seconds left; raises :class:`ListingTimeout` naming ``url`` when none are."""
        left = self.remaining()
        if left <= 0:
            detail = f"; last error: {last}" if last is not None else ""
            raise ListingTimeout(f"no answer from {url} within {self.timeout_s:g} s{detail}")
        return left

    def request_timeout(self, url: str) -> tuple[float, float]:
        """``(connect, read)`` timeout of one request: what is left, at most 10 s to connect."""
        left = self.check(url)
        return (min(10.0, left), left)


def bound_session(session: requests.Session, deadline: Deadline) -> requests.Session:
    """Make every request of ``session`` carry a timeout and stop once ``deadline`` is past.

    Answers below HTTP 500 (other than 408/425/429) renew the deadline. Used on the ``dandi``
    client's session, whose own retry loop then ends at the deadline.
    """
    send = session.request

    def request(method, url, *args, **kwargs):
        kwargs["timeout"] = deadline.request_timeout(url)
        try:
            response = send(method, url, *args, **kwargs)
        except requests.ReadTimeout as exc:
            raise ListingTimeout(f"no answer from {url} within {deadline.timeout_s:g} s ({exc})") from exc
        if response.status_code not in _TRANSIENT_STATUSES and response.status_code < 500:
            deadline.renew()
        return response

    session.request = request
    return session


def get_with_retries(session: requests.Session, url: str, deadline: Deadline, **kwargs) -> requests.Response:
    """``GET url``, retrying refused connections, timeouts and HTTP 408/425/429/5xx until
    ``deadline``; returns the first other answer (the caller checks its status).

    Raises:
        ListingTimeout: naming ``url`` and the last error, when the deadline passes.
    """
    wait = 0.25
    while True:
        try:
            response = session.get(url, timeout=deadline.request_timeout(url), **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            last: object = exc
        else:
            if response.status_code not in _TRANSIENT_STATUSES:
                deadline.renew()
                return response
            last = f"HTTP {response.status_code} {response.reason}"
        left = deadline.check(url, last)
        time.sleep(min(wait, left))
        wait = min(MAX_RETRY_WAIT_S, 2 * wait)
        deadline.check(url, last)
