"""The conventions' pure rules (verify.scenario.conventions, verify.scenario.query_route): what a key
schema, a request model and a refusal teach, and the bounded order of candidates."""

from __future__ import annotations

import datetime as dt

import pytest

from verify.probes.apigateway import MethodRequest, Route
from verify.scenario.conventions import (
    MAX_TRIES,
    Convention,
    from_key_schema,
    from_model,
    named_in_answer,
    next_candidate,
    style_in_answer,
    time_field_in_answer,
)
from verify.scenario.payload import KeyAttribute, KeySchema
from verify.scenario.query_route import fill_named, ingest_route, methods_of_routes, plan_query

NOW = dt.datetime(2026, 12, 2, 10, 0, 0, tzinfo=dt.UTC)


def test_the_sandbox_keys_give_the_reading_verify_always_sent() -> None:
    schema = KeySchema(KeyAttribute("sensorId", "S"), KeyAttribute("timestamp", "S"))
    payload = from_key_schema(schema).payload("vfy-x", NOW, "temperature")
    assert payload == {"sensorId": "vfy-x", "timestamp": "2026-12-02T10:00:00.000Z", "temperature": 21.5}


@pytest.mark.parametrize(
    ("sort", "sample", "style"),
    [
        ("timestamp", None, "epoch_ms"),  # no word on the unit: milliseconds, as before
        ("timestamp", {"timestamp": {"N": "1764669600"}}, "epoch_s"),  # a sampled item in seconds
        ("timestamp", {"timestamp": {"N": "1764669600000"}}, "epoch_ms"),
        ("ts_seconds", None, "epoch_s"),
        ("timestamp_ms", {"timestamp_ms": {"N": "1764669600"}}, "epoch_ms"),  # the name says ms
    ],
)
def test_a_numeric_time_sort_key_is_epoch_seconds_or_milliseconds(
    sort: str, sample: dict[str, dict[str, str]] | None, style: str
) -> None:
    schema = KeySchema(KeyAttribute("device_id", "S"), KeyAttribute(sort, "N"))
    convention = from_key_schema(schema, sample)
    assert (convention.id_field, convention.time_field, convention.time_style) == ("device_id", sort, style)


def test_a_request_model_names_the_envelope_and_the_timestamp_type() -> None:
    base = from_key_schema(KeySchema(KeyAttribute("device_id", "S"), KeyAttribute("ts", "S")))
    schema = {
        "required": ["device_id", "readings"],
        "properties": {"ts": {"type": "integer"}, "readings": {"type": "object"}},
    }
    learned = from_model(base, schema, "request model `M`")
    assert (learned.nest, learned.time_style) == ("readings", "epoch_ms")
    assert learned.learned_from[-1] == "request model `M`"


def test_a_refusal_names_the_fields_it_wants() -> None:
    assert named_in_answer('{"error": "device_id and sensor_data are required"}') == {
        "device_id",
        "sensor_data",
    }


def test_the_next_candidate_follows_the_refusal() -> None:
    first = Convention(id_field="device_id", time_field="timestamp", time_style="epoch_ms")
    nxt = next_candidate([first], {"device_id", "sensor_data"}, "device_id")
    assert nxt is not None and (nxt.id_field, nxt.nest, nxt.time_style) == (
        "device_id",
        "sensor_data",
        "epoch_ms",
    )


def test_without_a_hint_the_order_is_bounded_and_documented() -> None:
    tried = [Convention(id_field="sensorId")]
    while len(tried) < MAX_TRIES:
        nxt = next_candidate(tried, set(), "sensorId")
        assert nxt is not None
        tried.append(nxt)
    # Every envelope in the learned time format before another format.
    assert [(c.nest, c.time_style) for c in tried] == [
        (None, "iso"),
        ("sensor_data", "iso"),
        ("readings", "iso"),
        ("data", "iso"),
        ("payload", "iso"),
        ("metrics", "iso"),
    ]
    assert next_candidate(tried, set(), "sensorId") == Convention(
        id_field="sensorId", time_style="epoch_s", learned_from=("the API's 4xx answers",)
    )
    assert {c.id_field for c in tried} == {"sensorId"}  # only the partition key finds the item


def test_a_nested_shape_is_malformed_without_its_envelope() -> None:
    body = Convention(id_field="device_id", nest="sensor_data", time_style="epoch_ms").malformed(
        "m", "temperature"
    )
    assert body["device_id"] == "m" and "sensor_data" not in body and isinstance(body["timestamp"], int)


def test_required_query_strings_are_filled_from_their_names() -> None:
    methods = [
        MethodRequest("POST", "/ingest"),
        MethodRequest("GET", "/query", required_query=("device_id", "event_date", "table")),
    ]
    planned = plan_query(methods, query_path="query", id_param="device_id", marker="vfy-m", when=NOW)
    assert planned.path == "query"
    assert planned.params == {"device_id": "vfy-m", "event_date": "2026-12-02", "table": "processed"}


def test_a_path_parameter_route_is_used_when_the_query_path_is_not_declared() -> None:
    methods = [MethodRequest("GET", "/readings/{device_id}", path_params=("device_id",))]
    planned = plan_query(methods, query_path="query", id_param="device_id", marker="vfy-m", when=NOW)
    assert (planned.path, planned.params) == ("readings/vfy-m", {})


def test_an_explicit_query_path_wins_over_the_declared_routes() -> None:
    methods = [MethodRequest("GET", "/readings/{device_id}", path_params=("device_id",))]
    planned = plan_query(
        methods, query_path="lookup", id_param="device_id", marker="vfy-m", when=NOW, explicit=True
    )
    assert (planned.path, planned.params) == ("lookup", {"device_id": "vfy-m"})


def test_unknown_routes_keep_todays_query() -> None:
    planned = plan_query([], query_path="query", id_param="sensorId", marker="vfy-m", when=NOW)
    assert (planned.path, planned.params) == ("query", {"sensorId": "vfy-m"})


def test_a_refusal_about_the_timestamp_changes_its_format_first() -> None:
    # Raw table keyed by `ts` (N): epoch milliseconds guessed; the stack wants seconds and says so,
    # naming its own field. The next try keeps the (right) flat shape and sends seconds.
    first = from_key_schema(KeySchema(KeyAttribute("sensorId", "S"), KeyAttribute("ts", "N")))
    answer = "ts must be epoch seconds"
    assert named_in_answer(answer, "ts") == {"ts"}
    assert style_in_answer(answer) == "epoch_s"
    following = next_candidate([first], {"ts"}, "sensorId", (True, "epoch_s"))
    assert following is not None
    assert (following.id_field, following.nest, following.time_style) == ("sensorId", None, "epoch_s")
    # Without the format in the answer, the other formats in order, the envelope still kept.
    guessed = next_candidate([first], {"ts"}, "sensorId", (True, None))
    assert guessed is not None and (guessed.nest, guessed.time_style) == (None, "iso")


@pytest.mark.parametrize(
    ("answer", "style"),
    [
        ("timestamp must be epoch milliseconds", "epoch_ms"),
        ("recorded_at: expected a unix time in seconds", "epoch_s"),
        ("ts must be an ISO-8601 string", "iso"),
        ("sensorId is required", None),
    ],
)
def test_the_format_a_refusal_asks_for(answer: str, style: str | None) -> None:
    assert style_in_answer(answer) == style


def test_the_ingest_route_is_the_one_the_api_declares_for_posts() -> None:
    health = MethodRequest("GET", "/health")
    one = [
        health,
        MethodRequest("POST", "/v1/events"),
        MethodRequest("GET", "/v1/events/{id}", path_params=("id",)),
    ]
    assert ingest_route(one, "POST", "ingest") == ("v1/events", "the API's one declared POST route")
    several = [MethodRequest("POST", "/admin/reset"), MethodRequest("POST", "/telemetry")]
    assert ingest_route(several, "POST", "ingest") == (
        "telemetry",
        "a declared POST route named for readings",
    )
    declared = [MethodRequest("POST", "/ingest"), MethodRequest("POST", "/telemetry")]
    assert ingest_route(declared, "POST", "ingest") == ("ingest", "the default, declared by the API")
    assert ingest_route([], "POST", "ingest")[0] == "ingest"  # routes unknown: as before
    unnamed = [MethodRequest("POST", "/admin/reset"), MethodRequest("POST", "/login")]
    assert ingest_route(unnamed, "POST", "ingest")[0] == "ingest"  # no guess among routes not for readings


def test_the_one_get_route_with_a_path_parameter_is_the_query() -> None:
    methods = [
        MethodRequest("POST", "/v1/events"),
        MethodRequest("GET", "/lookup/{id}", path_params=("id",)),
        MethodRequest("GET", "/health"),
    ]
    planned = plan_query(methods, query_path="query", id_param="device_id", marker="vfy-x", when=NOW)
    assert planned.path == "lookup/vfy-x" and planned.params == {}
    assert (
        planned.evidence["query_route"] == "GET /lookup/{id} (the API's one GET route with a path parameter)"
    )


def test_an_http_api_s_route_keys_teach_the_routes() -> None:
    # An HTTP API (v2) declares route keys only: the ingest route and a query by path or by `?<id>=`.
    routes = [Route("POST", "/telemetry"), Route("GET", "/lookup"), Route("ANY", "$default")]
    methods = methods_of_routes(routes)
    assert methods == [MethodRequest("POST", "/telemetry"), MethodRequest("GET", "/lookup")]
    assert ingest_route(methods, "POST", "ingest")[0] == "telemetry"
    planned = plan_query(methods, query_path="query", id_param="deviceId", marker="vfy-x", when=NOW)
    assert (planned.path, planned.params) == ("lookup", {"deviceId": "vfy-x"})
    by_path = methods_of_routes([Route("GET", "/v1/devices/{deviceId}")])
    assert by_path[0].path_params == ("deviceId",)


def test_a_query_s_400_names_the_parameters_it_lacks() -> None:
    answer = '{"error": "deviceId, event_date and source are required"}'
    added = fill_named(answer, {"deviceId": "vfy-x"}, "deviceId", "vfy-x", NOW)
    assert added == {"event_date": "2026-12-02", "source": "processed"}
    # Nothing it can fill (an opaque refusal): the 400 stands.
    assert fill_named('{"message": "Bad Request"}', {"deviceId": "vfy-x"}, "deviceId", "vfy-x", NOW) == {}
    # English words that merely end like a time ("formats", "requests") are no parameters.
    assert fill_named("see the accepted formats for requests", {}, "deviceId", "vfy-x", NOW) == {}


def test_a_refusal_or_a_model_names_the_timestamp_field_the_keys_do_not() -> None:
    # Raw table keyed by the id alone: the time's field is unknown until the stack names it.
    keyed = from_key_schema(KeySchema(KeyAttribute("device_id", "S")))
    assert keyed.time_field == "timestamp"
    assert time_field_in_answer('{"error": "recorded_at is required"}', keyed) == "recorded_at"
    assert time_field_in_answer("eventTime must be epoch milliseconds", keyed) == "eventTime"
    # English words are no field names; the field already used is no news.
    assert time_field_in_answer("timestamp must be epoch seconds (unix time)", keyed) is None
    assert time_field_in_answer("device_id and sensor_data are required", keyed) is None
    schema = {"required": ["device_id", "ts"], "properties": {"device_id": {}, "ts": {"type": "integer"}}}
    learned = from_model(keyed, schema, "request model `M`")
    assert (learned.time_field, learned.time_style) == ("ts", "epoch_ms")
