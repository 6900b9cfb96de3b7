"""The region every in-process moto test uses (the aws_mock fixture sets it as the default)."""

MOTO_REGION = "us-east-1"
