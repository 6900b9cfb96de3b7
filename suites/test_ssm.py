"""SSM parameters named by the outputs are readable (a SecureString is never decrypted)."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Inventory, Resource, mark, probes


@mark.check("ssm", title="SSM parameter {name} is readable")
@mark.resources("ssm_parameter")
def test_parameter_readable(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    # In a read-only run the parameters are read 10 at a time, and its snapshot answers the others.
    batch = [r.name for r in inventory.of_kind("ssm_parameter")] if aws.snapshot is not None else []
    facts = probes.ssm.check_readable(
        aws.client("ssm"), resource.name, sensitive=resource.sensitive, batch=batch
    )
    check.record_all(facts)
