"""The outputs themselves: every output present and not a placeholder, each well-formed for its kind."""

from __future__ import annotations

from verify import Output, Resource, mark, probes


@mark.check("outputs", title="output {key} has a value")
def test_output_present(output: Output) -> None:
    probes.outputs.check_present(output)


@mark.check("outputs", title="output {key} is a well-formed {resource.kind}")
@mark.resources()
def test_output_well_formed(resource: Resource) -> None:
    probes.outputs.check_well_formed(resource)
