"""A stand-in for the API's HTTP side in flow tests: answers as the test says, keeps what was sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.credentials import Credentials

from verify.aws.http import HttpResult, SignedHttp

# (method, path, signed, wrong secret) -> (status, JSON body)
Answer = Callable[[str, str, bool, bool], tuple[int, dict[str, Any]]]


def rest_api_answer(declared: set[tuple[str, str]]) -> Answer:
    """An IAM-protected REST API whose declared routes accept anything signed (garbage included), and
    which answers 403 Missing Authentication Token for every route it does not declare."""

    def answer(method: str, path: str, signed: bool, wrong: bool) -> tuple[int, dict[str, Any]]:
        if (method, path) not in declared:
            return 403, {"message": "Missing Authentication Token"}
        if not signed:
            return 403, {"message": "Missing Authentication Token"}
        if wrong:
            return 403, {"message": "The request signature we calculated does not match"}
        return 200, {"ok": True}

    return answer


class StandInHttp(SignedHttp):
    def __init__(self, answer: Answer) -> None:
        super().__init__(Credentials("testing", "testing"), "us-east-1")
        self.answer = answer
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResult:
        path = "/" + urlsplit(url).path.strip("/").split("/", 1)[-1]  # without the stage
        signed = kwargs.get("sign", True)
        wrong = kwargs.get("credentials_override") is not None
        self.sent.append({"method": method, "path": path, **kwargs})
        status, body = self.answer(method.upper(), path, signed, wrong)
        text = json.dumps(body)
        return HttpResult(
            method=method,
            url=url,
            status=status,
            headers={"Content-Type": "application/json"},
            body=text.encode(),
            text=text,
            elapsed_s=0.01,
            trace_id=None,
            request_id=None,
            truncated=False,
        )
