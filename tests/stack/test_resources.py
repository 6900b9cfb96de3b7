"""One resource, one row: the output items that name one thing merge into one `Resource` carrying
every key, and things that differ (another table, another region, another stage) stay apart."""

from __future__ import annotations

from typing import Any

from verify.engine.plan import resource_ids
from verify.probes import apigateway
from verify.stack.inventory import Inventory, build_inventory, resolve_ambiguous
from verify.stack.outputs import parse_outputs

ACCOUNT = "123456789012"


def _inventory(**outputs: Any) -> Inventory:
    return build_inventory(parse_outputs(outputs, "test outputs"))


def _by_kind(inventory: Inventory, kind: str) -> list[Any]:
    return [r for r in inventory.resources if r.kind == kind]


def test_a_table_named_by_its_name_and_its_arn_is_one_resource_with_both_keys() -> None:
    inventory = _inventory(
        RawTableName="raw-orders",
        RawTableArn=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/raw-orders",
    )
    (table,) = _by_kind(inventory, "dynamodb_table")
    assert (table.key, table.keys, table.name) == (
        "RawTableName",
        ("RawTableName", "RawTableArn"),
        "raw-orders",
    )
    assert table.arn == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/raw-orders"  # the ARN output's fact
    assert table.role == "raw"
    # The outputs' own checks still see each output on its own.
    assert [i.key for i in inventory.output_items()] == ["RawTableName", "RawTableArn"]
    assert inventory.to_json()["resources"][0]["keys"] == ["RawTableName", "RawTableArn"]  # type: ignore[index]


def test_two_tables_are_two_resources() -> None:
    inventory = _inventory(RawTableName="raw-orders", ProcessedTableName="processed-orders")
    tables = _by_kind(inventory, "dynamodb_table")
    assert [(t.key, t.keys) for t in tables] == [
        ("RawTableName", ("RawTableName",)),
        ("ProcessedTableName", ("ProcessedTableName",)),
    ]


def test_one_name_in_two_regions_is_two_resources() -> None:
    inventory = _inventory(
        EastTableArn=f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders",
        WestTableArn=f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders",
    )
    assert [t.key for t in _by_kind(inventory, "dynamodb_table")] == ["EastTableArn", "WestTableArn"]


def test_a_stream_function_and_queue_named_twice_are_each_one_resource() -> None:
    inventory = _inventory(
        KinesisStreamName="sensor-stream",
        KinesisStreamArn=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/sensor-stream",
        IngestFunctionName="ingest",
        IngestFunctionArn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ingest",
        QueueUrl=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/work",
        QueueArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:work",
    )
    assert [(r.kind, r.keys) for r in inventory.resources] == [
        ("kinesis_stream", ("KinesisStreamName", "KinesisStreamArn")),
        ("lambda_function", ("IngestFunctionName", "IngestFunctionArn")),
        ("sqs_queue", ("QueueUrl", "QueueArn")),
    ]
    queue = inventory.resources[2]
    # SQS addresses a queue by URL: the merged queue reads as its URL output, with the ARN's facts.
    assert (queue.value, queue.url, queue.arn) == (
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/work",
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/work",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:work",
    )


def test_an_api_url_without_its_id_joins_the_id_output_under_the_first_key() -> None:
    for first, outputs in (
        ("ApiId", {"ApiId": "k2x9q8w7e6", "ApiEndpoint": "http://127.0.0.1:4010/dev/"}),
        ("ApiEndpoint", {"ApiEndpoint": "http://127.0.0.1:4010/dev/", "ApiId": "k2x9q8w7e6"}),
    ):
        inventory = _inventory(**outputs)
        (api,) = _by_kind(inventory, "api")
        assert api.key == first and set(api.keys) == {"ApiId", "ApiEndpoint"}
        # Whichever comes first, the resource is called by its id and reached at its URL.
        assert (api.name, api.value) == ("k2x9q8w7e6", "http://127.0.0.1:4010/dev/")
        assert apigateway.target(api, inventory) == apigateway.ApiTarget("k2x9q8w7e6", "dev", first)
        assert apigateway.named_api_ids(inventory) == {"k2x9q8w7e6"}


def test_two_apis_each_take_the_id_output_their_key_shares_most_with() -> None:
    inventory = _inventory(
        ApiEndpoint="http://127.0.0.1:4010/dev/",
        ApiId="k2x9q8w7e6",
        AdminApiEndpoint="http://127.0.0.1:4020/dev/",
        AdminApiId="a1b2c3d4e5",
    )
    assert [(a.keys, a.name) for a in _by_kind(inventory, "api")] == [
        (("ApiEndpoint", "ApiId"), "k2x9q8w7e6"),
        (("AdminApiEndpoint", "AdminApiId"), "a1b2c3d4e5"),
    ]


def test_two_stages_of_one_api_stay_two_resources() -> None:
    inventory = _inventory(
        ProdUrl="https://k2x9q8w7e6.execute-api.us-east-1.amazonaws.com/prod/",
        DevUrl="https://k2x9q8w7e6.execute-api.us-east-1.amazonaws.com/dev/",
        ProdIngestUrl="https://k2x9q8w7e6.execute-api.us-east-1.amazonaws.com/prod/ingest",
    )
    # Each stage is checked (deployed, throttled, traced); two URLs of one stage are one resource.
    assert [a.keys for a in _by_kind(inventory, "api")] == [("ProdUrl", "ProdIngestUrl"), ("DevUrl",)]


def test_a_database_endpoint_merges_with_its_identifier_only_on_an_aws_answer() -> None:
    endpoint = "orders-db.c9abcdefghij.us-east-1.rds.amazonaws.com:5433"
    inventory = _inventory(DatabaseInstanceIdentifier="orders-db", DatabaseEndpoint=endpoint)
    # Its host names the instance, but its port may be wrong: a broken output its own checks must see.
    assert [r.keys for r in _by_kind(inventory, "rds_instance")] == [
        ("DatabaseInstanceIdentifier",),
        ("DatabaseEndpoint",),
    ]
    answered = inventory.remerged(inventory.output_items(), (("DatabaseEndpoint", "orders-db"),))
    (database,) = _by_kind(answered, "rds_instance")
    assert (database.key, database.keys, database.value) == (
        "DatabaseInstanceIdentifier",
        ("DatabaseInstanceIdentifier", "DatabaseEndpoint"),
        "orders-db",
    )


def test_settings_and_secrets_never_merge() -> None:
    inventory = _inventory(Region="us-east-1", DeployRegion="us-east-1", DbPassword="x9!", ApiPassword="x9!")
    assert [r.keys for r in inventory.resources] == [
        ("Region",),
        ("DeployRegion",),
        ("DbPassword",),
        ("ApiPassword",),
    ]


def test_ids_are_the_first_key_and_the_same_every_time() -> None:
    outputs = {
        "PrivateSubnetIds": "subnet-0a1,subnet-0b2",
        "AllSubnetIds": "subnet-0a1,subnet-0b2,subnet-0c3",
    }
    first, again = _inventory(**outputs), _inventory(**outputs)
    ids = resource_ids(_by_kind(first, "subnet"))
    assert ids == ["PrivateSubnetIds-0", "PrivateSubnetIds-1", "AllSubnetIds"]
    assert resource_ids(_by_kind(again, "subnet")) == ids
    assert _by_kind(first, "subnet")[0].keys == ("PrivateSubnetIds", "AllSubnetIds")


class _Sqs:
    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{QueueName}"}


def _only_sqs(service: str) -> Any:
    if service != "sqs":
        raise RuntimeError("no such service here")
    return _Sqs()


def test_a_bare_name_resolved_to_a_kind_merges_with_the_output_naming_it() -> None:
    inventory = _inventory(
        work_queue_url=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/work-queue",
        pipeline_buffer="work-queue",
    )
    assert [r.kind for r in inventory.resources] == ["sqs_queue", "unknown"]
    resolved = resolve_ambiguous(inventory, _only_sqs)
    assert [(r.kind, r.keys) for r in resolved.resources] == [
        ("sqs_queue", ("work_queue_url", "pipeline_buffer"))
    ]
