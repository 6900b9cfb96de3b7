"""What the pipeline stack needs beyond moto and the shared API server.

moto accepts a function's DeadLetterConfig but never reports it back, and cannot express a function
whose last update failed; a response patcher says what AWS would. API Gateway authorizes per method,
while the shared `SignedApiServer` checks every route alike; `PipelineApiServer` lets the methods the
stack left at authorization NONE through unsigned, as API Gateway would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from verify.sandbox.emulator.api_gateway import SignedApiServer
from verify.sandbox.emulator.context import StackContext
from verify.sandbox.emulator.server import AwsRequest

UPDATE_FAILED_REASON = "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant."


def open_routes(faults: Iterable[str]) -> frozenset[tuple[str, str]]:
    """(method, path) pairs whose API Gateway method has authorization NONE."""
    return frozenset({("GET", "/query")}) if "method_open" in set(faults) else frozenset()


class PipelineApiServer(SignedApiServer):
    """A `SignedApiServer` that, like API Gateway, skips SigV4 on methods with authorization NONE."""

    def __init__(self, *, open_routes: frozenset[tuple[str, str]] = frozenset(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.open_routes = open_routes

    def _authorize(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        prefix = f"/{self.stage}"
        if path.startswith(prefix + "/") and (method, path[len(prefix) :]) in self.open_routes:
            return None
        return super()._authorize(method, path, raw_query, headers, body)


def patch_function_configs(
    ctx: StackContext, dead_lettered: set[str], dlq_arn: str, failed_update: str | None
) -> None:
    """GetFunction*/ListFunctions answers: the DeadLetterConfig each function was created with, and
    (fault lambda_update_failed) a last update that failed on `failed_update`."""

    def edit(config: dict[str, Any]) -> None:
        name = config.get("FunctionName")
        if name in dead_lettered:
            config["DeadLetterConfig"] = {"TargetArn": dlq_arn}
        if name is not None and name == failed_update:
            config.update(
                State="Active",
                LastUpdateStatus="Failed",
                LastUpdateStatusReason=UPDATE_FAILED_REASON,
                LastUpdateStatusReasonCode="KMSKeyNotFound",
            )

    def patch(_request: AwsRequest, body: bytes) -> bytes:
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        if not isinstance(answer, dict):
            return body
        edit(answer)
        edit(answer.get("Configuration") or {})
        for config in answer.get("Functions") or []:
            edit(config)
        return json.dumps(answer).encode()

    ctx.emulator.middleware.patch("lambda", "GET /2015-03-31/functions*", patch)
