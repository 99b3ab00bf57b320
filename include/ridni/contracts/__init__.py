"""Source contracts: one YAML file per source (``<source_id>.yaml`` beside this module).

A contract holds every fact about a source's delivery: file pattern, format,
encoding, delimiter, date format, cadence, key and columns (source name,
canonical field, type, required, pattern, allowed values with their canonical
mapping, personal flag, description). The same file drives the parser
(:mod:`ridni.ingest.parse`), the Great Expectations suite
(:mod:`ridni.ingest.validate`) and ``docs/sources.md`` (:mod:`ridni.contracts.docs`);
those facts are written nowhere else. The format is described in
``docs/ARCHITECTURE.md`` ("Contract file format").

:func:`load` checks the file's own shape and raises :class:`ContractError`
naming the file and the offending entry, so a broken contract fails on load,
never halfway through a night.
"""

from __future__ import annotations

import codecs
import re
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

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
_TOP_KEYS = {
    "source_id", "title", "provider", "description", "cadence", "format", "file_pattern", "encoding",
    "delimiter", "sheet", "date_format", "timezone", "key", "manifest_extra", "constants", "derived", "columns",
    "max_withdrawal_share", "max_quarantine_share",
}
_REQUIRED_TOP = ("source_id", "title", "provider", "cadence", "format", "file_pattern", "key", "columns")
_COLUMN_KEYS = {
    "source", "field", "type", "required", "pattern", "allowed", "personal", "description", "optional", "format",
}


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
def _err(path: Path | str, where: str, msg: str) -> ContractError:
    return ContractError(f"{Path(path).name}: {where}: {msg}")


def _token(value, path, where) -> str:
    """Allowed-mapping keys and values as text (YAML reads `true` and `10` as bool and int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise _err(path, where, f"allowed values must be text, numbers or booleans, not {type(value).__name__}")


def _str(raw: dict, key: str, path, where: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise _err(path, where, f"`{key}` is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(path, where, f"`{key}` must be a non-empty string")
    return value


def _bool(raw: dict, key: str, path, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _err(path, where, f"`{key}` must be true or false")
    return value


def _column(raw, i: int, fmt: str, path) -> Column:
    where = f"columns[{i}]"
    if not isinstance(raw, dict):
        raise _err(path, where, "must be a mapping")
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        raise _err(path, where, f"unknown key(s) {sorted(unknown)}")
    source = _str(raw, "source", path, where, required=True)
    where = f"column {source!r}"
    fld = _str(raw, "field", path, where, required=True)
    if not _FIELD_RE.match(fld) or fld in (LINE_NO, "attributes"):
        raise _err(path, where, f"field {fld!r} must be snake_case and not a reserved name")
    typ = raw.get("type", "string")
    if typ not in TYPES:
        raise _err(path, where, f"type {typ!r} is not one of {TYPES}")
    if typ == "excel_date" and fmt != "xlsx":
        raise _err(path, where, "type excel_date is for xlsx sources only")
    if "." in source and fmt not in ("json", "jsonl"):
        raise _err(path, where, "dotted paths are for JSON sources only")
    storage = CORE_FIELDS.get(fld)
    if storage and typ not in _ACCEPTS[storage]:
        raise _err(path, where, f"canonical field {fld} ({storage}) cannot take type {typ}")
    pattern = _str(raw, "pattern", path, where)
    if pattern is not None:
        if typ not in ("string", "integer"):
            raise _err(path, where, "a pattern applies to string or integer columns only")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _err(path, where, f"pattern does not compile: {exc}") from None
    allowed_raw = raw.get("allowed")
    allowed: dict[str, str] | None = None
    if allowed_raw is not None:
        if isinstance(allowed_raw, list):
            allowed = {_token(v, path, where): _token(v, path, where) for v in allowed_raw}
        elif isinstance(allowed_raw, dict):
            allowed = {_token(k, path, where): _token(v, path, where) for k, v in allowed_raw.items()}
        else:
            raise _err(path, where, "`allowed` must be a list or a mapping")
        if not allowed:
            raise _err(path, where, "`allowed` is empty")
        if typ not in ("string", "integer", "boolean"):
            raise _err(path, where, "`allowed` applies to string, integer or boolean columns")
        vocabulary = CANONICAL_VALUES.get(fld)
        if vocabulary is not None and not set(allowed.values()) <= vocabulary:
            bad = sorted(set(allowed.values()) - vocabulary)
            raise _err(path, where, f"canonical value(s) {bad} are not tokens of {fld} (ARCHITECTURE.md)")
    elif fld in CANONICAL_VALUES:
        raise _err(path, where, f"{fld} needs an `allowed` mapping onto its canonical tokens")
    fmt_override = _str(raw, "format", path, where)
    if fmt_override is not None and typ not in ("date", "excel_date"):
        raise _err(path, where, "`format` applies to date columns only")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _err(path, where, "`description` must be text")
    return Column(
        source=source, field=fld, type=typ, required=_bool(raw, "required", path, where), pattern=pattern,
        allowed=allowed, personal=_bool(raw, "personal", path, where), description=description.strip(),
        optional=_bool(raw, "optional", path, where), format=fmt_override,
    )


def parse_contract(raw, path: Path | str) -> Contract:
    """Build a :class:`Contract` from a YAML document, checking its shape."""
    if not isinstance(raw, dict):
        raise _err(path, "top level", "must be a mapping")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise _err(path, "top level", f"unknown key(s) {sorted(unknown)}")
    for key in _REQUIRED_TOP:
        if key not in raw:
            raise _err(path, "top level", f"`{key}` is required")
    source_id = _str(raw, "source_id", path, "top level", required=True)
    if Path(path).suffix in (".yaml", ".yml") and Path(path).stem != source_id:
        raise _err(path, "source_id", f"{source_id!r} does not match the file name")
    where = "top level"
    cadence, fmt = raw["cadence"], raw["format"]
    if cadence not in CADENCES:
        raise _err(path, "cadence", f"{cadence!r} is not one of {CADENCES}")
    if fmt not in FORMATS:
        raise _err(path, "format", f"{fmt!r} is not one of {FORMATS}")
    encoding = _str(raw, "encoding", path, where)
    delimiter = raw.get("delimiter")
    if delimiter is not None and not isinstance(delimiter, str):
        raise _err(path, "delimiter", "must be text")
    sheet = _str(raw, "sheet", path, where)
    if fmt == "xlsx":
        if not sheet:
            raise _err(path, "sheet", "an xlsx source needs `sheet`")
        if encoding or delimiter:
            raise _err(path, where, "`encoding` and `delimiter` do not apply to xlsx")
    else:
        if not encoding:
            raise _err(path, "encoding", f"a {fmt} source needs `encoding`")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _err(path, "encoding", f"unknown encoding {encoding!r}") from None
        if fmt == "csv":
            if not delimiter or len(delimiter) != 1 or delimiter in "\"\r\n":
                raise _err(path, "delimiter", "a csv source needs a one-character `delimiter` (not a quote or line end)")
        elif delimiter:
            raise _err(path, "delimiter", f"`delimiter` does not apply to {fmt}")
        if sheet:
            raise _err(path, "sheet", f"`sheet` does not apply to {fmt}")
    date_format = _str(raw, "date_format", path, where) or "%Y-%m-%d"
    timezone = _str(raw, "timezone", path, where) or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _err(path, "timezone", f"unknown time zone {timezone!r}") from None

    cols_raw = raw["columns"]
    if not isinstance(cols_raw, list) or not cols_raw:
        raise _err(path, "columns", "must be a non-empty list")
    columns = tuple(_column(c, i, fmt, path) for i, c in enumerate(cols_raw))
    seen_src, seen_field = set(), set()
    for c in columns:
        if c.source in seen_src:
            raise _err(path, f"column {c.source!r}", "delivered twice")
        if c.field in seen_field:
            raise _err(path, f"column {c.source!r}", f"field {c.field} is filled twice")
        seen_src.add(c.source)
        seen_field.add(c.field)
    if fmt in ("json", "jsonl"):
        tops = {c.path[0] for c in columns if len(c.path) == 1}
        nested = {c.path[0] for c in columns if len(c.path) > 1}
        if tops & nested:
            raise _err(path, "columns", f"{sorted(tops & nested)} used both as a value and as an object")
        if any(len(c.path) > 2 for c in columns):
            raise _err(path, "columns", "JSON paths are at most two levels deep (object.key)")

    constants_raw = raw.get("constants") or {}
    if not isinstance(constants_raw, dict):
        raise _err(path, "constants", "must be a mapping field -> value")
    constants: dict[str, str] = {}
    for k, v in constants_raw.items():
        if not isinstance(k, str) or not _FIELD_RE.match(k) or k in seen_field:
            raise _err(path, "constants", f"{k!r} is not a field of its own")
        if k in CORE_FIELDS and CORE_FIELDS[k] != "text":
            raise _err(path, "constants", f"{k} is not a text field")
        value = _token(v, path, "constants")
        if k in CANONICAL_VALUES and value not in CANONICAL_VALUES[k]:
            raise _err(path, "constants", f"{value!r} is not a token of {k}")
        constants[k] = value
        seen_field.add(k)

    derived_raw = raw.get("derived") or {}
    if not isinstance(derived_raw, dict):
        raise _err(path, "derived", "must be a mapping field -> template")
    derived: dict[str, str] = {}
    for k, template in derived_raw.items():
        if not isinstance(k, str) or not _FIELD_RE.match(k) or k in seen_field:
            raise _err(path, "derived", f"{k!r} is not a field of its own")
        if k in CORE_FIELDS and CORE_FIELDS[k] != "text":
            raise _err(path, "derived", f"{k} is not a text field")
        if not isinstance(template, str):
            raise _err(path, "derived", f"{k}: the template must be text")
        try:
            names = [n for _, n, spec, conv in string.Formatter().parse(template) if n is not None]
            if any(spec or conv for _, n, spec, conv in string.Formatter().parse(template) if n is not None):
                raise ValueError("format specs and conversions are not supported")
        except ValueError as exc:
            raise _err(path, "derived", f"{k}: bad template: {exc}") from None
        if not names:
            raise _err(path, "derived", f"{k}: the template names no field")
        for n in names:
            if n != LINE_NO and n not in seen_field:
                raise _err(path, "derived", f"{k}: the template names {n!r}, which is not a field of this source")
        derived[k] = template
        seen_field.add(k)

    if "record_key" not in seen_field:
        raise _err(path, "columns", "no column or derived field fills record_key")
    key = raw["key"]
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise _err(path, "key", "must be a list of canonical fields")
    for k in key:
        if k not in seen_field:
            raise _err(path, "key", f"{k!r} is not a field of this source")
    manifest_extra = raw.get("manifest_extra") or []
    if not isinstance(manifest_extra, list) or not all(isinstance(m, str) for m in manifest_extra):
        raise _err(path, "manifest_extra", "must be a list of names")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _err(path, "description", "must be text")
    share = raw.get("max_withdrawal_share", DEFAULT_MAX_WITHDRAWAL_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise _err(path, "max_withdrawal_share", "must be a number above 0 and at most 1 (a share, e.g. 0.05)")
    if "max_withdrawal_share" in raw and cadence != "snapshot":
        raise _err(path, "max_withdrawal_share", "applies to full snapshots only")
    quarantine_share = raw.get("max_quarantine_share", DEFAULT_MAX_QUARANTINE_SHARE)
    if isinstance(quarantine_share, bool) or not isinstance(quarantine_share, int | float) \
            or not 0 <= quarantine_share <= 1:
        raise _err(path, "max_quarantine_share", "must be a number from 0 to 1 (a share, e.g. 0.01)")

    return Contract(
        source_id=source_id, title=_str(raw, "title", path, where, required=True),
        provider=_str(raw, "provider", path, where, required=True), cadence=cadence, format=fmt,
        file_pattern=_str(raw, "file_pattern", path, where, required=True), columns=columns, key=tuple(key),
        description=" ".join(description.split()), encoding=encoding, delimiter=delimiter, sheet=sheet,
        date_format=date_format, timezone=timezone, manifest_extra=tuple(manifest_extra),
        max_withdrawal_share=float(share), max_quarantine_share=float(quarantine_share), constants=constants,
        derived=derived, path=Path(path),
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
