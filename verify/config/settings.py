"""Harness configuration: `verify.toml`, else `[tool.verify]` in `pyproject.toml`, else defaults.

Every table and key is declared in `_SCHEMA`, so an unknown key or a wrong type is one sentence with
the file and line, and exit 2 -- a typo in a policy must never silently loosen a gate.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.errors import ConfigError
from verify.model import Category, Severity

DEFAULT_CONFIG_NAMES = ("verify.toml",)


@dataclass(frozen=True)
class FlowConfig:
    ingest_path: str = "ingest"
    query_path: str = "query"
    method: str = "POST"
    query_param: str | None = None  # default: the processed table's partition key
    payload: str | None = None  # a JSON template with {marker}, {now_iso}, {now_epoch_ms}, {now_epoch_s}
    raw_table: str | None = None  # output key of the table that plays "raw"
    processed_table: str | None = None
    value_field: str = "temperature"
    # Attributes the processor must derive (verify.scenario.enrichment); empty: at least one derived.
    enriched_fields: tuple[str, ...] = ()
    # Single-table designs (verify.scenario.keys): the text before the marker in the partition key
    # (`DEVICE#`), and the sort-key entities of the raw and processed items; None: learned.
    key_prefix: str | None = None
    raw_entity: str | None = None
    processed_entity: str | None = None


@dataclass(frozen=True)
class Expectations:
    pitr: bool = True
    sse: bool = True
    log_retention_days: int | None = None  # None: any retention is fine, but "never expire" is not
    rotation_days: int | None = None
    multi_az: bool = True
    db_must_be_reachable: bool = False
    cache_must_be_reachable: bool = False
    processed_max_age_s: float = 3600.0


@dataclass(frozen=True)
class HttpConfig:
    # Hosts (`host`, `host:port`, `*.domain`) that may receive the run's signed requests besides AWS's
    # own API hosts and the hosts of AWS_ENDPOINT_URL*: see verify.aws.http.SigningHosts.
    allow_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmokeConfig:
    safe_paths: tuple[str, ...] = ("query", "health")


@dataclass(frozen=True)
class Waiver:
    check: str  # a check id, or a prefix ending in "*"
    reason: str
    expires: dt.date | None = None

    def covers(self, check_id: str) -> bool:
        if self.check.endswith("*"):
            return check_id.startswith(self.check[:-1])
        return check_id == self.check

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires

    def describe(self) -> str:
        """The reason a report shows beside a waived check."""
        return f"{self.reason} (waived until {self.expires})" if self.expires else f"{self.reason} (waived)"


@dataclass(frozen=True)
class Policy:
    blocking_categories: frozenset[str] = frozenset({"functional"})
    blocking_services: frozenset[str] = frozenset()
    blocking_checks: frozenset[str] = frozenset()
    advisory_checks: frozenset[str] = frozenset()
    waivers: tuple[Waiver, ...] = ()
    max_errors: int | None = None
    max_flow_latency_s: float | None = None
    # Where verify runs inside the VPC, a database it cannot reach is a fault: `unverified` blocks.
    require_reachable: bool = False

    def active_waiver(self, check_id: str, today: dt.date | None = None) -> Waiver | None:
        today = today or dt.date.today()
        return next((w for w in self.waivers if w.covers(check_id) and w.active(today)), None)

    def expired_waivers(self, check_id: str, today: dt.date | None = None) -> list[Waiver]:
        today = today or dt.date.today()
        return [w for w in self.waivers if w.covers(check_id) and not w.active(today)]

    def severity(self, check_id: str, service: str, category: str, today: dt.date | None = None) -> Severity:
        """Blocking or advisory for one check: waivers first, explicit lists, then service, then category."""
        base = _strip_params(check_id)
        if self.active_waiver(check_id, today) is not None:
            return Severity.ADVISORY
        if check_id in self.advisory_checks or base in self.advisory_checks:
            return Severity.ADVISORY
        if check_id in self.blocking_checks or base in self.blocking_checks:
            return Severity.BLOCKING
        if service in self.blocking_services:
            return Severity.BLOCKING
        return Severity.BLOCKING if category in self.blocking_categories else Severity.ADVISORY


def _strip_params(check_id: str) -> str:
    return check_id.split("[", 1)[0]


def check_policy_names(policy: Policy, known_ids: Iterable[str], source: str) -> None:
    """A policy that names a check no suite has (a typo, a renamed check) would block or waive
    nothing, silently: one sentence with the nearest check's id, exit 2, before anything runs.
    `known_ids` are every check the run could plan, whatever the stack holds and -k keeps."""
    known = sorted({_strip_params(i) for i in known_ids})
    named = [("blocking_checks", n) for n in sorted(policy.blocking_checks)]
    named += [("advisory_checks", n) for n in sorted(policy.advisory_checks)]
    named += [("waivers", w.check) for w in policy.waivers]
    for where, name in named:
        if name.endswith("*"):
            if any(k.startswith(name[:-1]) for k in known):
                continue
        elif _strip_params(name) in known:
            continue
        nearest = difflib.get_close_matches(_strip_params(name).rstrip("*"), known, n=1, cutoff=0.5)
        hint = f"; did you mean `{nearest[0]}`?" if nearest else ""
        raise ConfigError(
            f"{source}: policy {where} names `{name}`, which is no check{hint} "
            "(`verify checks list` lists every check's id)"
        )


@dataclass(frozen=True)
class Config:
    path: str | None = None
    outputs_path: str | None = None
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    flow: FlowConfig = field(default_factory=FlowConfig)
    expect: Expectations = field(default_factory=Expectations)
    smoke: SmokeConfig = field(default_factory=SmokeConfig)
    policy: Policy = field(default_factory=Policy)
    http: HttpConfig = field(default_factory=HttpConfig)


# table -> key -> accepted python types
_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "outputs": {"path": (str,)},
    "flow": {
        "ingest_path": (str,),
        "query_path": (str,),
        "method": (str,),
        "query_param": (str,),
        "payload": (str, dict),
        "raw_table": (str,),
        "processed_table": (str,),
        "value_field": (str,),
        "enriched_fields": (list,),
        "key_prefix": (str,),
        "raw_entity": (str,),
        "processed_entity": (str,),
    },
    "expect": {
        "pitr": (bool,),
        "sse": (bool,),
        "log_retention_days": (int,),
        "rotation_days": (int,),
        "multi_az": (bool,),
        "db_must_be_reachable": (bool,),
        "cache_must_be_reachable": (bool,),
        "processed_max_age_s": (int, float),
    },
    "smoke": {"safe_paths": (list,)},
    "http": {"allow_hosts": (list,)},
    "policy": {
        "blocking_categories": (list,),
        "blocking_services": (list,),
        "blocking_checks": (list,),
        "advisory_checks": (list,),
        "waivers": (list,),
        "max_errors": (int,),
        "max_flow_latency_s": (int, float),
        "require_reachable": (bool,),
    },
}
_ALIAS_KEYS = {"kind", "role", "name"}
_WAIVER_KEYS = {"check": (str,), "reason": (str,), "expires": (dt.date, str)}


class _Validator:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str, table: str | None = None) -> int | None:
        """Line of `key` inside `table` (a key of that name elsewhere is not the mistake), else anywhere."""
        anywhere: int | None = None
        section: str | None = None
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if stripped.startswith("["):
                # [tool.verify.x] in pyproject.toml is [x] in verify.toml: compare without the prefix.
                section = stripped.lstrip("[").split("]", 1)[0].strip().removeprefix("tool.verify.")
                if table is None and (section == key or section.startswith(f"{key}.")):
                    return number
                continue
            if stripped.startswith((f"{key} ", f"{key}=", f'"{key}"')):
                if table is None or (
                    section is not None and (section == table or section.startswith(f"{table}."))
                ):
                    return number
                anywhere = anywhere or number
        return anywhere

    def error(self, key: str, problem: str, table: str | None = None) -> ConfigError:
        """`key` is a table name, a dotted `table.key` / `table.sub.key`, or a plain key of `table`."""
        if table is None and "." in key:
            table, key = key.split(".", 1)[0], key.rsplit(".", 1)[-1]
        line = self.line_of(key, table)
        where = f"{self.path}, line {line}" if line else str(self.path)
        # TOML allows any character in a quoted key, a newline included: the error stays one line.
        problem = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", problem)
        return ConfigError(f"{where}: {problem}")

    def check_type(self, dotted: str, value: Any, types: tuple[type, ...]) -> None:
        # bool is an int in Python; a `true` where a number is expected is still a mistake.
        ok = False if isinstance(value, bool) and bool not in types else isinstance(value, types)
        if not ok:
            wanted = " or ".join(_type_name(t) for t in types)
            raise self.error(dotted, f"`{dotted}` must be {wanted}, got {_type_name(type(value))}")


def _type_name(t: type) -> str:
    return {
        str: "a string",
        bool: "true/false",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
        dt.date: "a date",
    }.get(t, t.__name__)


def find_config(explicit: str | None, cwd: Path) -> tuple[Path, bool] | None:
    """Which file to read, and whether it is a pyproject.toml (whose [tool.verify] table is used)."""
    if explicit:
        return Path(explicit), Path(explicit).name == "pyproject.toml"
    for name in DEFAULT_CONFIG_NAMES:
        candidate = cwd / name
        if candidate.is_file():
            return candidate, False
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # someone else's pyproject problem is not ours unless it holds our table
        if isinstance(data.get("tool"), dict) and "verify" in data["tool"]:
            return pyproject, True
    return None


def load_config(explicit: str | None = None, cwd: Path | None = None) -> Config:
    found = find_config(explicit, cwd or Path.cwd())
    if found is None:
        return Config()
    path, is_pyproject = found
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory: pass the TOML file itself to --config")
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found: pass an existing file to --config, or drop the option"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    if is_pyproject:
        tool = data.get("tool")
        data = tool.get("verify", {}) if isinstance(tool, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.verify] must be a table")
    return parse_config(data, _Validator(path, text))


def load_policy(path: str) -> Policy:
    """A release-gate policy file (`--policy`): a TOML file whose `[policy]` table overrides config's."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"policy file {file} not found: pass an existing TOML file to --policy")
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"policy file {file} cannot be read as UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {file} is not valid TOML: {exc}") from None
    if "policy" not in data:
        raise ConfigError(f"policy file {file} has no [policy] table: put the gate's settings under [policy]")
    # The whole file is validated, so a verify.toml works as a policy file and a typo still stops the gate.
    return parse_config(data, _Validator(file, text)).policy


def parse_config(data: Mapping[str, Any], validator: _Validator) -> Config:
    known = set(_SCHEMA) | {"aliases"}
    for table, value in data.items():
        if table not in known:
            raise validator.error(table, f"unknown table `{table}` (known: {', '.join(sorted(known))})")
        if not isinstance(value, dict):
            raise validator.error(table, f"`{table}` must be a table")
        if table == "aliases":
            continue
        for key, item in value.items():
            if key not in _SCHEMA[table]:
                allowed = ", ".join(sorted(_SCHEMA[table]))
                raise validator.error(key, f"unknown key `{key}` in [{table}] (known: {allowed})", table)
            validator.check_type(f"{table}.{key}", item, _SCHEMA[table][key])
    aliases = _parse_aliases(data.get("aliases", {}), validator)
    flow = dict(data.get("flow", {}))
    if isinstance(flow.get("payload"), dict):
        import json

        flow["payload"] = json.dumps(flow["payload"])
    for name in ("ingest_path", "query_path"):
        if name in flow:
            _relative_path(flow[name], f"flow.{name}", validator)
    if "enriched_fields" in flow:
        fields = _strings(flow["enriched_fields"], "flow.enriched_fields", validator)
        if not all(name.strip() for name in fields):
            raise validator.error(
                "flow.enriched_fields", "`flow.enriched_fields` must name attributes, not empty strings"
            )
        flow["enriched_fields"] = tuple(fields)
    expect = dict(data.get("expect", {}))
    smoke = data.get("smoke", {})
    for safe in _strings(smoke.get("safe_paths", []), "smoke.safe_paths", validator):
        _relative_path(safe, "smoke.safe_paths", validator)
    return Config(
        path=str(validator.path),
        outputs_path=data.get("outputs", {}).get("path"),
        aliases=aliases,
        flow=FlowConfig(**flow),
        expect=Expectations(**expect),
        smoke=SmokeConfig(
            safe_paths=tuple(
                _strings(smoke.get("safe_paths", ["query", "health"]), "smoke.safe_paths", validator)
            )
        ),
        policy=_parse_policy(data.get("policy", {}), validator),
        http=HttpConfig(allow_hosts=_allow_hosts(data.get("http", {}), validator)),
    )


def _relative_path(path: str, dotted: str, validator: _Validator) -> None:
    """A path under the API's URL: an absolute URL (or `//host`) would send the run's signed
    requests to whatever host it names."""
    from urllib.parse import urlsplit

    stripped = path.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        raise validator.error(dotted, f"`{dotted}` = {path!r} is not a path") from None
    if parts.scheme or parts.netloc or stripped.startswith(("//", "\\\\")) or "\\" in stripped:
        raise validator.error(
            dotted,
            f'`{dotted}` must be a path relative to the API\'s URL (like "ingest"), not {path!r}: '
            "an absolute URL would send the run's signed requests to another host",
        )


def _allow_hosts(raw: Mapping[str, Any], validator: _Validator) -> tuple[str, ...]:
    hosts = _strings(raw.get("allow_hosts", []), "http.allow_hosts", validator)
    if hosts:
        from verify.aws.http import valid_allow_entry  # loads requests: only when there is something to read
    for host in hosts:
        if not valid_allow_entry(host):
            raise validator.error(
                "http.allow_hosts",
                f"`http.allow_hosts` entry {host!r} is not a host name: write `api.example.com`, "
                "`api.example.com:8443`, `*.example.com` or `127.0.0.1:8080` (no scheme, no path)",
            )
    return tuple(h.strip().lower() for h in hosts)


def _strings(value: list[Any], dotted: str, validator: _Validator) -> list[str]:
    for item in value:
        if not isinstance(item, str):
            raise validator.error(dotted, f"`{dotted}` must be a list of strings")
    return list(value)


def _parse_aliases(raw: Mapping[str, Any], validator: _Validator) -> dict[str, dict[str, str]]:
    from verify.stack.inventory import KINDS, ROLES

    aliases: dict[str, dict[str, str]] = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise validator.error(
                key, f'alias `{key}` must be a table like {{ kind = "dynamodb_table" }}', "aliases"
            )
        unknown = set(value) - _ALIAS_KEYS
        if unknown:
            raise validator.error(
                key,
                f"alias `{key}`: unknown field `{sorted(unknown)[0]}` (known: kind, role, name)",
                "aliases",
            )
        for name, item in value.items():
            validator.check_type(f"aliases.{key}.{name}", item, (str,))
        if "kind" in value and value["kind"] not in KINDS:
            raise validator.error(
                key,
                f"alias `{key}`: unknown kind `{value['kind']}` (known: {', '.join(KINDS)})",
                "aliases",
            )
        if "role" in value and value["role"] not in ROLES:
            raise validator.error(
                key,
                f"alias `{key}`: unknown role `{value['role']}` (known: {', '.join(ROLES)})",
                "aliases",
            )
        aliases[key] = dict(value)
    return aliases


def _parse_policy(raw: Mapping[str, Any], validator: _Validator) -> Policy:
    categories = _strings(
        raw.get("blocking_categories", ["functional"]), "policy.blocking_categories", validator
    )
    for category in categories:
        if category not in {c.value for c in Category}:
            raise validator.error(
                "policy.blocking_categories", f"unknown category `{category}` (known: functional, posture)"
            )
    waivers: list[Waiver] = []
    for entry in raw.get("waivers", []):
        if not isinstance(entry, dict):
            raise validator.error("waivers", "each waiver must be a table with check, reason and expires")
        for key, item in entry.items():
            if key not in _WAIVER_KEYS:
                raise validator.error(
                    key, f"unknown key `{key}` in a waiver (known: check, reason, expires)", "policy"
                )
            validator.check_type(f"policy.waivers.{key}", item, _WAIVER_KEYS[key])
        if "check" not in entry or not entry.get("reason"):
            raise validator.error("waivers", "a waiver needs `check` and a non-empty `reason`")
        expires = entry.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise validator.error(
                    "policy.waivers.expires", f"waiver expiry `{expires}` is not a date (YYYY-MM-DD)"
                ) from None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        waivers.append(Waiver(check=entry["check"], reason=entry["reason"], expires=expires))
    max_latency = raw.get("max_flow_latency_s")
    return Policy(
        blocking_categories=frozenset(categories),
        blocking_services=frozenset(
            _strings(raw.get("blocking_services", []), "policy.blocking_services", validator)
        ),
        blocking_checks=frozenset(
            _strings(raw.get("blocking_checks", []), "policy.blocking_checks", validator)
        ),
        advisory_checks=frozenset(
            _strings(raw.get("advisory_checks", []), "policy.advisory_checks", validator)
        ),
        waivers=tuple(waivers),
        max_errors=raw.get("max_errors"),
        max_flow_latency_s=float(max_latency) if max_latency is not None else None,
        require_reachable=bool(raw.get("require_reachable", False)),
    )
