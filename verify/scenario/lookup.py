"""Where this run's tagged reading is looked up: key lookups (never a scan) in the flow's tables.

The marker is the run id (always `vfy-...-<random>`, see `run_ids.run_id_for`), placed in the raw
table's partition key, so every read is a key lookup. In a single-table design (verify.scenario.keys)
the key is the stack's prefix + the marker (`DEVICE#vfy-...`): the prefix is learned (from one bounded
Scan of existing items, the API's answers, the id field's name), each lookup is a Query on it, and
when one table holds both the raw and the processed reading, their sort keys' entities tell them apart.
"""

from __future__ import annotations

from typing import Any

from verify.aws.client import Aws
from verify.aws.errors import aws_errors
from verify.config.settings import Config
from verify.errors import CheckFailed, VerifyError
from verify.scenario.keys import SAMPLE_ITEMS, KeyGuess, entity_of, entity_role, is_single_table, key_guesses
from verify.scenario.payload import KeySchema
from verify.scenario.targets import FlowTargets
from verify.stack.inventory import Resource


class ReadingLookup:
    """The flow's reads of its tables (`verify.scenario.flow.Flow` sets the state in its `__init__`)."""

    aws: Aws
    config: Config
    targets: FlowTargets
    marker: str
    _schemas: dict[str, KeySchema]
    _described: dict[str, dict[str, Any]]
    # Single-table designs (verify.scenario.keys): sampled items, the prefix the ingest's answer
    # echoed, the prefix each table's reading was found under, the raw items' entity once told.
    _samples: dict[str, list[dict[str, Any]]]
    _answered_prefix: str | None
    _key_found: dict[str, str]
    _raw_entity: str | None
    _doubt: dict[str, str]  # what a wait could not tell apart, by the wait's table role

    def id_field(self) -> str:
        """The payload's field that carries the marker (learned: `verify.scenario.learning`)."""
        raise NotImplementedError

    def schema(self, table: Resource) -> KeySchema:
        if table.name not in self._schemas:
            with aws_errors("dynamodb", "DescribeTable", table.name):
                described = self.aws.client("dynamodb").describe_table(TableName=table.name)["Table"]
            self._described[table.name] = described
            self._schemas[table.name] = KeySchema.from_describe(described)
        return self._schemas[table.name]

    def _schema_if_known(self, table: Resource) -> KeySchema | None:
        try:
            return self.schema(table)
        except (CheckFailed, VerifyError, ValueError):
            return None  # its own checks say why; the flow then treats it as an ordinary table

    def single_table(self, table: Resource | None) -> bool:
        """Whether `table` keys items by generic names (`pk`/`sk`) with prefixed values."""
        return table is not None and is_single_table(self._schema_if_known(table))

    def _shared(self) -> bool:
        """One table holds the raw and the processed items (a single-table design)."""
        raw, processed = self.targets.raw_table, self.targets.processed_table
        return raw is not None and processed is not None and raw.name == processed.name

    def _sample(self, table: Resource) -> list[dict[str, Any]]:
        """Some existing items (one bounded, read-only Scan, asked once): a single-table design's
        prefixes and fields (verify.scenario.keys)."""
        if table.name not in self._samples:
            try:
                with aws_errors("dynamodb", "Scan", table.name):
                    answer = self.aws.client("dynamodb").scan(TableName=table.name, Limit=SAMPLE_ITEMS)
                self._samples[table.name] = list(answer.get("Items", []))
            except (CheckFailed, VerifyError):
                self._samples[table.name] = []  # no permission or no table: other evidence teaches
        return self._samples[table.name]

    def key_guess(self, table: Resource) -> KeyGuess:
        """The prefixes a single-table design's partition key may put before the marker, in order."""
        schema = self.schema(table)
        found = [self._key_found[t] for t in sorted(self._key_found)]
        guess = key_guesses(
            partition=schema.partition.name,
            id_field=self.id_field(),
            configured=self.config.flow.key_prefix,
            answered=self._answered_prefix,
            sample=self._sample(table),
        )
        if self.config.flow.key_prefix is None and found:
            # Where this run's reading was found (in either flow table): that is the stack's prefix.
            first = found[0]
            return KeyGuess(
                (first, *[p for p in guess.prefixes if p != first]),
                guess.confirmed | {first},
                {first: "this run's reading, found under it", **guess.learned_from},
            )
        return guess

    def _prefixes(self, table: Resource) -> tuple[str, ...]:
        if not self.single_table(table):
            return ("",)
        if table.name in self._key_found:
            return (self._key_found[table.name],)
        return self.key_guess(table).prefixes

    def _query_key(self, table: Resource, value: str) -> list[dict[str, Any]]:
        schema = self.schema(table)
        with aws_errors("dynamodb", "Query", table.name):
            answer = self.aws.client("dynamodb").query(
                TableName=table.name,
                KeyConditionExpression="#pk = :marker",
                ExpressionAttributeNames={"#pk": schema.partition.name},
                ExpressionAttributeValues={":marker": {schema.partition.type: value}},
                ConsistentRead=True,
            )
        items: list[dict[str, Any]] = answer.get("Items", [])
        return items

    def _items(self, table: Resource, marker: str) -> list[dict[str, Any]]:
        """The items keyed by `marker` (behind a single-table design's prefix: each candidate in turn,
        the first that holds any is the stack's, remembered)."""
        for prefix in self._prefixes(table):
            items = self._query_key(table, prefix + marker)
            if items:
                if self.single_table(table):
                    self._key_found.setdefault(table.name, prefix)
                return items
        return []

    def _entity(self, item: dict[str, Any], table: Resource) -> str | None:
        sort = self.schema(table).sort
        value = item.get(sort.name, {}).get("S") if sort is not None else None
        return entity_of(value)

    def _roles(self, items: list[dict[str, Any]], table: Resource) -> tuple[dict[str, str], list[str]]:
        """Each entity in a shared table's partition -> `raw`/`processed`; the entities left untold.
        Configured or worded entities first; of two, one told, the other takes the other role; the
        raw step's entity, once told, stays raw."""
        entities = list(dict.fromkeys(str(self._entity(i, table)) for i in items))
        known = self._sampled_roles(table)
        roles: dict[str, str] = {}
        for entity in entities:
            role = self._entity_role(entity) or known.get(entity)
            if role is None and entity == self._raw_entity:
                role = "raw"
            if role is not None:
                roles[entity] = role
        untold = [e for e in entities if e not in roles]
        if len(entities) == 2 and len(untold) == 1:
            (told,) = [e for e in entities if e in roles]
            roles[untold[0]] = "processed" if roles[told] == "raw" else "raw"
            untold = []
        return roles, untold

    def _entity_role(self, entity: str) -> str | None:
        flow = self.config.flow
        return entity_role(None if entity == "None" else entity, flow.raw_entity, flow.processed_entity)

    def _sampled_roles(self, table: Resource) -> dict[str, str]:
        """Entities told apart by the sampled items: in one partition, two entities of which one is
        told by its words (`DATUM#…` beside `PROCESSED#…`), the other plays the other role."""
        schema = self.schema(table)
        by_partition: dict[str, set[str]] = {}
        for item in self._sample(table):
            partition = item.get(schema.partition.name, {}).get("S")
            entity = self._entity(item, table)
            if isinstance(partition, str) and entity is not None:
                by_partition.setdefault(partition, set()).add(entity)
        learned: dict[str, str] = {}
        for entities in by_partition.values():
            told = {e: r for e in entities if (r := self._entity_role(e)) is not None}
            untold = entities - set(told)
            if len(entities) == 2 and len(told) == 1 and len(untold) == 1:
                learned[untold.pop()] = "processed" if next(iter(told.values())) == "raw" else "raw"
        return learned

    def _role_items(self, table: Resource, role: str, marker: str) -> list[dict[str, Any]]:
        """This run's items that play `role` in `table`: every item keyed by the marker, unless one
        table holds both (then by their sort key's entity, verify.scenario.keys)."""
        items = self._items(table, marker)
        if not self._shared() or not items:
            if not items and self.single_table(table):
                self._note_unfound(table, role)
            return items
        roles, untold = self._roles(items, table)
        mine = [i for i in items if roles.get(str(self._entity(i, table))) == role]
        if mine and role == "raw":
            self._raw_entity = str(self._entity(mine[0], table))
        if not mine and untold:
            self._doubt[role] = (
                f"{table.name} holds this run's items of entity {', '.join(untold)} under "
                f"{self.schema(table).partition.name} = {self._key_found.get(table.name, '')}{marker}, and "
                "verify cannot tell which of them is the raw and which the processed reading: set [flow] "
                "raw_entity and processed_entity to their sort keys' prefixes (e.g. READING#, PROCESSED#)"
            )
        else:
            self._doubt.pop(role, None)  # found, or the key is known and the item is not there yet
        return mine

    def _note_unfound(self, table: Resource, role: str) -> None:
        """Nothing found under any prefix: when none of them is the stack's for sure, a wait that runs
        out is "could not verify" (the reading may be under a prefix verify does not know)."""
        guess = self.key_guess(table)
        if table.name in self._key_found or self._key_found or guess.confirmed & set(guess.prefixes):
            self._doubt.pop(role, None)
            return
        name = self.schema(table).partition.name
        tried = ", ".join(f"{p}<marker>" for p in guess.prefixes)
        self._doubt[role] = (
            f"single-table design {table.name}: the reading's {name} could not be learned (looked up as "
            f"{name} = {tried}; no sampled item, answer or config says which); set [flow] key_prefix to "
            "the text before the id in its partition key (e.g. DEVICE#). A design whose partition key "
            "does not hold the id at all (only an index's does) is not followed by the flow"
        )

    def _key_description(self, table: Resource) -> dict[str, Any]:
        schema = self.schema(table)
        described: dict[str, Any] = {
            "partition_key": schema.partition.name,
            **self.key_guess(table).describe(),
        }
        if table.name in self._key_found:
            described["found_under"] = f"{self._key_found[table.name]}<marker>"
        if self._shared():
            flow = self.config.flow
            described["entities"] = {
                "raw": flow.raw_entity or self._raw_entity or "told by its words",
                "processed": flow.processed_entity or "told by its words, or the other entity",
            }
        return described

    def _key_evidence(self, evidence: dict[str, Any]) -> None:
        table = self.targets.raw_table or self.targets.processed_table
        if table is not None and self.single_table(table):
            evidence["single_table"] = {
                "table": table.name,
                "answered_prefix": self._answered_prefix,
                **self.key_guess(table).describe(),
            }

    def _key_names(self, table: Resource | None) -> frozenset[str]:
        """The key attributes of a flow table: a processor writes them by necessity, never as enrichment."""
        if table is None:
            return frozenset()
        schema = self.schema(table)
        names = {schema.partition.name} | ({schema.sort.name} if schema.sort else set())
        # An index's keys too (a single-table design's `GSI1PK`/`GSI1SK`): written to be found by.
        described = self._described.get(table.name, {})
        for index in (
            *described.get("GlobalSecondaryIndexes", []),
            *described.get("LocalSecondaryIndexes", []),
        ):
            names |= {str(k["AttributeName"]) for k in index.get("KeySchema", [])}
        return frozenset(names)

    def _partition(self, marker: str) -> dict[str, Any]:
        if self.single_table(self.targets.raw_table):
            return {self.id_field(): marker}  # the stack builds `pk` from it (`DEVICE#<id>`)
        name = self.schema(self.targets.raw_table).partition.name if self.targets.raw_table else "sensorId"
        return {name: marker}
