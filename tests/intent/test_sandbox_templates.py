"""The sandbox's templates (verify/sandbox/templates.py): written beside the outputs as CDK and CDKTF
write them, read by verify's own reader, mirroring the faults the stack is built with and not the
drift faults, and removed with the sandbox. No sandbox starts here: the stacks' outputs are given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from verify.intent.locate import templates_beside
from verify.intent.model import Unknown
from verify.intent.run import load_run_intent
from verify.sandbox.emulator.context import StackParts
from verify.sandbox.outputs import render_outputs
from verify.sandbox.state import cleanup_files
from verify.sandbox.templates import write_templates
from verify.stack.inventory import build_inventory
from verify.stack.outputs import load_outputs

PIPELINE = {
    "ApiEndpoint": "http://127.0.0.1:4566/dev",
    "ApiId": "a1b2c3d4e5",
    "ApiStageName": "dev",
    "RawSensorTableName": "raw-sensor-data-dev",
    "ProcessedDataTableName": "processed-data-dev",
    "IngestionQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-dev",
    "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-dlq-dev",
    "IngestFunctionName": "sensor-ingest-dev",
    "ProcessorFunctionName": "sensor-processor-dev",
    "QueryFunctionName": "sensor-query-dev",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "Region": "us-east-1",
    "Environment": "dev",
}
PLATFORM = {
    "KinesisStreamName": "iot-sensor-stream-dev",
    "EcsClusterName": "iot-platform-dev",
    "EcsServiceName": "iot-platform-service-dev",
    "DatabaseInstanceIdentifier": "iot-platform-db-dev",
    "DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:iot-platform/dev/db-credentials-AbCdEf",
    "RedisReplicationGroupId": "iot-platform-cache-dev",
    "EfsFileSystemId": "fs-0123456789abcdef0",
    "PlatformApiEndpoint": "http://127.0.0.1:4567/dev",
    "PlatformApiId": "f6g7h8i9j0",
}


def _deploy(tmp_path: Path, faults: frozenset[str] = frozenset()) -> tuple[list[str], Path]:
    parts = [StackParts("pipeline", dict(PIPELINE)), StackParts("platform", dict(PLATFORM))]
    outputs = tmp_path / "flat-outputs.json"
    outputs.write_text(json.dumps(render_outputs(parts, "flat", "dev")))
    return write_templates(tmp_path, parts, faults, "dev"), outputs


def _intent(outputs: Path) -> tuple[dict[str, dict[str, object]], list[str]]:
    loaded = load_outputs(str(outputs))
    inventory = build_inventory(loaded, region="us-east-1")
    intent = load_run_intent(
        template=None,
        outputs=loaded,
        inventory=inventory,
        outputs_paths=[str(outputs)],
        stack=None,
        cloudformation=lambda: None,
    )
    by_key: dict[str, dict[str, object]] = {}
    for read in intent.intents:
        for resource in read.resources:
            if resource.mapped_to and resource.part is None:
                by_key[resource.mapped_to] = {p.name: p.value for p in resource.properties}
    return by_key, [i.form for i in intent.intents]


def test_both_forms_are_written_where_verify_looks_and_read(tmp_path: Path) -> None:
    created, outputs = _deploy(tmp_path)
    assert sorted(Path(c).name for c in created) == ["cdk.out", "cdktf.out"]
    assert (tmp_path / "cdktf.out" / "stacks" / "pipeline" / "cdk.tf.json").is_file()
    cdk = tmp_path / "cdk.out" / "IotPlatformStack-dev.template.json"
    assert sorted(str(p.path) for p in templates_beside(str(outputs))) == sorted(
        [str(cdk), str(tmp_path / "cdktf.out" / "stacks" / "pipeline" / "cdk.tf.json")]
    )
    # Written as the tools write them: construct hashes, tokens, CDK's marks.
    document = json.loads(cdk.read_text())
    assert "BootstrapVersion" in document["Parameters"]
    assert all(
        re.fullmatch(r"[A-Za-z.]+[0-9A-F]{8}", logical)
        for logical in document["Resources"]
        if logical != "CDKMetadata"
    )
    assert '"Ref": ' in cdk.read_text() and '"Fn::GetAtt"' in cdk.read_text()
    assert (
        "${aws_sqs_queue.IngestDlq_"
        in (tmp_path / "cdktf.out" / "stacks" / "pipeline" / "cdk.tf.json").read_text()
    )

    declared, forms = _intent(outputs)
    assert sorted(forms) == ["cdk", "cdktf"]
    assert declared["RawSensorTableName"]["pitr"] is True
    assert declared["RawSensorTableName"]["sse_kms_key"] == PIPELINE["KmsKeyArn"]  # settled by an output
    assert declared["ProcessorFunctionName"]["log_retention_days"] == 30
    assert declared["IngestionQueueUrl"]["max_receive_count"] == 3
    assert isinstance(
        declared["IngestionQueueUrl"]["redrive_target"], Unknown
    )  # no output says the DLQ's ARN
    assert declared["DatabaseSecretArn"]["rotation_days"] == 30  # written as rate(30 days)
    assert declared["DatabaseInstanceIdentifier"]["multi_az"] is True
    assert declared["EcsServiceName"]["desired_count"] == 2
    assert declared["EfsFileSystemId"]["encrypted"] is True


@pytest.mark.parametrize(
    ("fault", "key", "prop", "value"),
    [
        ("pitr_disabled", "RawSensorTableName", "pitr", None),  # built without: declared without
        ("drift_pitr", "RawSensorTableName", "pitr", True),  # changed after the deploy: still declared
        ("rds_single_az", "DatabaseInstanceIdentifier", "multi_az", False),
        ("drift_multi_az", "DatabaseInstanceIdentifier", "multi_az", True),
        ("rotation_disabled", "DatabaseSecretArn", "rotation_days", None),
        ("drift_rotation", "DatabaseSecretArn", "rotation_days", 30),
    ],
)
def test_build_faults_are_declared_and_drift_faults_are_not(
    tmp_path: Path, fault: str, key: str, prop: str, value: object
) -> None:
    _, outputs = _deploy(tmp_path, frozenset({fault}))
    declared, _ = _intent(outputs)
    assert declared[key].get(prop) == value


def test_a_folder_that_was_there_is_left_alone_and_the_rest_is_removed(tmp_path: Path) -> None:
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "Mine.template.json").write_text("{}")
    created, _ = _deploy(tmp_path)
    assert [Path(c).name for c in created] == ["cdktf.out"]
    assert sorted(p.name for p in (tmp_path / "cdk.out").iterdir()) == ["Mine.template.json"]
    cleanup_files({"templates": created}, tmp_path / "state")
    assert not (tmp_path / "cdktf.out").exists()
    assert (tmp_path / "cdk.out" / "Mine.template.json").is_file()


def test_a_folder_already_there_is_kept_and_named(tmp_path: Path) -> None:
    """Another sandbox's (or the user's) cdk.out beside the outputs is not written over; the start
    names it, since the intent checks will read it instead of this stack's own template."""
    mine = tmp_path / "cdk.out"
    mine.mkdir()
    (mine / "Other.template.json").write_text("{}")
    parts = [StackParts("pipeline", dict(PIPELINE)), StackParts("platform", dict(PLATFORM))]
    kept: list[str] = []
    created = write_templates(tmp_path, parts, frozenset(), "dev", kept)
    assert [Path(c).name for c in created] == ["cdktf.out"]
    assert kept == [str(mine)]
    assert [p.name for p in mine.iterdir()] == ["Other.template.json"]
