"""One overall deadline per AWS try, and no try after a stop's budget or the run's hard deadline.

botocore's own timeouts bound each socket read, so a trickled answer could otherwise hold a check
for minutes: `BoundedSend` gives each try connect + read timeout in all, connect to last byte, and
`refuse_past_deadline` (a `before-send` hook) sends nothing once the run is out of time
(verify.polling).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import ReadTimeoutError

from verify.errors import STOPPING, AwsAccessError
from verify.polling import hard_deadline, past_hard_deadline, stop_deadline, waits_cancelled


def refuse_past_deadline(**_: Any) -> None:
    """No AWS try starts once a stop's budget, or the run's deadline and its clean-up grace, is spent."""
    why = past_hard_deadline()
    if why is not None:
        raise AwsAccessError(f"AWS call not sent: {why}")


class BoundedSend:
    """Wraps a client's HTTP session: each try is sent from a daemon thread, and the calling thread
    waits at most `budget_s` -- and never past a stop's budget or the run's hard deadline.

    botocore's read timeout bounds each socket read: an answer trickled a byte at a time (through a
    proxy, say) never trips it, and held a check -- and its pool thread -- for minutes. A try cut
    here raises botocore's own ReadTimeoutError, so retries and the breaker treat it like any read
    timeout. Unit tests' stubs (moto) answer before the session is reached, so they never come here.
    """

    def __init__(self, session: Any, budget_s: float) -> None:
        self._session = session
        self._budget_s = budget_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def send(self, request: Any) -> Any:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["response"] = self._session.send(request)
            except BaseException as error:  # handed to the calling thread
                outcome["error"] = error
            finally:
                done.set()

        threading.Thread(target=work, name="verify-aws-send", daemon=True).start()
        until = time.monotonic() + self._budget_s
        for bound in (stop_deadline(), hard_deadline()):
            if bound is not None:
                until = min(until, bound)
        while not done.wait(min(0.05, max(0.0, until - time.monotonic()))):
            if waits_cancelled():
                # Not a timeout: the breaker must not count it against an operation the clean-up
                # still needs, and botocore does not retry it.
                raise AwsAccessError(f"AWS call abandoned: {STOPPING}")
            if time.monotonic() >= until:
                raise ReadTimeoutError(endpoint_url=getattr(request, "url", "?"))
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]


def bound_each_try(client: Any, budget_s: float) -> None:
    """Put `BoundedSend` between `client` and its HTTP session (once)."""
    endpoint: Any = getattr(client, "_endpoint", None)  # botocore keeps the HTTP session here
    session = getattr(endpoint, "http_session", None)
    if session is not None and not isinstance(session, BoundedSend):
        endpoint.http_session = BoundedSend(session, budget_s)
