"""One module per AWS service: ask AWS, return facts, or raise CheckFailed. Never import pytest.

Submodules load on first use (`verify.probes.dynamodb`), so importing the package costs nothing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # so suites' `probes.sqs.queue_facts(...)` calls are type-checked
    from verify.probes import (
        apigateway,
        batching,
        declared,
        dynamodb,
        ec2,
        ecs,
        efs,
        elasticache,
        kinesis,
        lambda_,
        logs,
        outputs,
        preflight,
        rds,
        secretsmanager,
        smoke,
        sns,
        sqs,
        ssm,
        standin,
    )

__all__ = [
    "apigateway",
    "batching",
    "declared",
    "dynamodb",
    "ec2",
    "ecs",
    "efs",
    "elasticache",
    "kinesis",
    "lambda_",
    "logs",
    "outputs",
    "preflight",
    "rds",
    "secretsmanager",
    "smoke",
    "sns",
    "sqs",
    "ssm",
    "standin",
]


def __getattr__(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"verify.probes.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"verify.probes.{name}":
            raise AttributeError(f"verify.probes has no module {name!r}") from None
        raise
