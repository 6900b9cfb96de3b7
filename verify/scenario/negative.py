"""The flow's negative steps: what the API must refuse (unsigned or wrongly signed calls, a malformed
reading), judged only on a route the API declares (a refusal from any other route proves nothing)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from verify.aws.http import SignedHttp
from verify.errors import CheckFailed, VerifyError
from verify.probes.apigateway import declared_routes, is_function_url, rest_api_id
from verify.scenario.cleanup import RunCleanup
from verify.scenario.conventions import from_payload
from verify.scenario.learning import StackLearning
from verify.scenario.payload import render_template
from verify.scenario.recording import StepBook, trim


class NegativeChecks(StackLearning, RunCleanup, StepBook):
    """Refusals the API owes (`verify.scenario.flow.Flow` sets the state in its `__init__`)."""

    http: SignedHttp
    payload: dict[str, Any]
    # Whether the reading's route is one the API declares: asked once, by the first negative check.
    _route_lock: threading.Lock
    _route_verdict: tuple[dict[str, Any], str | None] | None

    def declared_route(self) -> dict[str, Any]:
        """Evidence that the reading's route is one the API declares. Otherwise `VerifyError` (could
        not verify), saying why: a REST API answers `403 Missing Authentication Token` for every route
        it does not declare, signed or not, so a refusal from such a route proves nothing."""
        with self._route_lock:
            if self._route_verdict is None:
                self._route_verdict = self._judge_route()
            evidence, problem = self._route_verdict
        if problem is not None:
            raise VerifyError(problem)
        return dict(evidence)

    def _judge_route(self) -> tuple[dict[str, Any], str | None]:
        method = self.config.flow.method.upper()
        path = "/" + self.ingest_path().split("?", 1)[0].strip("/")
        shown = f"{method} {path}"
        api = self.targets.api
        if api is None:
            return {}, f"no output names the API, so whether it declares {shown} is unknown"
        if is_function_url(api):
            return {
                "route": shown,
                "declared_by": f"Lambda function URL {api.key}: every path reaches it",
            }, None
        api_id = rest_api_id(api, self.inventory)
        if api_id is None:
            return {}, (
                f"cannot tell whether {shown} is a route the API at output `{api.key}` declares: no output "
                "names its API Gateway id (add one, e.g. `ApiId`), and a 403 from a route it does not "
                "declare proves nothing"
            )
        try:
            routes = declared_routes(self.aws.client("apigateway"), api_id, self.aws.client("apigatewayv2"))
        except (CheckFailed, VerifyError) as exc:
            return {}, (
                f"could not read the routes of API {api_id} (output `{api.key}`): {exc}; a 403 from a route "
                f"it does not declare proves nothing, so {shown} must be known to be one"
            )
        declared = [str(route) for route in routes]
        if not any(route.matches(method, path) for route in routes):
            return {}, (
                f"{shown} is not a route API {api_id} declares; declared: {', '.join(declared) or 'none'}. "
                "A REST API answers 403 Missing Authentication Token for every route it does not declare, "
                "so a refusal there proves nothing: set [flow] ingest_path and method to the route "
                "the stack ingests readings on"
            )
        return {"route": shown, "api_id": api_id, "declared": declared}, None

    def rejects(self, how: str) -> dict[str, Any]:
        route = self.declared_route()  # before anything is sent: an undeclared route proves nothing
        url = self._url(self.ingest_path())
        marker = f"{self.marker}-{how}"
        self._markers_written.add(marker)
        body = {**(self.payload or self.build_payload()), **self._partition(marker)}
        if how == "unsigned":
            response = self._send(
                marker, lambda: self.http.request(self.config.flow.method, url, json_body=body, sign=False)
            )
        else:
            frozen = self.aws.credentials().get_frozen_credentials()
            # Same key id, different secret: the API must check the signature, not just its presence.
            wrong = (str(frozen.access_key), "wrong" + str(frozen.secret_key)[5:], frozen.token)
            response = self._send(
                marker,
                lambda: self.http.request(
                    self.config.flow.method, url, json_body=body, credentials_override=wrong
                ),
            )
        evidence = {"route": route, "response": response.evidence()}
        if response.status not in (401, 403):
            raise CheckFailed(
                f"{self.config.flow.method} {url} with {how.replace('_', ' ')} request: expected 403, got HTTP "
                f"{response.status}",
                expected=403,
                actual=response.status,
                evidence=evidence,
            )
        return evidence

    def malformed_not_stored(self) -> dict[str, Any]:
        route = self.declared_route()  # a 4xx from a route the API does not declare proves nothing
        url = self._url(self.ingest_path())
        # Valid JSON that no sane handler accepts *in the stack's shape* (verify.scenario.conventions):
        # the key (so a stack that stores it anyway stores it under this run's marker, where the check
        # finds it and clean-up removes it), and flat: no timestamp and a value of the wrong type;
        # nested: the readings' envelope missing. The shape the ingest settled on, once it has.
        body: dict[str, Any] = self._ttl_values(dt.datetime.now(dt.UTC))
        self._await("ingest")
        shape = self.convention or self.learned_convention()
        if self.config.flow.payload:
            # An explicit template is the shape: malformed for it, not for what learning would say.
            rendered = render_template(self.config.flow.payload, self.marker, dt.datetime.now(dt.UTC))
            shape = from_payload(rendered, self.marker, shape)
        body.update(shape.malformed(self.malformed_marker, self.config.flow.value_field))
        self._markers_written.add(self.malformed_marker)
        response = self._send(
            self.malformed_marker, lambda: self.http.request(self.config.flow.method, url, json_body=body)
        )
        self._malformed_status = response.status
        evidence: dict[str, Any] = {"route": route, "response": response.evidence(), "sent": trim(body)}
        evidence["malformed_for"] = shape.describe()
        stored = self._items(self.targets.raw_table, self.malformed_marker) if self.targets.raw_table else []
        evidence["stored_items"] = len(stored)
        if not stored and not 200 <= response.status < 300:
            self._key_known_or_error(evidence)
        if 200 <= response.status < 300 or stored:
            raise CheckFailed(
                f"{self.config.flow.method} {url} with a malformed payload: expected 4xx and nothing stored, got "
                f"HTTP {response.status} and {len(stored)} stored item(s)",
                expected="4xx, 0 items",
                actual=f"HTTP {response.status}, {len(stored)} items",
                evidence=evidence,
            )
        if not 400 <= response.status < 500:
            raise CheckFailed(
                f"{self.config.flow.method} {url} with a malformed payload: expected 4xx, got HTTP {response.status}",
                expected="4xx",
                actual=response.status,
                evidence=evidence,
            )
        return evidence

    def _key_known_or_error(self, evidence: dict[str, Any]) -> None:
        """ "Nothing stored" holds only where verify knows how a single-table design keys a reading:
        otherwise it may sit under a prefix verify never looked at ("could not verify")."""
        table = self.targets.raw_table
        if table is None or not self.single_table(table):
            return
        self._await("raw")  # the raw step may find the reading, and so the prefix
        guess = self.key_guess(table)
        evidence["key"] = guess.describe()
        if self._key_found or guess.confirmed & set(guess.prefixes):
            return
        name = self.schema(table).partition.name
        raise VerifyError(
            f"single-table design {table.name}: the reading's {name} could not be learned, so whether the "
            f"malformed reading was stored cannot be told (looked up as {name} = "
            + ", ".join(f"{p}<marker>" for p in guess.prefixes)
            + "); set [flow] key_prefix to the text before the id in its partition key (e.g. DEVICE#)"
        )
