"""Lambda's managed runtimes and the day each one is (or was) deprecated, for `verify preflight`.

No AWS API lists runtime deprecations (GetFunction says nothing about them, and there is no
ListRuntimes), so this table is kept by hand, dated, and every verdict it gives says its date.
Source: AWS Lambda Developer Guide, "Lambda runtimes" (the "Supported runtimes" and "Deprecated
runtimes" tables, column "Deprecation date"):
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
The dates below are those the guide listed as of `TABLE_AS_OF` (cross-read with two projects that
track it: tflint-ruleset-aws's `aws_lambda_function_deprecated_runtime` and endoflife.date's
aws-lambda page). When AWS moves a date, update the row and `TABLE_AS_OF` together.
"""

from __future__ import annotations

import re
from datetime import date

TABLE_AS_OF = date(2026, 2, 11)
SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"

# runtime identifier -> deprecation date (Lambda's "phase 1": no more security patches; creating and
# then updating functions with it is blocked some months later).
DEPRECATION: dict[str, date] = {
    # supported on TABLE_AS_OF, with their planned dates
    "nodejs24.x": date(2028, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs20.x": date(2026, 4, 30),
    "python3.14": date(2029, 6, 30),
    "python3.13": date(2029, 6, 30),
    "python3.12": date(2028, 10, 31),
    "java25": date(2029, 6, 30),
    "java21": date(2029, 6, 30),
    "dotnet10": date(2028, 11, 14),
    "dotnet8": date(2026, 11, 10),
    "ruby3.4": date(2028, 3, 31),
    "ruby3.3": date(2027, 3, 31),
    "ruby3.2": date(2026, 3, 31),
    "provided.al2023": date(2029, 6, 30),
    # deprecated before TABLE_AS_OF
    "python3.9": date(2025, 12, 15),
    "nodejs18.x": date(2025, 9, 1),
    "dotnet6": date(2024, 11, 12),
    "python3.8": date(2024, 10, 14),
    "nodejs16.x": date(2024, 6, 12),
    "dotnet7": date(2024, 5, 14),
    "java8": date(2024, 1, 8),
    "go1.x": date(2024, 1, 8),
    "provided": date(2024, 1, 8),
    "nodejs14.x": date(2023, 12, 4),
    "python3.7": date(2023, 12, 4),
    "ruby2.7": date(2023, 11, 27),
    "dotnetcore3.1": date(2023, 4, 3),
    "nodejs12.x": date(2023, 3, 31),
    "python3.6": date(2022, 7, 18),
    "dotnet5.0": date(2022, 5, 10),
    "dotnetcore2.1": date(2022, 1, 5),
    "nodejs10.x": date(2021, 7, 30),
    "ruby2.5": date(2021, 7, 30),
    "python2.7": date(2021, 7, 15),
    "nodejs8.10": date(2020, 3, 6),
    "nodejs4.3": date(2020, 3, 5),
    "nodejs4.3-edge": date(2020, 3, 5),
    "nodejs6.10": date(2019, 8, 12),
    "dotnetcore1.0": date(2019, 7, 27),
    "dotnetcore2.0": date(2019, 5, 30),
    "nodejs": date(2016, 10, 31),
}


# The Amazon Linux 2 runtimes: the guide's 2026-06-30 was AL2's own end of life, and AWS then said
# these runtimes keep receiving critical patches past it, with no new date published. A guessed date
# would fail healthy templates (the live posture check, verify.probes.lambda_, leaves them out too).
AL2_EXTENDED = frozenset({"python3.10", "python3.11", "java8.al2", "java11", "java17", "provided.al2"})


def table_note() -> str:
    return f"verify's Lambda runtime table of {TABLE_AS_OF.isoformat()} ({SOURCE})"


def deprecated_since(runtime: str, today: date) -> date | None:
    """The day `runtime` was deprecated, when that day is `today` or earlier; else None."""
    when = DEPRECATION.get(runtime)
    return when if when is not None and when <= today else None


def known(runtime: str) -> bool:
    return runtime in DEPRECATION


def newest_of_family(runtime: str) -> str | None:
    """The table's latest-deprecating runtime of the same language (`nodejs16.x` -> `nodejs24.x`)."""
    family = re.match(r"[a-z]+", runtime)
    if family is None:
        return None
    same = [r for r in DEPRECATION if re.match(r"[a-z]+", r).group(0) == family.group(0)]  # type: ignore[union-attr]
    return max(same, key=lambda r: DEPRECATION[r], default=None)
