"""docs/intent.md shows what verify does: its examples of each form read as that form, and the
`discover --intent` lines it shows are the lines verify prints for the CDK fixture."""

from __future__ import annotations

import re

from tests.intent.helpers import ROOT, cdk_intent
from verify.intent.documents import parse_document
from verify.intent.read import read_intent
from verify.intent.show import intent_lines

DOC = (ROOT / "docs" / "intent.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", DOC, re.M | re.S)


def test_one_example_of_each_form_reads_as_that_form() -> None:
    section = DOC.split("### One short example of each", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"^```(json|yaml)\n(.*?)^```", section, re.M | re.S)
    forms = [parse_document(text, f"example.{kind}").form for kind, text in examples]
    assert forms == ["cdk", "cloudformation", "cdktf", "terraform-plan"]
    said = [
        ("RawTable1A2B3C4D", "pitr", True),
        ("DatabaseSecret", "rotation_days", 30),
        ("aws_sqs_queue.IngestQueue_1A2B3C4D", "max_receive_count", 5),
        ("module.data.aws_db_instance.main", "engine_version", "15.3"),
    ]
    for (kind, text), (logical_id, name, value) in zip(examples, said, strict=True):
        declared = read_intent(parse_document(text, f"example.{kind}")).resource(logical_id)
        assert declared is not None and declared.value(name) == value


def test_the_discover_intent_lines_shown_are_the_lines_printed() -> None:
    shown = next(text for kind, text in BLOCKS if text.startswith("intent: cdk.out/TapStack.template.json"))
    printed = intent_lines(cdk_intent())
    for line in shown.splitlines():
        line = line.replace(
            "cdk.out/TapStack.template.json", "fixtures/intent/cdk-pipeline/cdk.out/TapStack.template.json"
        )
        assert line in printed, f"docs/intent.md shows a line verify does not print: {line}"


def test_the_docs_do_not_link_outside_the_project() -> None:
    assert "../shared" not in DOC
