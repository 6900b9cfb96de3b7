"""SSM parameters named by the outputs are readable (a SecureString is never decrypted)."""

from __future__ import annotations

from typing import Any

import pytest

from verify import Aws, Resource, probes


@pytest.mark.check("ssm", title="SSM parameter {name} is readable")
@pytest.mark.resources("ssm_parameter")
def test_parameter_readable(resource: Resource, aws: Aws, check: Any) -> None:
    facts = probes.ssm.check_readable(aws.client("ssm"), resource.name, sensitive=resource.sensitive)
    for key, value in facts.items():
        check.record(key, value)
