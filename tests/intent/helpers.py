"""Shared by the intent tests: the fixtures' paths and one way to read a fixture with its outputs."""

from __future__ import annotations

from pathlib import Path

from verify.intent.documents import read_document
from verify.intent.load import intent_for, load_intent
from verify.intent.model import DeclaredResource, Intent
from verify.stack.inventory import build_inventory
from verify.stack.outputs import load_outputs, parse_outputs

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "intent"
CDK_DIR = FIXTURES / "cdk-pipeline"
CDK_OUTPUTS = CDK_DIR / "cfn-outputs" / "flat-outputs.json"
CDK_TEMPLATE = CDK_DIR / "cdk.out" / "TapStack.template.json"
YAML_DIR = FIXTURES / "cloudformation-platform"
YAML_TEMPLATE = YAML_DIR / "platform.yaml"
YAML_OUTPUTS = YAML_DIR / "outputs.json"
CDKTF_DIR = FIXTURES / "cdktf-pipeline"
CDKTF_OUTPUTS = CDKTF_DIR / "outputs.json"
CDKTF_TEMPLATE = CDKTF_DIR / "cdktf.out" / "stacks" / "pipeline" / "cdk.tf.json"
PLAN = FIXTURES / "terraform" / "plan.json"
STATE = FIXTURES / "terraform" / "state.json"

# `terraform output -json` beside the plan and the state (the outputs a Terraform user commits).
PLAN_OUTPUTS = {
    "queue_url": {
        "value": "https://sqs.us-east-2.amazonaws.com/456789012345/iot-ingest-prod",
        "type": "string",
        "sensitive": False,
    },
    "db_instance_id": {"value": "platform-db", "type": "string", "sensitive": False},
}
STATE_OUTPUTS = {
    "db_arn": {
        "value": "arn:aws:rds:us-east-2:456789012345:db:platform-db",
        "type": "string",
        "sensitive": False,
    },
    "secret_arn": {
        "value": "arn:aws:secretsmanager:us-east-2:456789012345:secret:platform-db-credentials-AbC123",
        "type": "string",
        "sensitive": False,
    },
}


def cdk_intent() -> Intent:
    outputs = load_outputs(CDK_OUTPUTS)
    return intent_for(outputs=outputs, inventory=build_inventory(outputs))


def yaml_intent() -> Intent:
    outputs = load_outputs(YAML_OUTPUTS)
    return intent_for(template=YAML_TEMPLATE, outputs=outputs, inventory=build_inventory(outputs))


def cdktf_intent() -> Intent:
    outputs = load_outputs(CDKTF_OUTPUTS)
    return intent_for(outputs=outputs, inventory=build_inventory(outputs))


def plan_intent() -> Intent:
    outputs = parse_outputs(PLAN_OUTPUTS, "outputs.json")
    return load_intent(read_document(PLAN), outputs=outputs, inventory=build_inventory(outputs))


def state_intent() -> Intent:
    outputs = parse_outputs(STATE_OUTPUTS, "outputs.json")
    return load_intent(read_document(STATE), outputs=outputs, inventory=build_inventory(outputs))


def resource(intent: Intent, logical_id: str) -> DeclaredResource:
    found = intent.resource(logical_id)
    assert found is not None, f"{logical_id} not read; read: {[r.logical_id for r in intent.resources]}"
    return found
