"""Great Expectations Core suites built from the contract; row-level and drop-level verdicts.

:func:`build_suite` turns a contract into an expectation suite: required fields
not null, ``allowed`` fields in their canonical set, patterns, unique keys, and
the source-specific checks: dates in order (birth <= disappearance <=
registration <= extract date, status and change dates not after the extract
date), a plausible age at the extract date, RNOKPP check digit and the birth
date and sex it encodes agreeing with the record, the row count equal to the
manifest's and within a bound of the previous drop's.

The RNOKPP checks are *flags*, not failures: a record whose number is malformed,
fails its check digit, or encodes another birth date or sex than the record states
still identifies a person (a day and month swapped, a digit mistyped), so it loads
with the disagreement named in ``quality_flags``; only the number's use as a link key
is lost. In the suite they expect ``mostly`` :data:`FLAG_MOSTLY` of the rows to agree, so
Data Docs show a source whose numbers disagree systematically.

The suite is the same every night: one per contract, built once per process; the
night's values (the manifest's row count, the bounds from the previous drop's, the
oldest plausible age) are GX suite parameters (``{"$PARAMETER": ...}``,
:func:`suite_parameters`), given to each run.

:func:`validate` runs the suite on the parsed rows (an ephemeral GX context, a
pandas data source, a whole-dataframe batch; a first pass with counts only, a
second with ``result_format`` COMPLETE and ``unexpected_index_column_names``
``["line_no"]`` for the failed row-level expectations whose failures are few
enough to matter row by row) and returns a
:class:`ValidationOutcome`: per-row failures (``line_no`` -> names of the
failed expectations, parse problems included), drop-level failures (GX's own
table-level results: row count against the manifest, volume change; and the
share of bad rows over a threshold) and a summary with counts only. No personal
value leaves this module: GX's unexpected-value lists are read for their
``line_no`` and then dropped.

:func:`build_data_docs` renders GX Data Docs for a night's outcomes in a
file-backed context; the results it renders hold counts and percentages only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ridni.contracts import LINE_NO, Contract
from ridni.ingest.parse import ROW, Problem
from ridni.standardise import rnokpp

os.environ["GX_ANALYTICS_ENABLED"] = "false"  # no network here, and none wanted in production
log = logging.getLogger(__name__)

MAX_AGE_YEARS = 110
DEFAULT_MAX_BAD_ROW_SHARE = 0.10
DEFAULT_MAX_VOLUME_CHANGE = 0.50
MIN_ROWS_FOR_SHARE = 20  # below this, a file's bad rows are quarantined one by one, never the whole file
SITE = "ridni"

# Helper columns computed (vectorised) beside the canonical fields for the suite to check.
BIRTH_EARLIEST = "_birth_earliest"      # birth_date as a date (partial dates: their first day)
EXTRACT_DATE = "_extract_date"
CHANGED_ON = "_changed_on"              # changed_at as a local calendar date
AGE = "_age_at_extract"
RNOKPP_OK = "_rnokpp_check_digit_ok"    # ridni.standardise.rnokpp.check_series, NA where no RNOKPP
RNOKPP_BIRTH_OK = "_rnokpp_birth_date_ok"
RNOKPP_SEX_OK = "_rnokpp_sex_ok"

# Disagreements inside a record that still identifies someone: the row loads, flagged with these names.
RNOKPP_PATTERN = "pattern(rnokpp)"
FLAGS = ("rnokpp_check_digit", "rnokpp_birth_date", "rnokpp_sex", RNOKPP_PATTERN)
FLAG_MOSTLY = 0.99  # share of rows a flag's expectation wants in agreement (GX's ``mostly``)

# The only entries of an expectation's GX result that are kept: counts and percentages (the rest, e.g. the
# unexpected-value lists, holds values from the file).
_RESULT_KEEP = {
    "element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent",
    "unexpected_percent_total", "unexpected_percent_nonmissing",
}
_TABLE_LEVEL = {"expect_table_row_count_to_equal", "expect_table_row_count_to_be_between"}
_PARSE_EQUIVALENT = {
    "required value missing": "required", "value outside the allowed set": "allowed",
    "does not match the pattern": "pattern",
}


@dataclass
class Check:
    """One expectation of a suite, with the name its failures carry in quarantine and the summary."""

    name: str
    expectation: str  # GX class name
    kwargs: dict
    description: str
    row_level: bool = True
    flag: bool = False  # a row that fails it loads, flagged (FLAGS), instead of going to quarantine


@dataclass
class ValidationOutcome:
    source_id: str
    suite_name: str
    file_name: str | None
    extract_date: dt.date | None
    rows_evaluated: int
    success: bool
    row_failures: dict[int, list[str]] = field(default_factory=dict)
    row_flags: dict[int, list[str]] = field(default_factory=dict)  # line_no -> FLAGS: loaded, flagged
    drop_failures: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)  # the GX validation result, values stripped

    @property
    def rows_failed(self) -> int:
        return len(self.row_failures)

    @property
    def bad_row_share(self) -> float:
        return self.summary.get("bad_row_share", 0.0)

    @classmethod
    def from_summary(cls, summary: dict) -> ValidationOutcome:
        """Rebuild an outcome (without row failures) from the summary kept in ``audit.validation``."""
        night = summary.get("extract_date")
        return cls(
            source_id=summary["source_id"], suite_name=summary["suite"], file_name=summary.get("file_name"),
            extract_date=dt.date.fromisoformat(night) if night else None, rows_evaluated=summary.get("rows", 0),
            success=summary.get("success", False), drop_failures=list(summary.get("drop_failures", [])),
            summary=summary, result=summary.get("gx_result") or {},
        )


# ------------------------------------------------------------------------------------------ GX context
_GX: dict[str, Any] = {}


def _gx():
    """Great Expectations, imported once (it takes seconds), with its per-batch fingerprint turned off."""
    if "gx" not in _GX:
        import great_expectations as gx
        import great_expectations.execution_engine.pandas_execution_engine as pandas_engine

        # GX hashes every in-memory frame under 1 GB for a batch marker: a second per 500k rows, twice
        # per validation, for a fingerprint nobody reads. A threshold of 0 skips it.
        if hasattr(pandas_engine, "HASH_THRESHOLD"):
            pandas_engine.HASH_THRESHOLD = 0
        _GX["gx"] = gx
    return _GX["gx"]


def _context():
    if "context" not in _GX:
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _GX["context"] = ctx
        _GX["source"] = ctx.data_sources.add_pandas("ridni")
        _GX["batches"] = {}
    return _GX["context"]


def _batch_definition(source_id: str):
    _context()
    batches = _GX["batches"]
    if source_id not in batches:
        asset = _GX["source"].add_dataframe_asset(source_id)
        batches[source_id] = asset.add_batch_definition_whole_dataframe("whole_file")
    return batches[source_id]


# ------------------------------------------------------------------------------------------ the suite
def suite_name(contract: Contract) -> str:
    return f"ridni.{contract.source_id}"


# The suite's parameters (GX suite parameters, ``{"$PARAMETER": name}``): what changes night by night.
MANIFEST_ROWS = "manifest_rows"  # the row count the manifest declares (None: no declaration, no bound)
VOLUME_MIN, VOLUME_MAX = "volume_min", "volume_max"  # the bounds from the previous drop (None: unbounded)
MAX_AGE = "max_age_years"


def checks(contract: Contract, *, file_column: str | None = None) -> list[Check]:
    """The expectations of a source's suite, from its contract: the same every night; the night's values
    (the manifest's row count, the bounds from the previous drop, the oldest plausible age) are suite
    parameters (:func:`suite_parameters`).

    ``file_column``: the batch holds several files, told apart by this column; the key is unique within
    each file, as it is for a batch of one file.
    """
    out: list[Check] = []
    fields = contract.fields
    for c in contract.columns:
        if c.required:
            out.append(Check(f"required({c.field})", "ExpectColumnValuesToNotBeNull", {"column": c.field},
                             f"`{c.source}` is required"))
    for f in contract.derived:
        out.append(Check(f"required({f})", "ExpectColumnValuesToNotBeNull", {"column": f},
                         f"{f} is derived from {contract.derived[f]!r} and must be complete"))
    for c in contract.columns:
        if c.allowed is not None:
            out.append(Check(f"allowed({c.field})", "ExpectColumnValuesToBeInSet",
                             {"column": c.field, "value_set": c.allowed_values},
                             f"`{c.source}` is one of the contract's values (mapped to canonical tokens)"))
        elif c.pattern and c.type == "string":
            name = f"pattern({c.field})"
            out.append(_flagged(Check(name, "ExpectColumnValuesToMatchRegex", {"column": c.field, "regex": c.pattern},
                                      f"`{c.source}` matches `{c.pattern}`"), name in FLAGS))
    birth = contract.column("birth_date")
    if birth is not None:
        regex = r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$" if birth.type == "partial_date" else r"^\d{4}-\d{2}-\d{2}$"
        out.append(Check("birth_date_format", "ExpectColumnValuesToMatchRegex",
                         {"column": "birth_date", "regex": regex}, "birth date in ISO form"))
    key = list(contract.key)
    if file_column is not None:
        out.append(Check(f"unique({'+'.join(key)})", "ExpectCompoundColumnsToBeUnique",
                         {"column_list": [file_column, *key]}, f"({', '.join(key)}) is unique within the file"))
    elif len(key) == 1:
        out.append(Check(f"unique({key[0]})", "ExpectColumnValuesToBeUnique", {"column": key[0]},
                         f"{key[0]} is unique within the file"))
    else:
        out.append(Check(f"unique({'+'.join(key)})", "ExpectCompoundColumnsToBeUnique", {"column_list": key},
                         f"({', '.join(key)}) is unique within the file"))

    # dates in order: birth <= disappearance <= registration <= extract date
    chain = [(f, col) for f, col in (("birth_date", BIRTH_EARLIEST), ("disappeared_on", "disappeared_on"),
                                     ("registered_on", "registered_on")) if f in fields]
    chain.append(("extract_date", EXTRACT_DATE))
    pairs = [(chain[i], chain[j]) for i in range(len(chain)) for j in range(i + 1, len(chain))]
    if "status_date" in fields:
        if "birth_date" in fields:
            pairs.append((("birth_date", BIRTH_EARLIEST), ("status_date", "status_date")))
        pairs.append((("status_date", "status_date"), ("extract_date", EXTRACT_DATE)))
    if "changed_at" in fields:
        pairs.append((("changed_at", CHANGED_ON), ("extract_date", EXTRACT_DATE)))
    for (a, col_a), (b, col_b) in pairs:
        out.append(Check(f"date_order({a}<={b})", "ExpectColumnPairValuesAToBeGreaterThanB",
                         {"column_A": col_b, "column_B": col_a, "or_equal": True,
                          "ignore_row_if": "either_value_is_missing"},
                         f"{a} is not after {b}"))
    if "birth_date" in fields:
        out.append(Check("plausible_age", "ExpectColumnValuesToBeBetween",
                         {"column": AGE, "min_value": 0, "max_value": {"$PARAMETER": MAX_AGE}},
                         "age at the extract date between 0 and the oldest plausible age"))
    if "rnokpp" in fields:
        out.append(_flagged(Check("rnokpp_check_digit", "ExpectColumnValuesToBeInSet",
                                  {"column": RNOKPP_OK, "value_set": [True]}, "RNOKPP check digit is right")))
        if "birth_date" in fields:
            out.append(_flagged(Check("rnokpp_birth_date", "ExpectColumnValuesToBeInSet",
                                      {"column": RNOKPP_BIRTH_OK, "value_set": [True]},
                                      "the birth date RNOKPP encodes is the record's (within a partial date)")))
        if "sex" in fields:
            out.append(_flagged(Check("rnokpp_sex", "ExpectColumnValuesToBeInSet",
                                      {"column": RNOKPP_SEX_OK, "value_set": [True]},
                                      "the sex RNOKPP encodes is the record's")))
    out.append(Check("row_count_equals_manifest", "ExpectTableRowCountToBeBetween",
                     {"min_value": {"$PARAMETER": MANIFEST_ROWS}, "max_value": {"$PARAMETER": MANIFEST_ROWS}},
                     "as many rows as the manifest declares", row_level=False))
    out.append(Check("volume_change_within_bound", "ExpectTableRowCountToBeBetween",
                     {"min_value": {"$PARAMETER": VOLUME_MIN}, "max_value": {"$PARAMETER": VOLUME_MAX}},
                     "row count within the bound of the previous drop's", row_level=False))
    return out


def suite_parameters(*, manifest_rows: int | None = None, previous_rows: int | None = None,
                     max_volume_change: float = DEFAULT_MAX_VOLUME_CHANGE,
                     max_age_years: float = MAX_AGE_YEARS) -> dict:
    """The night's values of the suite's parameters; None leaves a bound open (no manifest count, a first
    drop, a source whose size varies by nature)."""
    low = high = None
    if previous_rows:
        # the whole row counts n with |n / previous - 1| <= max_volume_change (the 1e-9: float rounding)
        low = max(math.ceil(previous_rows * (1 - max_volume_change) - 1e-9), 0)
        high = math.floor(previous_rows * (1 + max_volume_change) + 1e-9)
    return {MANIFEST_ROWS: None if manifest_rows is None else int(manifest_rows), VOLUME_MIN: low,
            VOLUME_MAX: high, MAX_AGE: max_age_years}


def _flagged(check: Check, flag: bool = True) -> Check:
    """``check`` as a flag: its failing rows load, flagged; GX wants ``mostly`` FLAG_MOSTLY of rows to pass."""
    if flag:
        check.flag = True
        check.kwargs = {**check.kwargs, "mostly": FLAG_MOSTLY}
        check.description += f" (a flag: the row loads, flagged; expected of {FLAG_MOSTLY:.0%} of rows)"
    return check


def build_suite(contract: Contract, check_list: list[Check] | None = None, *, file_column: str | None = None):
    """The GX expectation suite of a source: one per contract (and batch shape), built once per process."""
    check_list = check_list if check_list is not None else checks(contract, file_column=file_column)
    key = json.dumps([suite_name(contract), [(c.name, c.expectation, c.kwargs) for c in check_list]],
                     sort_keys=True, default=str)
    suites = _GX.setdefault("suites", {})
    if key not in suites:
        gx = _gx()
        import great_expectations.expectations as gxe

        # expectations given to the constructor: add_expectation on a suite whose name is in a store saves
        # the whole suite once per expectation
        suites[key] = gx.ExpectationSuite(name=suite_name(contract), expectations=[
            getattr(gxe, chk.expectation)(**chk.kwargs, meta={"ridni_check": chk.name}, description=chk.description)
            for chk in check_list
        ])
    return suites[key]


# ------------------------------------------------------------------------------------------ the frame
def _unpack_attributes(rows: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
    """Attribute fields from the ``attributes`` JSON, for frames that do not carry them as columns."""
    if not wanted or "attributes" not in rows:
        return pd.DataFrame(index=rows.index)
    parsed = [json.loads(a) if isinstance(a, str) else (a or {}) for a in rows["attributes"]]
    return pd.DataFrame({f: [p.get(f) for p in parsed] for f in wanted}, index=rows.index)


def working_frame(contract: Contract, rows: pd.DataFrame, extract_date: dt.date | None,
                  file_column: str | None = None) -> pd.DataFrame:
    """The canonical fields the suite reads, plus its helper columns (all vectorised)."""
    fields = contract.fields
    cols = [LINE_NO] + ([file_column] if file_column else []) + [f for f in fields if f in rows.columns]
    frame = rows[cols].reset_index(drop=True).copy()
    missing = [f for f in fields if f not in rows.columns]
    if missing:
        extra = _unpack_attributes(rows.reset_index(drop=True), missing)
        for f in missing:
            frame[f] = extra[f] if f in extra else None
    if "birth_date" in fields:
        b = frame["birth_date"].astype("str")
        padded = b.where(b.str.len() != 4, b + "-01-01")
        padded = padded.where(padded.str.len() != 7, padded + "-01")
        frame[BIRTH_EARLIEST] = pd.to_datetime(padded, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
        if extract_date is not None:
            age_days = (pd.Timestamp(extract_date) - frame[BIRTH_EARLIEST]).dt.days
            frame[AGE] = age_days / 365.2425
        else:  # no night to measure against: no age, nothing to check
            frame[AGE] = np.nan
    for f in ("status_date", "disappeared_on", "registered_on"):
        if f in fields:
            frame[f] = pd.to_datetime(frame[f], errors="coerce").astype("datetime64[us]")
    frame[EXTRACT_DATE] = pd.Timestamp(extract_date).as_unit("us") if extract_date is not None \
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    if "changed_at" in fields:
        moment = pd.to_datetime(frame["changed_at"], errors="coerce", utc=True)
        frame[CHANGED_ON] = moment.dt.tz_convert(contract.timezone).dt.tz_localize(None).dt.normalize() \
            .astype("datetime64[us]")
    if "rnokpp" in fields:
        number = frame["rnokpp"].astype("str")
        present = number.notna().to_numpy()
        # only the rows with a number are checked: check_series takes a row-by-row path for missing numbers,
        # and its verdicts on them are fixed (not valid, birth date and sex unknown); every verdict depends
        # on its own row only
        checked = rnokpp.check_series(number[present], _birth_dates(frame[present]) if "birth_date" in fields
                                      else None, frame["sex"][present] if "sex" in fields else None)
        valid = np.zeros(len(frame), dtype=bool)
        valid[present] = checked["valid"].to_numpy()
        frame[RNOKPP_OK] = pd.array(valid, dtype="boolean")
        frame.loc[~present, RNOKPP_OK] = pd.NA
        for col, verdict, wanted in ((RNOKPP_BIRTH_OK, "birth_date_matches", "birth_date" in fields),
                                     (RNOKPP_SEX_OK, "sex_matches", "sex" in fields)):
            if wanted:
                full = pd.array(np.zeros(len(frame), dtype=bool), dtype="boolean")
                full[~present] = pd.NA
                full[present] = checked[verdict].array
                frame[col] = full.to_numpy()
    return frame


def _birth_dates(frame: pd.DataFrame) -> pd.Series:
    """The birth dates for the RNOKPP check: as dates when every one is a full ISO date that parsed (the
    parser writes full dates so), which the check reads as it reads their text, without parsing it again;
    else the text."""
    text, day = frame["birth_date"], frame[BIRTH_EARLIEST]
    # within datetime64[ns]' years, where the check's own parser reads every full date
    ok = text.isna() | ((text.str.len() == 10) & day.notna() & (day.dt.year > 1677) & (day.dt.year < 2262))
    return day if ok.all() else text


# ------------------------------------------------------------------------------------------ validation
def _strip_result(result: dict) -> dict:
    """A GX suite result with every value from the file removed: counts and percentages only."""
    out = dict(result)
    stripped = []
    for r in result.get("results", []):
        r = dict(r)
        cfg = r.get("expectation_config") or {}
        kept = {k: v for k, v in (r.get("result") or {}).items() if k in _RESULT_KEEP}
        if cfg.get("type") in _TABLE_LEVEL and "observed_value" in (r.get("result") or {}):
            kept["observed_value"] = r["result"]["observed_value"]  # a row count
        r["result"] = kept
        info = r.get("exception_info") or {}
        raised = bool(info.get("raised_exception")) if isinstance(info, dict) else False
        r["exception_info"] = {"raised_exception": raised, "exception_traceback": None,
                               "exception_message": "exception withheld (see the task log)" if raised else None}
        stripped.append(r)
    out["results"] = stripped
    return json.loads(json.dumps(out, default=str))


def _check_of(result) -> str:
    meta = result.expectation_config.meta or {}
    return meta.get("ridni_check") or result.expectation_config.type


def validate(contract: Contract, rows: pd.DataFrame, *, extract_date: dt.date | None = None,
             manifest_rows: int | None = None, previous_rows: int | None = None,
             problems: list[Problem] | tuple = (), max_bad_row_share: float = DEFAULT_MAX_BAD_ROW_SHARE,
             max_volume_change: float = DEFAULT_MAX_VOLUME_CHANGE, max_age_years: float = MAX_AGE_YEARS,
             min_rows_for_share: int = MIN_ROWS_FOR_SHARE, file_name: str | None = None,
             file_column: str | None = None, rows_unchanged: int = 0) -> ValidationOutcome:
    """Validate one parsed file, or the files of a drop together; see :class:`ValidationOutcome`.

    ``extract_date`` is the night of the drop; ``manifest_rows`` the row count its manifest declares;
    ``previous_rows`` the previous drop's row count (volume change within ``max_volume_change``, a
    share); ``problems`` the parser's row-level problems, merged into the row failures. A file whose
    bad rows exceed ``max_bad_row_share`` (when it has at least ``min_rows_for_share`` rows) fails
    as a whole.

    Several files in one batch (``file_column`` names the column telling them apart): ``rows[LINE_NO]``
    is then a number unique in the batch, which the row failures and flags are keyed by, and the key is
    checked unique within each file; the caller judges each file's row count and share of bad rows.

    ``rows_unchanged``: lines of the file left out of ``rows`` because they are the previous snapshot's,
    which loaded them (:mod:`ridni.ingest.snapshot_lines`). They count in the file's row count (against
    the manifest and the previous drop) and in the share of bad rows, as rows that passed.

    In four parts: :func:`_run` (the source's one suite with the night's parameters), :func:`_row_verdicts`
    (which lines failed or are flagged), :func:`_drop_verdict` (from GX's own table-level results and the
    share of bad rows) and :func:`_summary`.
    """
    n = len(rows) + rows_unchanged
    check_list = checks(contract, file_column=file_column)
    by_name = {c.name: c for c in check_list}
    params = suite_parameters(manifest_rows=manifest_rows, previous_rows=previous_rows,
                              max_volume_change=max_volume_change, max_age_years=max_age_years)
    if rows_unchanged:  # GX counts the rows it is given: the file's bounds less the unchanged lines
        for bound in (MANIFEST_ROWS, VOLUME_MIN, VOLUME_MAX):
            if params[bound] is not None:
                params[bound] -= rows_unchanged
        if params[VOLUME_MIN] is not None:
            params[VOLUME_MIN] = max(params[VOLUME_MIN], 0)
    batch, first = _run(contract, rows, extract_date, check_list, params, file_column)
    detail_cap = n if n < min_rows_for_share else max(1, int(max_bad_row_share * n))
    failures, flags, uncounted = _row_verdicts(contract, batch, first, by_name, params, detail_cap, problems)
    bad_rows = max(len(failures), uncounted)
    share = bad_rows / n if n else 0.0
    drop_failures = _drop_verdict(contract, first, n=n, bad_rows=bad_rows, manifest_rows=manifest_rows,
                                  previous_rows=previous_rows, max_volume_change=max_volume_change,
                                  max_bad_row_share=max_bad_row_share, min_rows_for_share=min_rows_for_share,
                                  rows_unchanged=rows_unchanged)
    result = _strip_result(first.to_json_dict())
    success = not drop_failures and not failures
    summary = _summary(contract, result, file_name=file_name, extract_date=extract_date, n=n, success=success,
                       problems=problems, failures=failures, flags=flags, bad_rows=bad_rows, share=share,
                       max_bad_row_share=max_bad_row_share, manifest_rows=manifest_rows,
                       previous_rows=previous_rows, drop_failures=drop_failures)
    summary["rows_unchanged"] = rows_unchanged
    return ValidationOutcome(
        source_id=contract.source_id, suite_name=suite_name(contract), file_name=file_name,
        extract_date=extract_date, rows_evaluated=n, success=success, row_failures=failures, row_flags=flags,
        drop_failures=drop_failures, summary=summary, result=result,
    )


def _run(contract: Contract, rows: pd.DataFrame, extract_date: dt.date | None, check_list: list[Check],
         params: dict, file_column: str | None):
    """The batch (the columns the expectations read) and GX's first pass over it: counts only."""
    frame = working_frame(contract, rows, extract_date, file_column)
    # only the columns the expectations read (and the line number that names a failed row): GX copies
    # its batch's columns as it works, and the results do not depend on the other columns
    read = {LINE_NO}
    for chk in check_list:
        read.update(chk.kwargs[k] for k in ("column", "column_A", "column_B") if k in chk.kwargs)
        read.update(chk.kwargs.get("column_list", ()))
    frame = frame[[c for c in frame.columns if c in read]]
    _context()
    suite = build_suite(contract, check_list)
    batch = _batch_definition(contract.source_id).get_batch(batch_parameters={"dataframe": frame})
    return batch, batch.validate(suite, result_format={"result_format": "BASIC"}, expectation_parameters=params)


def _row_verdicts(contract: Contract, batch, first, by_name: dict[str, Check], params: dict, detail_cap: int,
                  problems) -> tuple[dict[int, list[str]], dict[int, list[str]], int]:
    """Which lines failed (line -> reasons) and which load flagged (line -> flags), and how many failing
    rows went uncounted by line (too many to matter one by one: the drop fails on its share).

    A second GX pass, ``result_format`` COMPLETE with ``unexpected_index_column_names`` ``[line_no]``,
    only for the failed row-level expectations whose failures are few enough to matter row by row (and
    the flags that found anything); the parser's problems join them.
    """
    none = Check("", "", {}, "")

    def is_flag(r) -> bool:
        return by_name.get(_check_of(r), none).flag

    wanted = [r for r in first.results
              if not (r.exception_info or {}).get("raised_exception")
              and by_name.get(_check_of(r), none).row_level
              and ((is_flag(r) and (r.result or {}).get("unexpected_count"))
                   or (not is_flag(r) and not r.success
                       and (r.result or {}).get("unexpected_count", 0) <= detail_cap))]
    row_failures: dict[int, set[str]] = {}
    row_flags: dict[int, set[str]] = {}
    uncounted = 0
    for r in first.results:
        chk = by_name.get(_check_of(r))
        if not r.success and chk is not None and chk.row_level and not chk.flag and r not in wanted:
            uncounted = max(uncounted, int((r.result or {}).get("unexpected_count") or 0))
    if wanted:
        gx = _gx()
        import great_expectations.expectations as gxe

        detail = gx.ExpectationSuite(name=f"{suite_name(contract)}.rows", expectations=[
            getattr(gxe, by_name[_check_of(r)].expectation)(**by_name[_check_of(r)].kwargs,
                                                            meta={"ridni_check": _check_of(r)})
            for r in wanted
        ])
        second = batch.validate(detail, expectation_parameters=params, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [LINE_NO],
            "return_unexpected_index_query": False, "partial_unexpected_count": 0,
        })
        for r in second.results:
            name = _check_of(r)
            into = row_flags if by_name[name].flag else row_failures
            for item in (r.result or {}).get("unexpected_index_list") or []:
                line = item.get(LINE_NO) if isinstance(item, dict) else None
                if line is not None:
                    into.setdefault(int(line), set()).add(name)

    for p in problems:
        label = _problem_label(p)
        (row_flags if label in FLAGS else row_failures).setdefault(int(p.line_no), set()).add(label)
    # a row quarantined for another reason names its flags among its reasons too
    failures = {line: sorted(names | row_flags.get(line, set())) for line, names in sorted(row_failures.items())}
    flags = {line: sorted(names) for line, names in sorted(row_flags.items()) if line not in failures}
    return failures, flags, uncounted


def _problem_label(p: Problem) -> str:
    """A parse problem under the name of the expectation it stands for (a required value missing is
    ``required(field)``), else as a parse problem of its own."""
    if p.field == ROW:
        return f"malformed_row: {p.reason}"
    equivalent = _PARSE_EQUIVALENT.get(p.reason)
    return f"{equivalent}({p.field})" if equivalent else f"parse({p.field}): {p.reason}"


def _drop_verdict(contract: Contract, first, *, n: int, bad_rows: int, manifest_rows: int | None,
                  previous_rows: int | None, max_volume_change: float, max_bad_row_share: float,
                  min_rows_for_share: int, rows_unchanged: int = 0) -> list[str]:
    """Why the drop fails as a whole: an expectation GX could not evaluate, GX's own table-level results
    (the row count against the manifest's, the volume against the previous drop's), a share of bad rows
    over the threshold."""
    out: list[str] = []
    table_failed: dict[str, int] = {}
    for r in first.results:
        if (r.exception_info or {}).get("raised_exception"):
            # the message may quote values: only the expectation and the exception's class go to the log
            message = str((r.exception_info or {}).get("exception_message") or "")
            log.warning("%s: expectation %s could not be evaluated (%s)", contract.source_id, _check_of(r),
                        message.split(":")[0][:80])
            out.append(f"expectation {_check_of(r)} could not be evaluated")
        elif r.expectation_config.type in _TABLE_LEVEL and not r.success:
            table_failed[_check_of(r)] = int((r.result or {}).get("observed_value", n - rows_unchanged)) + rows_unchanged
    if "row_count_equals_manifest" in table_failed:
        out.append(f"row count {table_failed['row_count_equals_manifest']} differs from the manifest's "
                   f"{manifest_rows}")
    if "volume_change_within_bound" in table_failed:
        observed = table_failed["volume_change_within_bound"]
        out.append(f"row count {observed} is {observed / previous_rows - 1:+.0%} against the previous drop's "
                   f"{previous_rows} (bound ±{max_volume_change:.0%})")
    share = bad_rows / n if n else 0.0
    if share > max_bad_row_share and n >= min_rows_for_share:
        out.append(f"{bad_rows} of {n} rows ({share:.1%}) failed validation, over the "
                   f"{max_bad_row_share:.0%} threshold")
    return out


def _summary(contract: Contract, result: dict, *, file_name: str | None, extract_date: dt.date | None, n: int,
             success: bool, problems, failures: dict, flags: dict, bad_rows: int, share: float,
             max_bad_row_share: float, manifest_rows: int | None, previous_rows: int | None,
             drop_failures: list[str]) -> dict:
    """What ``audit.validation`` keeps of a validation: counts, rule names and GX's stripped result."""
    parse_counts: dict[str, int] = {}
    for p in problems:
        label = _problem_label(p)
        parse_counts[label] = parse_counts.get(label, 0) + 1
    expectations = []
    for r in result["results"]:
        cfg = r["expectation_config"]
        kw = cfg.get("kwargs", {})
        entry = {
            "name": (cfg.get("meta") or {}).get("ridni_check", cfg["type"]),
            "expectation": cfg["type"],
            "success": r["success"],
            "unexpected_count": r["result"].get("unexpected_count"),
            "unexpected_percent": r["result"].get("unexpected_percent"),
        }
        for k in ("column", "column_list", "column_A", "column_B"):
            if k in kw:
                entry[k] = kw[k]
        if "observed_value" in r["result"]:
            entry["observed_value"] = r["result"]["observed_value"]
        if r["exception_info"]["raised_exception"]:
            entry["raised_exception"] = True
        expectations.append(entry)
    stats = result.get("statistics", {})
    return {
        "suite": suite_name(contract),
        "source_id": contract.source_id,
        "file_name": file_name,
        "extract_date": extract_date.isoformat() if extract_date else None,
        "rows": n,
        "success": success,
        "gx_success": bool(result.get("success")),
        "evaluated_expectations": stats.get("evaluated_expectations"),
        "successful_expectations": stats.get("successful_expectations"),
        "unexpected_counts": {e["name"]: e["unexpected_count"] for e in expectations
                              if e.get("unexpected_count")},
        "expectations": expectations,
        "parse_problems": parse_counts,
        "rows_failed": bad_rows,
        "rows_flagged": len(flags),
        "flag_counts": {name: sum(name in names for names in flags.values()) for name in FLAGS
                        if any(name in names for names in flags.values())},
        "bad_row_share": round(share, 6),
        "max_bad_row_share": max_bad_row_share,
        "manifest_rows": manifest_rows,
        "previous_rows": previous_rows,
        "drop_failures": drop_failures,
        "gx_result": result,
    }


def quality_flags(line_no: pd.Series, row_flags: dict[int, list[str]]) -> pd.Series:
    """Each row's flags as the PostgreSQL array literal ``quality_flags`` takes (``{}`` for none)."""
    text = {line: "{" + ",".join(f'"{name}"' for name in names) + "}" for line, names in row_flags.items()}
    return line_no.map(text).fillna("{}").astype(object)


# ------------------------------------------------------------------------------------------ Data Docs
def _view(name: str) -> dict:
    return {"module_name": "ridni.ingest.gx_views", "class_name": name}


def _docs_context(docs_dir: Path):
    gx = _gx()
    docs_dir.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str((docs_dir / "site").resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _view("CachedIndexPageView")},
        "site_section_builders": {section: {"view": _view("CachedPageView")}
                                  for section in ("expectations", "validations", "profiling")},
    }
    sites = ctx.variables.data_docs_sites or {}
    if sites.get(SITE) != site or set(sites) != {SITE}:
        ctx.variables.data_docs_sites = {SITE: site}
        ctx.variables.save()
        ctx = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    return ctx


# GX's own site holds the validations of the last week: its index is rebuilt, every time, over the
# validations its store holds, so the store keeps a week and the night's docs cost the same after a
# year as in the first week (GX takes an older night's pages off its site with its results). Every
# night's validation stays in audit.validation and in ridni's own pages (ridni.ingest.docs), which
# list every night.
GX_SITE_NIGHTS = 7


def build_data_docs(outcomes: list[ValidationOutcome], docs_dir: str | os.PathLike) -> str:
    """Render Data Docs for the given validations under ``docs_dir``; return the index page's path.

    The results rendered are the stripped ones of :class:`ValidationOutcome` (counts and percentages,
    no unexpected values). Only these validations' pages (and their suites' pages) and the index are
    written: GX's ``resource_identifiers`` limit the build to them, and the store keeps the last
    :data:`GX_SITE_NIGHTS` nights' results (GX's site holds those), so a night's docs cost the same
    after a year of nights as in the first week. The week's earlier pages stay as they were.
    """
    gx = _gx()
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    docs_dir = Path(docs_dir)
    ctx = _docs_context(docs_dir)
    built: list = []
    for o in outcomes:
        if not o.result:
            continue
        result = expectationSuiteValidationResultSchema.load(_strip_result(o.result))
        configs = [ExpectationConfiguration(**{k: v for k, v in r["expectation_config"].items()
                                               if k in ("type", "kwargs", "meta", "description")})
                   for r in o.result.get("results", [])]
        suite = gx.ExpectationSuite(name=o.suite_name, expectations=[c.to_domain_obj() for c in configs])
        ctx.suites.add_or_update(suite)
        night = o.extract_date or dt.date.today()
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=o.suite_name),
            run_id=RunIdentifier(run_name=f"{o.source_id}-{night.isoformat()}",
                                 run_time=dt.datetime.combine(night, dt.time(0), tzinfo=dt.UTC)),
            batch_identifier=o.file_name or o.source_id,
        )
        ctx.validation_results_store.set(key, result)
        built += [key, key.expectation_suite_identifier]
    if built:
        latest = max(o.extract_date or dt.date.today() for o in outcomes if o.result)
        _keep_recent_results(ctx, latest - dt.timedelta(days=GX_SITE_NIGHTS - 1))
        ctx.build_data_docs(site_names=[SITE], resource_identifiers=built)
        # GX removes a result's file and page but not their folders, and walks every folder when it
        # lists its keys: without this, each night would cost a little more than the one before
        for folder in (docs_dir / "gx" / "uncommitted" / "validations", docs_dir / "site" / "validations"):
            _remove_empty_folders(folder)
    return str((docs_dir / "site" / "index.html").resolve())


def _remove_empty_folders(root: Path) -> None:
    for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):  # deepest first
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)


def _keep_recent_results(ctx, oldest: dt.date) -> None:
    """Remove the stored validation results of nights before ``oldest``."""
    store = ctx.validation_results_store
    for key in store.list_keys():
        run_time = getattr(key.run_id, "run_time", None)
        if run_time is not None and run_time.date() < oldest:
            store.remove_key(key)
