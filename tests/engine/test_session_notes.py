"""The run's notes say what discovery could not follow: a resource it missed has no row to say so."""

from __future__ import annotations

from pathlib import Path

from verify.config.settings import Config
from verify.engine.session import VerifySession, build_summary, start_session
from verify.stack.inventory import DiscoveryReport, Inventory


def _session(tmp_path: Path, discovery: DiscoveryReport | None) -> VerifySession:
    session = start_session(
        config=Config(),
        profile="full",
        region="eu-west-1",
        outputs_paths=[],
        stack=None,
        policy=None,
        report_dir=tmp_path,
        timeout=10,
    )
    session._inventory = Inventory(
        region="eu-west-1", resources=(), missing=(), source="test", discovery=discovery
    )
    return session


def test_discovery_notes_reach_the_run_notes(tmp_path: Path) -> None:
    report = DiscoveryReport(
        calls=60,
        max_calls=60,
        found=3,
        notes=("the bound of 60 AWS calls was reached; not followed: queue jobs' event-source mappings",),
        bound_reached=True,
    )
    summary = build_summary(_session(tmp_path, report))
    assert (
        "discovery: the bound of 60 AWS calls was reached; not followed: queue jobs' event-source mappings"
        in (summary.notes)
    )
    assert summary.discovery_calls == 60


def test_a_discovery_with_nothing_to_say_adds_no_note(tmp_path: Path) -> None:
    report = DiscoveryReport(calls=4, max_calls=60, found=2)
    summary = build_summary(_session(tmp_path, report))
    assert not [n for n in summary.notes if n.startswith("discovery:")]
