"""One verify run's shared state, and its summary at the end.

Built once per pytest process (controller and each xdist worker); the costly parts (outputs, the
inventory, AWS access, the signed HTTP session) are made lazily, on first use.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from verify.config.settings import Config, Policy, load_policy
from verify.engine.evidence import observe_aws, observed_http
from verify.errors import VerifyError
from verify.model import CheckResult, LeftBehind, RunSummary, judge
from verify.scenario.run_ids import new_run_id

if TYPE_CHECKING:
    from verify.aws.client import Aws
    from verify.aws.http import SignedHttp, SigningHosts
    from verify.intent.run import RunIntent
    from verify.stack.inventory import Inventory
    from verify.stack.outputs import Outputs


@dataclass
class VerifySession:
    """Everything one run shares: built once per process, lazily where it costs AWS calls."""

    config: Config
    profile: str
    region_option: str | None
    outputs_paths: list[str]
    stack_name: str | None
    report_dir: Path
    timeout: float
    run_id: str
    started_at: str
    started_monotonic: float
    results: list[CheckResult] = field(default_factory=list)
    interrupted: bool = False
    policy_file: str | None = None
    shard: tuple[int, int] | None = None
    stack_of: dict[str, str] = field(default_factory=dict)  # output key -> stack, for several stacks
    notes: list[str] = field(default_factory=list)  # said in the report beside the run's own notes
    left_behind: list[LeftBehind] = field(default_factory=list)  # test data clean-up could not remove
    access_calls: int = 0  # the access check's AWS calls (engine/access.py), counted apart from the checks'
    template: str | None = None  # --template: the stack's own template (docs/intent.md)
    _policy: Policy | None = None
    _outputs: Outputs | None = None
    _inventory: Inventory | None = None
    _aws: Aws | None = None
    _http: SignedHttp | None = None
    _intent: RunIntent | None = None
    _intent_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def read_only(self) -> bool:
        return self.profile == "smoke"

    @property
    def call_timeout(self) -> float:
        """Read timeout of one AWS call or HTTP request: 20 s, or the wait budget when smaller."""
        return max(1.0, min(20.0, self.timeout))

    @property
    def outputs_path(self) -> str | None:
        return self.outputs_paths[0] if self.outputs_paths else None

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy(self.policy_file) if self.policy_file else self.config.policy
        return self._policy

    @property
    def policy_source(self) -> str:
        if self.policy_file:
            return self.policy_file
        return self.config.path or "built-in default"

    def outputs(self) -> Outputs:
        if self._outputs is None:
            from verify.stack.outputs import DEFAULT_OUTPUTS_PATH, load_live_outputs
            from verify.stack.several import load_stacks

            if self.stack_name and not self.outputs_paths:
                self._outputs = load_live_outputs(self.stack_name, self.aws().client("cloudformation"))
            else:
                paths = self.outputs_paths or [self.config.outputs_path or DEFAULT_OUTPUTS_PATH]
                self._outputs, self.stack_of = load_stacks(paths, stack=self.stack_name)
            from verify.redact import REDACTOR

            for secret in self._outputs.secret_values():
                REDACTOR.add(secret)
        return self._outputs

    def inventory(self) -> Inventory:
        if self._inventory is None:
            from verify.stack.inventory import build_inventory
            from verify.stack.wiring import follow_wiring

            self._inventory = build_inventory(
                self.outputs(), overrides=self.config.aliases, region=self.region_option
            )
            # Assigned first: `aws()` asks `region()`, which reads the inventory just built.
            self._inventory = follow_wiring(self._inventory, self.aws)
        return self._inventory

    def intent(self) -> RunIntent:
        """What the stack's own template declares, read once (the intent checks share it)."""
        with self._intent_lock:  # the checks run on threads: one read, whoever asks first
            if self._intent is None:
                from verify.intent.run import load_run_intent
                from verify.stack.outputs import DEFAULT_OUTPUTS_PATH

                live = bool(self.stack_name and not self.outputs_paths)
                paths = (
                    [] if live else self.outputs_paths or [self.config.outputs_path or DEFAULT_OUTPUTS_PATH]
                )
                self._intent = load_run_intent(
                    template=self.template,
                    outputs=self.outputs(),
                    inventory=self.inventory(),
                    outputs_paths=paths,
                    stack=self.stack_name,
                    cloudformation=lambda: self.aws().client("cloudformation"),
                )
            return self._intent

    def region(self) -> str | None:
        if self.region_option:
            return self.region_option
        if (
            self._inventory is not None
            or self._outputs is not None
            or self.outputs_path
            or not self.stack_name
        ):
            return self.inventory().region
        return None

    def known_region(self) -> str | None:
        """The region, or the one given when the outputs it comes from could not be read: for
        reports and console links, which must still be written when the run could verify nothing."""
        try:
            return self.region()
        except VerifyError:
            return self.region_option

    def aws(self) -> Aws:
        if self._aws is None:
            from verify.aws.client import Aws

            # One call may not outlast a whole wait's budget: a hanging endpoint with a small --timeout
            # must not hold a check for botocore's default read timeout on every retry.
            aws = Aws(self.region(), read_only=self.read_only, read_timeout=self.call_timeout)
            # Before any client exists: clients copy the session's event hooks when they are made.
            observe_aws(aws.session, aws.snapshot)
            _register_credentials(aws)
            self._aws = aws
        return self._aws

    def http(self) -> SignedHttp:
        if self._http is None:
            from verify.aws.http import SignedHttp

            aws = self.aws()
            allowed = frozenset({"GET", "HEAD"}) if self.read_only else None
            self._http = observed_http(SignedHttp)(
                aws.credentials,
                aws.region,
                allowed_methods=allowed,
                timeout=(5.0, self.call_timeout),
                hosts=self.signing_hosts(),
            )
        return self._http

    def signing_hosts(self) -> SigningHosts:
        """Where the run's HTTP may go (verify.aws.http.SigningHosts): AWS API hosts, AWS_ENDPOINT_URL*,
        [http] allow_hosts and custom domains the account's API Gateway maps to an API."""
        from verify.aws.http import SigningHosts, origins_of
        from verify.probes.apigateway import custom_domain_maps_api, named_api_ids

        try:
            inventory = self.inventory()
        except VerifyError:
            inventory = None
        # Each output item on its own (two URLs naming one API may name two hosts), then discovery's.
        resources = (
            (*inventory.output_items(), *(r for r in inventory.resources if r.discovered))
            if inventory is not None
            else ()
        )
        # The API outputs first: a host named by both `ApiEndpoint` and `DashboardUrl` is the API's.
        named = sorted((r for r in resources if not r.sensitive), key=lambda r: r.kind != "api")
        origins = origins_of((r.key, r.url or r.value) for r in named)
        api_ids = named_api_ids(inventory) if inventory is not None else frozenset()

        def vouch(domain: str) -> bool:
            aws = self.aws()
            return custom_domain_maps_api(
                aws.client("apigateway"), domain, aws.client("apigatewayv2"), api_ids
            )

        return SigningHosts(allow=self.config.http.allow_hosts, origins=origins, vouch=vouch)


def _register_credentials(aws: Aws) -> None:
    """The run's own secret key and session token are masked wherever a check might echo them."""
    from verify.redact import REDACTOR

    try:
        frozen = aws.credentials().get_frozen_credentials()
    except VerifyError:
        return  # no credentials: the first AWS call says so, in its own check
    if frozen.secret_key:
        REDACTOR.add(frozen.secret_key)
    if frozen.token:
        REDACTOR.add(frozen.token)


# What verify itself generates (and what `--run-id` makes of a label): the prefix, then a random part.
def build_summary(session: VerifySession, *, interrupted: bool = False) -> RunSummary:
    notes: list[str] = []
    if interrupted:
        notes.append("interrupted: the run was stopped before every check finished")
    verdict = judge(session.results)
    if not session.results:
        notes.append("no check ran: nothing was verified")
    source = session.outputs_path or (f"cloudformation:{session.stack_name}" if session.stack_name else "")
    if session._outputs is not None:
        source = session._outputs.source
    region = session.known_region()
    return RunSummary(
        verdict=verdict,
        shard=f"{session.shard[0]}/{session.shard[1]}" if session.shard else "",
        environment=run_environment(session),
        profile=session.profile,
        run_id=session.run_id,
        started_at=session.started_at,
        duration_s=time.monotonic() - session.started_monotonic,
        source=source,
        region=region,
        checks=list(session.results),
        notes=notes + session.notes + _discovery_notes(session),
        aws_calls=session._aws.calls_by_operation() if session._aws is not None else {},
        discovery_calls=session._inventory.discovery.calls
        if session._inventory is not None and session._inventory.discovery is not None
        else 0,
        interrupted=interrupted,
        left_behind=list(session.left_behind),
        access_calls=session.access_calls,
    )


def _discovery_notes(session: VerifySession) -> list[str]:
    """What following the stack's wiring could not do (an AWS error, its bound reached): said in
    the run's notes, because a resource it did not find gets no check and no row of its own."""
    found = session._inventory.discovery if session._inventory is not None else None
    return [f"discovery: {note}" for note in found.notes] if found is not None else []


def run_environment(session: VerifySession) -> dict[str, str]:
    """What a reader needs to reproduce the run: versions, profile, where AWS access came from."""
    import platform

    from verify.version import __version__

    env = {
        "verify": __version__,
        "python": platform.python_version(),
        "profile": session.profile,
        "policy": session.policy_source,
    }
    try:
        import boto3

        env["boto3"] = boto3.__version__
    except ImportError:  # pragma: no cover -- a dependency; only a broken install lacks it
        pass
    if os.environ.get("AWS_PROFILE"):
        env["aws_profile"] = os.environ["AWS_PROFILE"]
    if session.stack_of:
        env["stacks"] = ", ".join(sorted(set(session.stack_of.values())))
    return env


def start_session(
    *,
    config: Config,
    profile: str,
    region: str | None,
    outputs_paths: list[str],
    stack: str | None,
    policy: str | None,
    report_dir: Path,
    timeout: float,
    run_id: str | None = None,
    started_at: str | None = None,
    shard: tuple[int, int] | None = None,
    template: str | None = None,
) -> VerifySession:
    """The run's shared state from its options: the CLI's runner and the plugin build it alike."""
    return VerifySession(
        config=config,
        profile=profile,
        region_option=region,
        outputs_paths=outputs_paths,
        stack_name=stack,
        policy_file=policy,
        shard=shard,
        template=template,
        report_dir=report_dir,
        timeout=timeout,
        run_id=run_id or new_run_id(),
        started_at=started_at or datetime.now(UTC).isoformat(timespec="seconds"),
        started_monotonic=time.monotonic(),
    )
