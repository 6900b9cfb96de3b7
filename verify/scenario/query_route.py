"""Where and how the flow asks the API for its reading back, learned from the routes the API declares.

Stacks answer queries as `GET /query?sensorId=…` (the sandbox), `GET /query?device_id=…&event_date=…
&table=processed` (the public IoT handlers: every parameter required) or `GET /readings/{device_id}`.
The API says which: its methods' `requestParameters` mark required query strings
(`method.request.querystring.X: true`), its paths name path parameters. In this order:

1. `[flow] query_path` is declared as a GET route (or nothing is known of the routes): ask there, by
   `?<id>=marker`, adding every query string the method requires;
2. else a declared GET route whose one path parameter is the id (`/readings/{device_id}`, or any
   single `{param}` under a path naming readings, data or query);
3. else a declared GET route that requires the id as a query string;
4. else the API's one GET route with a single path parameter (`/lookup/{id}`);
5. else the API's one GET route that declares no parameters at all (an HTTP API declares none), by
   `?<id>=marker`.
A `400` answer that names parameters the request lacks (`device_id, event_date and table are
required`) adds those it can fill (`fill_named`), and the query is asked again at once.
A required parameter is filled from its name: the id -> the marker; a date (`event_date`, `date`,
`day`) -> the reading's UTC day (YYYY-MM-DD); `table`/`source`/`type`/`kind` -> `processed`; a time ->
the reading's epoch milliseconds. One whose value cannot be told is listed in the evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from verify.probes.apigateway import MethodRequest, Route

__all__ = ["INGEST_WORDS", "QueryRequest", "fill_named", "ingest_route", "methods_of_routes", "plan_query"]

_DATE = re.compile(r"(^|_)(date|day)$|Date$", re.IGNORECASE)
_TIME = re.compile(r"(time|timestamp|ts|epoch)$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_PARAMS = frozenset({"date", "day", "time", "timestamp", "ts", "epoch", "table", "source"})
_WHICH_TABLE = frozenset({"table", "source", "type", "kind", "table_name", "dataset"})
_READING_WORDS = ("reading", "data", "query", "sensor", "device", "metric", "record", "item")
# Words a route that takes readings in is named with (`/ingest`, `/readings`, `/telemetry`, `/v1/events`).
INGEST_WORDS = (
    "ingest", "reading", "telemetry", "event", "data", "metric", "measurement", "record", "message",
    "sensor", "device", "upload", "collect", "sample",
)  # fmt: skip


@dataclass(frozen=True)
class QueryRequest:
    path: str  # relative to the API's base URL
    params: dict[str, str]
    evidence: dict[str, Any] = field(default_factory=dict)


def _value(name: str, id_param: str, marker: str, when: dt.datetime) -> str | None:
    if name == id_param:
        return marker
    if _DATE.search(name):
        return when.astimezone(dt.UTC).strftime("%Y-%m-%d")
    if name.lower() in _WHICH_TABLE:
        return "processed"
    if _TIME.search(name):
        return str(int(when.timestamp() * 1000))
    return None


def _filled(
    request: MethodRequest, id_param: str, marker: str, when: dt.datetime
) -> tuple[dict[str, str], list[str]]:
    params: dict[str, str] = {}
    unknown: list[str] = []
    for name in request.required_query:
        value = _value(name, id_param, marker, when)
        if value is None:
            unknown.append(name)
        else:
            params[name] = value
    return params, unknown


def plan_query(
    methods: list[MethodRequest],
    *,
    query_path: str,
    id_param: str,
    marker: str,
    when: dt.datetime,
    note: str | None = None,
    explicit: bool = False,
) -> QueryRequest:
    """The query request for the reading (see the module docstring for the order)."""
    wanted = "/" + query_path.split("?", 1)[0].strip("/")
    gets = [m for m in methods if m.method in ("GET", "ANY")]
    if not gets:
        why = note or "the API declares no GET method"
        return QueryRequest(query_path, {id_param: marker}, {"query_route": f"GET {wanted} ({why})"})
    chosen = next((m for m in gets if m.path == wanted), None)
    how = "the configured query_path, declared"
    if chosen is None and explicit:
        # `[flow] query_path` set by hand wins, declared or not (its own answer will say).
        return QueryRequest(
            query_path, {id_param: marker}, {"query_route": f"GET {wanted} ([flow] query_path)"}
        )
    if chosen is None:
        by_path = [
            m
            for m in gets
            if len(m.path_params) == 1
            and (m.path_params[0] == id_param or any(w in m.path.lower() for w in _READING_WORDS))
        ]
        by_query = [m for m in gets if id_param in m.required_query or id_param in m.optional_query]
        lone = [m for m in gets if len(m.path_params) == 1]
        if by_path:
            chosen, how = by_path[0], "a declared GET route with the id as path parameter"
        elif by_query:
            chosen, how = by_query[0], f"a declared GET route taking `{id_param}` as query string"
        elif len(lone) == 1:
            # `/lookup/{id}`: named neither for the id nor for readings, but the API's only GET by key.
            chosen, how = lone[0], "the API's one GET route with a path parameter"
        else:
            # An HTTP API (v2) declares no query strings: its one plain GET route (`GET /lookup`),
            # asked by `?<id>=`; the parameters it also requires, its 400 answer names (`fill_named`).
            plain = [m for m in gets if not m.path_params and not m.required_query and not m.optional_query]
            if len(plain) == 1:
                chosen, how = plain[0], "the API's one GET route without parameters, asked by the id"
    if chosen is None:
        return QueryRequest(
            query_path,
            {id_param: marker},
            {"query_route": f"GET {wanted} (no declared GET route takes the id `{id_param}`)"},
        )
    path = chosen.path
    for name in chosen.path_params:
        path = path.replace("{" + name + "+}", marker).replace("{" + name + "}", marker)
    params, unknown = _filled(chosen, id_param, marker, when)
    if not chosen.path_params:
        params.setdefault(id_param, marker)
    evidence: dict[str, Any] = {"query_route": f"GET {chosen.path} ({how})"}
    if chosen.required_query:
        evidence["required_query"] = list(chosen.required_query)
    if unknown:
        evidence["unfilled_required_query"] = unknown
    return QueryRequest(path.lstrip("/"), params, evidence)


def ingest_route(methods: list[MethodRequest], method: str, configured: str) -> tuple[str, str]:
    """The route the reading is sent to, and how it was chosen, when `[flow] ingest_path` is not set
    (`configured` is then its default, `ingest`). A stack ingests on the route its API declares, not
    always `/ingest`:

    1. the default path, when the API declares `method` there (or nothing is known of its routes);
    2. else the API's one declared `method` route without path parameters;
    3. else, of several, the first (in the API's order) whose path names readings (`INGEST_WORDS`).
    Otherwise the default stays, and the negative checks say the route is not declared."""
    wanted = "/" + configured.split("?", 1)[0].strip("/")
    verb = method.upper()
    candidates = [m for m in methods if m.method in (verb, "ANY") and not m.path_params]
    if not methods:
        return configured, "the default (the API's routes are unknown)"
    if any(m.path == wanted for m in candidates):
        return configured, "the default, declared by the API"
    if len(candidates) == 1:
        return candidates[0].path.lstrip("/"), f"the API's one declared {verb} route"
    named = [m for m in candidates if any(w in m.path.lower() for w in INGEST_WORDS)]
    if named:
        return named[0].path.lstrip("/"), f"a declared {verb} route named for readings"
    return configured, f"the default: the API declares no {verb} route it could be"


def methods_of_routes(routes: list[Route]) -> list[MethodRequest]:
    """An HTTP API's (v2) route keys as what each method asks of a request: its path parameters only
    (an HTTP API declares no required query strings or request models). `$default` takes every
    request and says nothing of any route."""
    found: list[MethodRequest] = []
    for route in routes:
        if route.path == "$default":
            continue
        params = tuple(
            s[1:-1].rstrip("+") for s in route.path.split("/") if s.startswith("{") and s.endswith("}")
        )
        found.append(MethodRequest(method=route.method, path=route.path, path_params=params))
    return found


def fill_named(
    answer: str, params: dict[str, str], id_param: str, marker: str, when: dt.datetime
) -> dict[str, str]:
    """The parameters a query's 400 answer names that the request lacks and whose value their name
    tells (a date, a table selector, a time); {} when it names none (then the 400 stands)."""
    added: dict[str, str] = {}
    for word in dict.fromkeys(_WORD.findall(answer)):
        if word in params or word == id_param:
            continue
        if "_" not in word and word == word.lower() and word not in _PLAIN_PARAMS:
            continue  # an English word ("formats", "requests"), not a parameter's name
        value = _value(word, id_param, marker, when)
        if value is not None:
            added[word] = value
    return added
