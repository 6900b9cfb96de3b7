"""The garbage collector's pace in verify's own processes: the `verify` command, the sandbox child,
the test session. A run allocates heavily (botocore parses hundreds of responses, moto keeps its
backends) and frees little until the end: at Python's default pace (every 700 allocations) the
collector re-scanned the same live objects over and over. Collecting less often still collects."""

from __future__ import annotations

import gc

THRESHOLD = (100_000, 50, 100)


def pace(*, freeze: bool = False) -> None:
    """Collect at verify's pace; with `freeze`, never scan again what exists now (modules and their
    objects, which live as long as the process)."""
    if freeze:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*THRESHOLD)
