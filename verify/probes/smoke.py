"""What on-call asks first, answered read-only: does the API answer signed GETs and refuse unsigned
ones, and is the newest processed record recent?

Freshness without a key: the processed table cannot be queried without knowing a partition key, so a
bounded Scan (at most `MAX_PAGES` pages of `PAGE_SIZE` items, projecting only time-like attributes)
samples it. Only a scan that saw the whole table may say "no recent record" (failed); an old sample
of a larger table is "could not verify", never a verdict. verify's own records (a key starting with
the run-id prefix `vfy-`, e.g. a reading an interrupted run left behind) are no sign of the stack's
life: they are counted apart and never taken for the newest record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from verify.aws.errors import aws_errors
from verify.aws.http import HttpResult, SignedHttp
from verify.errors import CheckFailed, VerifyError
from verify.model import RUN_ID_PREFIX

TIME_ATTRIBUTES = (
    "processedAt",
    "processed_at",
    "updatedAt",
    "updated_at",
    "timestamp",
    "createdAt",
    "created_at",
    "receivedAt",
    "eventTime",
)
PAGE_SIZE = 100
MAX_PAGES = 5


def api_url(base: str, path: str) -> str:
    return urljoin(base if base.endswith("/") else base + "/", path.lstrip("/"))


def get_paths(methods: Iterable[dict[str, str]]) -> set[str]:
    """Literal paths (no `{param}`) that have a GET method, without the leading slash."""
    return {m["path"].strip("/") for m in methods if m["method"] in ("GET", "ANY") and "{" not in m["path"]}


def check_answers(http: SignedHttp, url: str) -> dict[str, Any]:
    """A signed GET is answered: 2xx, or a 4xx other than 403 (the API judged the request itself)."""
    __tracebackhide__ = True
    response = http.request("GET", url)
    if response.status >= 500 or response.status == 403:
        why = "refused a signed call" if response.status == 403 else "failed"
        raise CheckFailed(
            f"GET {url}: expected an answer to a signed call (2xx, or 4xx other than 403), got HTTP "
            f"{response.status} (the API {why}): {response.text[:120]!r}",
            resource=url,
            expected="2xx or 4xx (not 403)",
            actual=response.status,
            evidence=response.evidence(),
        )
    return response.evidence()


def check_unsigned_rejected(http: SignedHttp, url: str) -> HttpResult:
    __tracebackhide__ = True
    response = http.request("GET", url, sign=False)
    if response.status not in (401, 403):
        raise CheckFailed(
            f"GET {url} unsigned: expected 403, got HTTP {response.status}",
            resource=url,
            expected=403,
            actual=response.status,
            evidence=response.evidence(),
        )
    return response


@dataclass(frozen=True)
class Sample:
    items: int
    exhaustive: bool
    newest: dt.datetime | None
    attribute: str | None
    own: int = 0  # verify's own records seen (not counted in `items`)


def parse_time(value: dict[str, Any]) -> dt.datetime | None:
    """A DynamoDB attribute value as a UTC time: ISO-8601 strings, epoch seconds or milliseconds."""
    if "S" in value:
        text = str(value["S"]).strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if "N" in value:
        number = float(value["N"])
        if number > 1e12:  # milliseconds
            number /= 1000
        if number < 1e9:  # not an epoch time of this century
            return None
        return dt.datetime.fromtimestamp(number, dt.UTC)
    return None


def sample_newest(
    client: Any, table: str, *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES
) -> Sample:
    keys = _key_names(client, table)
    request: dict[str, Any] = {"TableName": table, "Limit": page_size}
    if keys is not None:
        # Only what the verdict needs: time-like attributes, and the keys that say whose record it is.
        names = {f"#t{i}": name for i, name in enumerate(dict.fromkeys((*TIME_ATTRIBUTES, *keys)))}
        request.update(ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
    items = 0
    own = 0
    newest: tuple[dt.datetime, str] | None = None
    exhaustive = False
    for _ in range(max_pages):
        with aws_errors("dynamodb", "Scan", table):
            page = client.scan(**request)
        items += int(page.get("ScannedCount", len(page.get("Items", []))))
        for item in page.get("Items", []):
            if _is_verifys(item, keys):
                own += 1
                continue
            for name, value in item.items():
                if name not in TIME_ATTRIBUTES:
                    continue
                when = parse_time(value)
                if when is not None and (newest is None or when > newest[0]):
                    newest = (when, name)
        if "LastEvaluatedKey" not in page:
            exhaustive = True
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return Sample(
        items - own, exhaustive, newest[0] if newest else None, newest[1] if newest else None, own=own
    )


def _key_names(client: Any, table: str) -> tuple[str, ...] | None:
    """The table's key attributes; None when DescribeTable is not allowed (every attribute is read)."""
    try:
        with aws_errors("dynamodb", "DescribeTable", table):
            described = client.describe_table(TableName=table)["Table"]
    except VerifyError:
        return None
    return tuple(str(k["AttributeName"]) for k in described.get("KeySchema", []))


def _is_verifys(item: dict[str, Any], keys: tuple[str, ...] | None) -> bool:
    """A record verify wrote: a key (any string attribute, when the keys are unknown) carries its prefix,
    at its start or behind a single-table design's entity prefix (`DEVICE#vfy-...`)."""
    names = keys if keys is not None else tuple(item)
    values = (str(item.get(name, {}).get("S", "")) for name in names)
    return any(part.startswith(RUN_ID_PREFIX) for value in values for part in re.split(r"[#|]", value))


def check_fresh(
    sample: Sample, table: str, max_age_s: float, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The verdict on a sample; see the module docstring."""
    __tracebackhide__ = True
    now = now or dt.datetime.now(dt.UTC)
    scope = "the whole table" if sample.exhaustive else f"a sample of {sample.items} items"
    evidence: dict[str, Any] = {"items_seen": sample.items, "whole_table": sample.exhaustive}
    if sample.own:
        evidence["verify_records_ignored"] = sample.own
    if sample.items == 0 and sample.exhaustive:
        only_ours = f" but for {sample.own} of verify's own test records" if sample.own else ""
        raise CheckFailed(
            f"DynamoDB table `{table}`: expected a processed record younger than {max_age_s:g} s, got none: "
            f"the table is empty{only_ours}",
            resource=table,
            expected=f"age <= {max_age_s:g} s",
            actual="no items",
            evidence=evidence,
        )
    if sample.newest is None:
        raise VerifyError(
            f"DynamoDB table `{table}`: none of {sample.items} items carries a time attribute "
            f"({', '.join(TIME_ATTRIBUTES)}), so the newest record's age is unknown"
        )
    age = (now - sample.newest).total_seconds()
    evidence.update(newest=sample.newest.isoformat(), attribute=sample.attribute, age_s=round(age, 1))
    if age <= max_age_s:
        return evidence
    if not sample.exhaustive:
        raise VerifyError(
            f"DynamoDB table `{table}`: the newest record in {scope} is {age:.0f} s old, but the table holds "
            "more than the sample, so a newer one may exist"
        )
    raise CheckFailed(
        f"DynamoDB table `{table}`: expected a processed record younger than {max_age_s:g} s "
        f"(expect.processed_max_age_s), got newest {age:.0f} s old ({sample.attribute} "
        f"{sample.newest.isoformat()}, {scope})",
        resource=table,
        expected=f"age <= {max_age_s:g} s",
        actual=f"{age:.0f} s",
        evidence=evidence,
    )
