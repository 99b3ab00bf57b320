"""Source contracts: one YAML file per source (``<source_id>.yaml`` beside this module).

A contract holds every fact about a source's delivery: file pattern, format,
encoding, delimiter, date format, cadence, key and columns (source name,
canonical field, type, required, pattern, allowed values with their canonical
mapping, personal flag, description). The same file drives the parser
(:mod:`ridni.ingest.parse`), the Great Expectations suite
(:mod:`ridni.ingest.validate`) and ``docs/sources.md`` (:mod:`ridni.contracts.docs`);
those facts are written nowhere else. The format is described in
``docs/ARCHITECTURE.md`` ("Contract file format").

:func:`load` checks the file's shape against ``contract.schema.json`` (JSON Schema 2020-12, with the
``jsonschema`` package), then the rules that relate one entry to another (file name, canonical field
types and tokens, every field filled once, key and template names, encodings, time zones, regular
expressions). Either raises :class:`ContractError` naming the file and the JSON path of the offending
entry (``npu_appeals.yaml: $.columns[3].type: ...``), so a broken contract fails on load, never halfway
through a night.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

log = logging.getLogger(__name__)
CONTRACTS_DIR = Path(__file__).resolve().parent

CADENCES = ("snapshot", "delta", "event")
FORMATS = ("csv", "jsonl", "json", "xlsx")
TYPES = ("string", "date", "partial_date", "timestamp", "integer", "decimal", "boolean", "excel_date")
DATE_TYPES = ("date", "excel_date")

# The canonical source record (docs/ARCHITECTURE.md): field -> how it is stored.
#   text: as delivered (or canonicalised by `allowed`); birth: ISO text, full or partial;
#   date: a calendar date; timestamp: a moment (UTC).
CORE_FIELDS: dict[str, str] = {
    "record_key": "text",
    "surname": "text",
    "first_name": "text",
    "patronymic": "text",
    "full_name": "text",
    "birth_date": "birth",
    "sex": "text",
    "rnokpp": "text",
    "service_no": "text",
    "person_type": "text",
    "status": "text",
    "status_date": "date",
    "region": "text",
    "disappeared_on": "date",
    "registered_on": "date",
    "appeal_refs": "text",
    "op": "text",
    "changed_at": "timestamp",
}
# Which column types each storage kind accepts (attributes, i.e. non-core fields, accept any type).
_ACCEPTS = {
    "text": set(TYPES) - {"date", "partial_date", "timestamp", "excel_date"},
    "birth": {"date", "partial_date", "excel_date"},
    "date": {"date", "excel_date"},
    "timestamp": {"timestamp"},
}
# Canonical vocabulary for the fields whose values the pipeline reads (tokens, ARCHITECTURE.md).
CANONICAL_VALUES: dict[str, frozenset[str]] = {
    "sex": frozenset({"M", "F"}),
    "person_type": frozenset({"military", "civilian", "child"}),
    "op": frozenset({"I", "U", "D"}),
    "status": frozenset({
        "missing", "found_alive", "found_dead", "captivity", "returned", "captivity_confirmed", "released",
        "deceased", "not_confirmed", "deprived_of_liberty", "enforced_disappearance", "illegally_convicted",
        "pow", "civilian_internee", "deported", "found", "detained",
    }),
}
LINE_NO = "line_no"
# A full snapshot that would withdraw more than this share of the source's standing records in one night
# holds those withdrawals until an operator confirms them (contract key ``max_withdrawal_share``)...
DEFAULT_MAX_WITHDRAWAL_SHARE = 0.05
# ...unless they are this few: a small source's ordinary night can withdraw a large share of it.
MIN_WITHDRAWALS_HELD = 10
# Above this share of a night's received rows in quarantine, the ingest DAG's check task fails (contract key
# ``max_quarantine_share``): the rows are loaded all the same, the failure makes the night's gap visible.
DEFAULT_MAX_QUARANTINE_SHARE = 0.01
_FIELD_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SCHEMA_PATH = CONTRACTS_DIR / "contract.schema.json"


class ContractError(ValueError):
    """A contract file that does not have the documented shape."""


@dataclass(frozen=True)
class Column:
    """One delivered column (JSON: a dotted path) and the canonical field it fills."""

    source: str
    field: str
    type: str = "string"
    required: bool = False
    pattern: str | None = None
    allowed: dict[str, str] | None = None  # delivered value -> canonical value
    personal: bool = False
    description: str = ""
    optional: bool = False  # the column / JSON key may be absent from the file altogether
    format: str | None = None  # strptime format overriding the contract's date_format

    @property
    def core(self) -> bool:
        """True when the field is a column of the canonical record (else it goes to ``attributes``)."""
        return self.field in CORE_FIELDS

    @property
    def allowed_values(self) -> list[str] | None:
        """The canonical values the field may take (the mapping's targets), sorted."""
        return None if self.allowed is None else sorted(set(self.allowed.values()))

    @property
    def path(self) -> tuple[str, ...]:
        """JSON path of the column (``person.birth_date`` -> ``("person", "birth_date")``)."""
        return tuple(self.source.split("."))


@dataclass(frozen=True)
class Reference:
    """A field whose values cite records of another source (by its ``record_key``)."""

    field: str
    source: str
    key: str = "record_key"
    separator: str | None = None  # between several values in one field

    def values(self, text: str | None) -> list[str]:
        """The cited keys in one field's value, blanks dropped."""
        if not isinstance(text, str):
            return []
        parts = text.split(self.separator) if self.separator else [text]
        return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class Contract:
    source_id: str
    title: str
    provider: str
    cadence: str
    format: str
    file_pattern: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    date_format: str = "%Y-%m-%d"
    timezone: str = "UTC"
    manifest_extra: tuple[str, ...] = ()
    max_withdrawal_share: float = DEFAULT_MAX_WITHDRAWAL_SHARE
    max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE
    constants: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)  # field -> template over fields and line_no
    references: tuple[Reference, ...] = ()
    path: Path | None = None

    def column(self, field_name: str) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None)

    @property
    def fields(self) -> list[str]:
        """Every canonical field the parser fills for this source (columns, constants, derived)."""
        out = [c.field for c in self.columns]
        out += [f for f in self.constants if f not in out]
        out += [f for f in self.derived if f not in out]
        return out

    @property
    def core_fields(self) -> list[str]:
        return [f for f in self.fields if f in CORE_FIELDS]

    @property
    def attribute_fields(self) -> list[str]:
        """Non-core canonical fields: stored in ``attributes``."""
        return [f for f in self.fields if f not in CORE_FIELDS]

    @property
    def personal_fields(self) -> list[str]:
        return [c.field for c in self.columns if c.personal]

    def status_values(self) -> list[str]:
        """Every canonical status this source can deliver (its ``allowed`` mapping, or its constant)."""
        if "status" in self.constants:
            return [self.constants["status"]]
        column = self.column("status")
        if column is None or not column.allowed:
            return []
        return sorted(set(column.allowed.values()))

    def required_fields(self) -> list[str]:
        out = [c.field for c in self.columns if c.required]
        return out + [f for f in self.derived if f not in out]


# ------------------------------------------------------------------------------------------ loading
@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _err(path: Path | str, where: str, msg: str) -> ContractError:
    return ContractError(f"{Path(path).name}: {where}: {msg}")


def _schema_message(error: ValidationError) -> str:
    """jsonschema's message, with the schema's ``{"not": {}}`` (a key that does not apply) in words."""
    if error.validator == "not" and error.validator_value == {}:
        return "does not apply to a source of this format or cadence"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."


def check_shape(raw, path: Path | str) -> None:
    """Check a YAML document against ``contract.schema.json``; the error names the file and the JSON path."""
    error = best_match(_validator().iter_errors(raw))
    if error is not None:
        raise _err(path, error.json_path, _schema_message(error))


def _token(value) -> str:
    """Allowed-mapping keys and values and constants as text (YAML reads `true` and `10` as bool and int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _column(raw: dict, i: int, fmt: str, path) -> Column:
    """One column, past the schema: the rules that relate it to the format and the canonical record."""
    where = f"$.columns[{i}]"
    source, fld, typ = raw["source"], raw["field"], raw.get("type", "string")
    if typ == "excel_date" and fmt != "xlsx":
        raise _err(path, f"{where}.type", "type excel_date is for xlsx sources only")
    if "." in source and fmt not in ("json", "jsonl"):
        raise _err(path, f"{where}.source", "dotted paths are for JSON sources only")
    storage = CORE_FIELDS.get(fld)
    if storage and typ not in _ACCEPTS[storage]:
        raise _err(path, f"{where}.type", f"canonical field {fld} ({storage}) cannot take type {typ}")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _err(path, f"{where}.pattern", f"pattern does not compile: {exc}") from None
    allowed_raw = raw.get("allowed")
    allowed: dict[str, str] | None = None
    if allowed_raw is not None:
        pairs = ((v, v) for v in allowed_raw) if isinstance(allowed_raw, list) else allowed_raw.items()
        allowed = {_token(k): _token(v) for k, v in pairs}
        vocabulary = CANONICAL_VALUES.get(fld)
        if vocabulary is not None and not set(allowed.values()) <= vocabulary:
            bad = sorted(set(allowed.values()) - vocabulary)
            raise _err(path, f"{where}.allowed",
                       f"canonical value(s) {bad} are not tokens of {fld} (ARCHITECTURE.md)")
    elif fld in CANONICAL_VALUES:
        raise _err(path, where, f"{fld} needs an `allowed` mapping onto its canonical tokens")
    return Column(
        source=source, field=fld, type=typ, required=raw.get("required", False), pattern=pattern,
        allowed=allowed, personal=raw.get("personal", False), description=raw.get("description", "").strip(),
        optional=raw.get("optional", False), format=raw.get("format"),
    )


def _template_fields(template: str, path, where: str) -> list[str]:
    """The fields a ``derived`` template names (no format specs or conversions)."""
    try:
        parsed = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise _err(path, where, f"bad template: {exc}") from None
    if any(spec or conv for _, spec, conv in parsed):
        raise _err(path, where, "bad template: format specs and conversions are not supported")
    if not parsed:
        raise _err(path, where, "the template names no field")
    return [name for name, _, _ in parsed]


def parse_contract(raw, path: Path | str) -> Contract:
    """Build a :class:`Contract` from a YAML document: its shape by the schema, then the cross-field rules."""
    check_shape(raw, path)
    source_id, cadence, fmt = raw["source_id"], raw["cadence"], raw["format"]
    if Path(path).suffix in (".yaml", ".yml") and Path(path).stem != source_id:
        raise _err(path, "$.source_id", f"{source_id!r} does not match the file name")
    encoding = raw.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _err(path, "$.encoding", f"unknown encoding {encoding!r}") from None
    timezone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _err(path, "$.timezone", f"unknown time zone {timezone!r}") from None

    columns = tuple(_column(c, i, fmt, path) for i, c in enumerate(raw["columns"]))
    seen_src, seen_field = set(), set()
    for i, c in enumerate(columns):
        if c.source in seen_src:
            raise _err(path, f"$.columns[{i}].source", f"{c.source!r} delivered twice")
        if c.field in seen_field:
            raise _err(path, f"$.columns[{i}].field", f"field {c.field} is filled twice")
        seen_src.add(c.source)
        seen_field.add(c.field)
    if fmt in ("json", "jsonl"):
        tops = {c.path[0] for c in columns if len(c.path) == 1}
        nested = {c.path[0] for c in columns if len(c.path) > 1}
        if tops & nested:
            raise _err(path, "$.columns", f"{sorted(tops & nested)} used both as a value and as an object")
        if any(len(c.path) > 2 for c in columns):
            raise _err(path, "$.columns", "JSON paths are at most two levels deep (object.key)")

    constants: dict[str, str] = {}
    for k, v in (raw.get("constants") or {}).items():
        where = f"$.constants.{k}"
        if k in seen_field:
            raise _err(path, where, f"{k!r} is not a field of its own")
        if k in CORE_FIELDS and CORE_FIELDS[k] != "text":
            raise _err(path, where, f"{k} is not a text field")
        value = _token(v)
        if k in CANONICAL_VALUES and value not in CANONICAL_VALUES[k]:
            raise _err(path, where, f"{value!r} is not a token of {k}")
        constants[k] = value
        seen_field.add(k)

    derived: dict[str, str] = {}
    for k, template in (raw.get("derived") or {}).items():
        where = f"$.derived.{k}"
        if k in seen_field:
            raise _err(path, where, f"{k!r} is not a field of its own")
        if k in CORE_FIELDS and CORE_FIELDS[k] != "text":
            raise _err(path, where, f"{k} is not a text field")
        for n in _template_fields(template, path, where):
            if n != LINE_NO and n not in seen_field:
                raise _err(path, where, f"the template names {n!r}, which is not a field of this source")
        derived[k] = template
        seen_field.add(k)

    if "record_key" not in seen_field:
        raise _err(path, "$.columns", "no column or derived field fills record_key")
    key = [raw["key"]] if isinstance(raw["key"], str) else raw["key"]
    for i, k in enumerate(key):
        if k not in seen_field:
            raise _err(path, f"$.key[{i}]", f"{k!r} is not a field of this source")
    references = []
    for i, ref in enumerate(raw.get("references") or []):
        if ref["field"] not in seen_field:
            raise _err(path, f"$.references[{i}].field", f"{ref['field']!r} is not a field of this source")
        references.append(Reference(field=ref["field"], source=ref["source"], key=ref["key"],
                                    separator=ref.get("separator")))

    return Contract(
        source_id=source_id, title=raw["title"], provider=raw["provider"], cadence=cadence, format=fmt,
        file_pattern=raw["file_pattern"], columns=columns, key=tuple(key),
        description=" ".join(raw.get("description", "").split()), encoding=encoding,
        delimiter=raw.get("delimiter"), sheet=raw.get("sheet"), date_format=raw.get("date_format", "%Y-%m-%d"),
        timezone=timezone, manifest_extra=tuple(raw.get("manifest_extra") or ()),
        max_withdrawal_share=float(raw.get("max_withdrawal_share", DEFAULT_MAX_WITHDRAWAL_SHARE)),
        max_quarantine_share=float(raw.get("max_quarantine_share", DEFAULT_MAX_QUARANTINE_SHARE)),
        constants=constants, derived=derived, references=tuple(references), path=Path(path),
    )


def load_file(path: Path | str) -> Contract:
    """Load and check one contract file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_contract(raw, path)


@cache
def load(source_id: str) -> Contract:
    """The contract of ``source_id`` (``include/ridni/contracts/<source_id>.yaml``)."""
    if not _FIELD_RE.match(source_id):
        raise ContractError(f"{source_id!r} is not a source id")
    path = CONTRACTS_DIR / f"{source_id}.yaml"
    if not path.is_file():
        raise ContractError(f"no contract for source {source_id!r} ({path.name} not found)")
    return load_file(path)


def source_ids() -> list[str]:
    return sorted(p.stem for p in CONTRACTS_DIR.glob("*.yaml"))


def all_contracts() -> list[Contract]:
    """Every source's contract, in source_id order."""
    return [load(s) for s in source_ids()]


def references() -> list[tuple[str, Reference]]:
    """Every cross-source reference the contracts declare: (citing source, reference), in source_id order.

    Raises :class:`ContractError` for a reference to a source that has no contract.
    """
    known = set(source_ids())
    out = []
    for contract in all_contracts():
        for i, ref in enumerate(contract.references):
            if ref.source not in known:
                raise _err(contract.path or contract.source_id, f"$.references[{i}].source",
                           f"no contract for source {ref.source!r}")
            out.append((contract.source_id, ref))
    return out


def contracts_that_load() -> list[Contract]:
    """Every source's contract that loads, in source_id order; a broken one is left out with a warning.

    For what spans the sources at DAG-parse time (``resolve_persons`` waits for the nightly sources' assets):
    a broken contract is reported as the import error of its own ingest DAG file, and must not take the
    DAGs that do not depend on it down with it.
    """
    out = []
    for source_id in source_ids():
        try:
            out.append(load(source_id))
        except ContractError as exc:
            log.warning("contract left out: %s", exc)
    return out
