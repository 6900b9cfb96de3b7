"""Endpoints of the embedded sandbox that have no real server behind them.

The sandbox stands a real PostgreSQL and Redis behind its RDS and ElastiCache endpoints. Where it could
not have one (no system binary and no `verify-stack[sandbox]` package), it says so in the environment
it hands the harness: `VERIFY_SANDBOX_MISSING`, a JSON object from service (`rds`, `elasticache`) to
the reason, which names the missing program. The check that would connect is then skipped with that
reason, never an error blamed on the network, and never a pass.

Only loopback endpoints are answered from it: a real stack's endpoints are never loopback, so a stray
variable in a CI environment cannot turn a real database check into a skip.
"""

from __future__ import annotations

import ipaddress
import json
import os

from verify.errors import NotApplicable

MISSING_ENV = "VERIFY_SANDBOX_MISSING"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def missing_server(service: str, host: str) -> str | None:
    """Why the sandbox has no server behind this endpoint, or None (a real server may answer)."""
    raw = os.environ.get(MISSING_ENV)
    if not raw or not _loopback(host):
        return None
    try:
        missing = json.loads(raw)
    except ValueError:
        return None
    reason = missing.get(service) if isinstance(missing, dict) else None
    return str(reason) if reason else None


def skip_if_no_server(service: str, host: str) -> None:
    """Raise NotApplicable naming the missing program when the sandbox has no server at `host`."""
    reason = missing_server(service, host)
    if reason is not None:
        raise NotApplicable(f"the sandbox has no server behind {host}: {reason}")
