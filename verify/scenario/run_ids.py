"""Run ids: the tag on every piece of test data the flow writes, and so what clean-up may delete.

They live with the scenario, which writes and deletes by them; the engine only hands one to a run.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from verify.errors import UsageError
from verify.model import RUN_ID_PREFIX

_RUN_ID_FORM = re.compile(r"vfy-[A-Za-z0-9._-]*-[0-9a-f]{8}")
_RUN_ID_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_run_id() -> str:
    # Short, sortable by time, unique across concurrent runs: it becomes the marker on test data.
    return f"{RUN_ID_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{_random_part()}"


def _random_part() -> str:
    return uuid.uuid4().hex[:8]


def run_id_for(given: str | None) -> str:
    """The run id for `--run-id GIVEN`: never the bare label, so it cannot name a real item.

    The id is the partition key of the flow's readings, and clean-up deletes by it: `--run-id
    device-0001` once deleted a team's own `device-0001` readings. A label becomes
    `vfy-LABEL-<8 random hex>`; an id already of verify's own form (`vfy-...-<8 hex>`, e.g. one
    generated id shared by the shards of one CI run) is kept as it is.
    """
    if not given:
        return new_run_id()
    if _RUN_ID_FORM.fullmatch(given):
        return given
    if not _RUN_ID_LABEL.fullmatch(given):
        raise UsageError(
            f"--run-id {given!r}: use 1 to 64 letters, digits, '.', '_' or '-' (verify adds its prefix "
            "and a random part)"
        )
    return f"{RUN_ID_PREFIX}{given.removeprefix(RUN_ID_PREFIX)}-{_random_part()}"


def is_ours(run_id: str) -> bool:
    """A run id verify may tag (and so delete) data with: its prefix and something after it."""
    return run_id.startswith(RUN_ID_PREFIX) and len(run_id) > len(RUN_ID_PREFIX)
