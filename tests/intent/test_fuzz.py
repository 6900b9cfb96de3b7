"""Whatever shape a template has, reading it ends in an `Intent` or one `TemplateError`: never a
traceback. Hypothesis builds templates of every form from the keys the readers look at, with values
of every JSON type where an object or an intrinsic is expected."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.intent.documents import parse_document
from verify.intent.links import LINKERS
from verify.intent.load import load_intent
from verify.intent.model import TemplateError
from verify.intent.rules import CFN_TYPES, TF_TYPES
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

KEYS = [
    "Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select", "Fn::If", "RedrivePolicy", "MethodSettings",
    "HttpMethod", "ResourcePath", "ResourceId", "ParentId", "PathPart", "RestApiId", "ApiId", "SecretId",
    "RotationRules", "ScheduleExpression", "LogGroupName", "FunctionName", "LoggingConfig", "StreamSpecification",
    "TableName", "name", "rest_api_id", "stage_name", "redrive_policy", "queue_url", "secret_id", "rotation_rules",
    "resource_id", "parent_id", "path_part", "function_name", "settings", "method_path", "values", "address",
    "references", "Value", "value", "arn",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 10_000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "x", "${a.b.c}", "${var.x}", "${", "}", "rate(3 days)", '{"a": 1}', "${Token[T.1]}", "a.b"]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=12,
)
PROPERTIES = st.one_of(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4), VALUES)


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    form = draw(st.sampled_from(["cloudformation", "cdktf", "plan", "state"]))
    if form == "cloudformation":
        types = st.sampled_from([*CFN_TYPES, *LINKERS, "AWS::ApiGateway::Resource", "AWS::IAM::Policy"])
        resources = draw(
            st.dictionaries(
                st.sampled_from(["A1B2", "C3D4", "E5F6", "G7H8"]),
                st.fixed_dictionaries({"Type": types, "Properties": PROPERTIES}),
                max_size=4,
            )
        )
        return {
            "Resources": resources,
            "Outputs": draw(
                st.one_of(
                    st.dictionaries(st.sampled_from(["O", "P"]), st.fixed_dictionaries({"Value": VALUES})),
                    VALUES,
                )
            ),
        }
    types = st.sampled_from([*TF_TYPES, *LINKERS, "aws_api_gateway_resource"])
    if form == "cdktf":
        resource = draw(
            st.dictionaries(
                types, st.dictionaries(st.sampled_from(["a", "b"]), PROPERTIES, max_size=2), max_size=4
            )
        )
        return {
            "resource": resource,
            "output": draw(st.dictionaries(st.sampled_from(["o"]), st.fixed_dictionaries({"value": VALUES}))),
        }
    entries = draw(
        st.lists(
            st.builds(
                lambda t, n, v: {"address": f"{t}.{n}", "type": t, "name": n, "values": v},
                types,
                st.sampled_from(["a", "b"]),
                PROPERTIES,
            ),
            max_size=4,
        )
    )
    module = {
        "resources": entries,
        "child_modules": draw(st.one_of(VALUES, st.just([{"resources": entries[:1]}]))),
    }
    if form == "state":
        return {"format_version": "1.0", "values": {"root_module": module}}
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": module},
        "resource_changes": draw(VALUES),
        "configuration": draw(VALUES),
    }


OUTPUTS = parse_outputs(
    {"O": "arn:aws:sqs:eu-west-1:123456789012:q", "o": "x", "P": "raw-table"}, "outputs.json"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates())
def test_any_template_shape_reads_or_is_one_sentence(template: dict[str, Any]) -> None:
    try:
        document = parse_document(json.dumps(template), "t.json")
        intent = load_intent(document, outputs=OUTPUTS, inventory=build_inventory(OUTPUTS))
    except TemplateError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("Template t.json")
        return
    json.dumps(intent.to_json())  # and what was read serialises
