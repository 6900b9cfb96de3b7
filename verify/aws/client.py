"""The only module that builds boto3 sessions and clients, and wires the others of verify.aws into them.

- Clients are cached per (service, region) and share one botocore `Config`: standard retry mode
  (throttling and transport retries live here, never in `polling`), bounded timeouts, and a
  `verify/<version>` user agent so the harness's calls are recognisable in CloudTrail.
- Endpoints come from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` exactly as boto3 resolves
  them itself; nothing here passes `endpoint_url`, so nothing assumes an emulator.
- Each client carries, on botocore's events: the read-only guard (`guard`), call counting (`calls`),
  the breaker for dead endpoints (`breaker`), the per-try deadline (`deadline`) and, in a read-only
  run, the read snapshot (`snapshot`). `aws_errors` (`errors`) translates what they raise.
"""

from __future__ import annotations

import functools
import os
import platform
import threading
from typing import Any

import boto3
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import (
    CredentialRetrievalError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from verify.aws.breaker import Breaker
from verify.aws.calls import CallCounter
from verify.aws.deadline import bound_each_try, refuse_past_deadline
from verify.aws.errors import NO_CREDENTIALS, NO_REGION
from verify.aws.guard import refuse_write
from verify.aws.snapshot import CONFIGURATION_READS, ReadSnapshot, answer_early
from verify.errors import AwsAccessError
from verify.version import __version__

# The form botocore used before its component user agent (1.31): what AWS sees is the SDK, its
# version and the language, and verify's own name and version (user_agent_extra).
_USER_AGENT = (
    f"Boto3/{boto3.__version__} Python/{platform.python_version()} {platform.system()}/{platform.release()} "
    f"Botocore/{botocore.__version__}"
)


class Aws:
    """One boto3 session for the run, its cached clients, the read-only guard and call counters."""

    def __init__(
        self,
        region: str | None = None,
        *,
        read_only: bool = False,
        profile: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        max_attempts: int = 5,
    ) -> None:
        # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what the other SDKs, the CLI v2 and
        # Lambda set, and it wins over AWS_DEFAULT_REGION there, so it does here too.
        wanted_region = region or os.environ.get("AWS_REGION") or None
        try:
            self.session = boto3.session.Session(profile_name=profile, region_name=wanted_region)
        except ProfileNotFound:
            raise AwsAccessError(
                f"AWS profile {profile or os.environ.get('AWS_PROFILE')!r} not found in the AWS config "
                "files: fix --profile / AWS_PROFILE or run `aws configure sso`"
            ) from None
        _share_models(self.session)
        share_event_names()
        resolved = wanted_region or self.session.region_name
        if not resolved:
            raise AwsAccessError(NO_REGION)
        self.region: str = resolved
        self.read_only = read_only
        self._config = Config(
            # botocore's "max_attempts" key counts retries (so 5 means 6 tries); "total_max_attempts"
            # counts tries, which is what `max_attempts` means here.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # A fixed user agent: botocore otherwise renders its ~35 components, each through a
            # sanitiser, twice per request (~0.3 ms: 8 % of a 200-resource smoke's CPU).
            user_agent=_USER_AGENT,
            user_agent_extra=f"verify/{__version__}",
            # Checks run ahead on up to 32 threads sharing one client per service: botocore's default
            # pool of 10 would make the others open (and throw away) a connection per call.
            max_pool_connections=32,
        )
        # One try's whole budget, connect to last byte: botocore's timeouts bound each socket read.
        self._try_budget_s = connect_timeout + read_timeout
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._calls = CallCounter()
        self.breaker = Breaker()
        # A read-only run (smoke) asks each question once; a run that writes, each question about
        # configuration (see verify.aws.snapshot).
        self.snapshot = ReadSnapshot() if read_only else ReadSnapshot(only=CONFIGURATION_READS)

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached boto3 client for `service` in `region` (default: the run's region)."""
        key = (service, region or self.region)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            try:
                # boto3-stubs types client() per literal service name; ours is a runtime string.
                client = self.session.client(service, region_name=key[1], config=self._config)  # type: ignore[call-overload]
            except NoRegionError:
                raise AwsAccessError(NO_REGION) from None
            events = client.meta.events
            events.register("before-parameter-build", self._guard_read_only)
            events.register("before-call", self._calls.count)
            endpoint = str(client.meta.endpoint_url)
            events.register("before-send", functools.partial(self.breaker.before_send, endpoint))
            events.register("before-send", refuse_past_deadline)
            events.register("response-received", functools.partial(self.breaker.observe, endpoint))
            self.snapshot.register(events)
            answer_early(client, self.snapshot)
            bound_each_try(client, self._try_budget_s)
            _load_paginators(client)
            self._clients[key] = client
            return client

    def credentials(self) -> botocore.credentials.Credentials:
        """The session's (refreshable) credentials; `AwsAccessError` when there are none."""
        try:
            credentials = self.session.get_credentials()
        except (CredentialRetrievalError, TokenRetrievalError, PartialCredentialsError) as error:
            raise AwsAccessError(
                f"could not load AWS credentials ({type(error).__name__}): refresh them "
                "(e.g. `aws sso login`) and retry"
            ) from None
        if credentials is None:
            raise AwsAccessError(NO_CREDENTIALS)
        return credentials

    def call_count(self) -> int:
        return self._calls.total()

    def calls_by_operation(self) -> dict[str, int]:
        """Calls so far, keyed like IAM actions: `dynamodb:DescribeTable`."""
        return self._calls.by_operation()

    def _guard_read_only(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # Asked at each call, not at registration: `read_only` may change on a live session.
        if self.read_only:
            refuse_write(params, model)


# botocore's data loader per list of search paths: the service models it has read (JSON, parsed).
_LOADERS: dict[tuple[str, ...], Any] = {}
_LOADERS_LOCK = threading.Lock()


def _share_models(session: boto3.session.Session) -> None:
    """Give the session the process's loader for its search paths, models already parsed.

    Each new session reads and parses every model it uses again (the endpoints file, each service's
    model and paginators: ~60 ms a service). A process that builds several sessions -- discovery's
    and the run's, or many runs in one process (a test suite, a pipeline of stacks) -- spent 13 % of
    a drawn stand-in's run there. The models are read-only data; a loader that searches the same
    paths returns the same files, so sharing it changes nothing but the time."""
    botocore_session = session._session
    loader = botocore_session.get_component("data_loader")
    key = tuple(str(path) for path in loader.search_paths)
    with _LOADERS_LOCK:
        shared = _LOADERS.setdefault(key, loader)
    if shared is not loader:
        botocore_session.register_component("data_loader", shared)
        session._loader = shared  # boto3 reads its resource models through its own reference


def share_event_names() -> None:
    """Let every botocore client of the process share one cache of its event names (once).

    botocore names each event twice over (`before-call.dynamodb.DescribeTable` -> its aliased
    form, by splitting it and trying ~30 aliases) and caches the answer per client; each new
    client copies its session's emitter with an empty cache, and its own registrations and first
    calls work the same names out again. That was a tenth of a sandbox provisioning's CPU (its ~11
    clients, made again at every fault switch) and 3 % of a `verify run`'s. The aliases are
    botocore's fixed table, copied into each client, so one answer serves them all; a copy whose
    aliases differ keeps a cache of its own. Guarded: a botocore without these attributes is left
    as it is."""
    from botocore import hooks

    aliaser = getattr(hooks, "EventAliaser", None)
    original = getattr(aliaser, "__copy__", None)
    if aliaser is None or original is None or getattr(original, "shares_event_names", False):
        return

    def copy_sharing_names(self: Any) -> Any:
        copied = original(self)
        names = getattr(self, "_alias_name_cache", None)
        if names is not None and getattr(copied, "_event_aliases", None) == getattr(
            self, "_event_aliases", None
        ):
            copied._alias_name_cache = names
        return copied

    copy_sharing_names.shares_event_names = True  # type: ignore[attr-defined]
    aliaser.__copy__ = copy_sharing_names


def _load_paginators(client: Any) -> None:
    """Load the client's paginator model now, while the caller holds the clients' lock.

    botocore loads it on the first get_paginator() and lists every service directory it ships
    (~420) to do so. Its cache is not single-flight: when checks running ahead on 30 threads reach
    their first paginator together, each thread repeats that listing (12 000 directory reads at
    200 resources, measured with strace). Loading it here does it once per service.
    """
    operations = client.meta.method_to_api_mapping
    if operations:
        client.can_paginate(next(iter(operations)))
