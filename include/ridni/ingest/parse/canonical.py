"""Delivered text to the canonical record: each column converted once per distinct value, constants and
derived fields added, the non-core fields as one JSON object (``attributes``)."""

from __future__ import annotations

import json
import re
import string

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ridni.contracts import CORE_FIELDS, LINE_NO, Column, Contract
from ridni.ingest.parse.common import ROW, Problem

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


_TZ_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def _problems(problems: list[Problem], line_no: np.ndarray, mask, fld: str, reason: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        problems.extend(Problem(int(n), fld, reason) for n in line_no[mask])


def _to_date(s: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(s, format=fmt, errors="coerce").astype("datetime64[us]")


def _convert_unique(contract: Contract, c: Column, u: pd.Series) -> tuple[pd.Series, np.ndarray, str | None]:
    """Convert the distinct delivered values of a column: (converted, bad mask, reason for the bad)."""
    storage = CORE_FIELDS.get(c.field)
    present = u.notna().to_numpy()
    if c.allowed is not None:
        mapping = {k.lower(): v for k, v in c.allowed.items()} if c.type == "boolean" else c.allowed
        key = u.str.lower() if c.type == "boolean" else u
        mapped = key.map(mapping)
        bad = present & mapped.isna().to_numpy()
        return mapped.where(~bad, u).astype("str"), bad, "value outside the allowed set"
    if c.type == "string":
        if c.pattern:
            ok = u.str.fullmatch(c.pattern).fillna(False).to_numpy(dtype=bool)
            return u, present & ~ok, "does not match the pattern"
        return u, np.zeros(len(u), dtype=bool), None
    if c.type in ("date", "excel_date"):
        fmt = c.format or contract.date_format
        d = _to_date(u, fmt)
        if c.type == "excel_date":
            iso = _to_date(u, "%Y-%m-%d")
            d = iso.where(iso.notna(), d)
        bad = present & d.isna().to_numpy()
        shown = fmt if c.type == "date" else f"an Excel date, or text in {fmt}"
        if storage == "birth":
            return d.dt.strftime("%Y-%m-%d").astype("str"), bad, f"not a date ({shown})"
        return d, bad, f"not a date ({shown})"
    if c.type == "partial_date":
        parts = u.str.extract(_PARTIAL_DATE)
        y, m, day = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
        full = _to_date(u.where(day.notna()), "%Y-%m-%d")
        ok = (y.notna() & (y >= 1) & (m.isna() | m.between(1, 12)) & (day.isna() | full.notna())).to_numpy()
        bad = present & ~ok
        return u.mask(bad), bad, "not a date (YYYY-MM-DD, YYYY-MM or YYYY)"
    if c.type == "timestamp":
        aware = u.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
        out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us, UTC]")
        if aware.any():
            out[aware] = pd.to_datetime(u[aware], format="ISO8601", utc=True, errors="coerce")
        naive = ~aware & present
        if naive.any():
            local = pd.to_datetime(u[naive], format="ISO8601", errors="coerce")
            local = local.dt.tz_localize(contract.timezone, ambiguous=np.ones(len(local), dtype=bool),
                                         nonexistent="shift_forward")
            out[naive] = local.dt.tz_convert("UTC")
        return out, present & out.isna().to_numpy(), "not an ISO 8601 timestamp"
    if c.type in ("integer", "decimal"):
        n = pd.to_numeric(u, errors="coerce").astype("float64")
        ok = n.notna() & np.isfinite(n)
        if c.type == "integer":
            ok &= n % 1 == 0
        if c.pattern:
            ok &= u.str.fullmatch(c.pattern).fillna(False)
        bad = present & ~ok.to_numpy()
        n = n.where(ok)
        return (n.astype("Int64") if c.type == "integer" else n.astype("Float64"), bad,
                "not an integer" if c.type == "integer" else "not a number")
    if c.type == "boolean":
        b = u.str.lower().map({"true": True, "false": False})
        return b.astype("boolean"), present & b.isna().to_numpy(), "not true or false"
    raise AssertionError(c.type)


def _convert(contract: Contract, c: Column, s: pd.Series, line_no: np.ndarray, problems: list[Problem],
             skip: np.ndarray) -> pd.Series:
    """One column, from delivered text to its canonical type; problems for what does not convert.

    Work is done once per distinct value (dates, codes and names repeat a lot) and spread back by code.
    """
    s = s.astype("str").str.strip()
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniq, dtype="str")
    u = u.mask(u == "")
    u = pd.concat([u, pd.Series([None], dtype="str")], ignore_index=True)  # the slot of missing values
    codes = np.where(codes < 0, len(u) - 1, codes)
    missing = u.isna().to_numpy()[codes]
    if c.required:
        _problems(problems, line_no, missing & ~skip, c.field, "required value missing")
    converted, bad_u, reason = _convert_unique(contract, c, u)
    if reason is not None:
        _problems(problems, line_no, bad_u[codes] & ~skip, c.field, reason)
    return converted.take(codes).reset_index(drop=True)


def _derive(template: str, values: dict[str, pd.Series], line_no: np.ndarray) -> pd.Series:
    n = len(line_no)
    out = pd.Series([""] * n, dtype="str")
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is not None:
            part = pd.Series(line_no.astype(str), dtype="str") if name == LINE_NO else \
                values[name].astype("str").reset_index(drop=True)
            out = out + part
    return out


def _canonical(contract: Contract, raw: dict[str, pd.Series], line_no: np.ndarray,
               problems: list[Problem], lines: np.ndarray | None = None) -> pd.DataFrame:
    """The canonical rows; problems name each row by ``line_no``. ``lines``: each row's line in its file
    when ``line_no`` numbers the rows of several files (the derived fields and LINE_NO take the line)."""
    n = len(line_no)
    lines = line_no if lines is None else lines
    whole_row = {p.line_no for p in problems if p.field == ROW}
    skip = np.isin(line_no, list(whole_row)) if whole_row else np.zeros(n, dtype=bool)
    values: dict[str, pd.Series] = {}
    for c in contract.columns:
        values[c.field] = _convert(contract, c, raw[c.field].reset_index(drop=True), line_no, problems,
                                   skip).reset_index(drop=True)
    for f, v in contract.constants.items():
        values[f] = pd.Series([v] * n, dtype="str")
    for f, template in contract.derived.items():
        values[f] = _derive(template, values, lines)
        _problems(problems, line_no, values[f].isna().to_numpy() & ~skip, f,
                  "cannot be derived: a field it is made of is missing")

    out = pd.DataFrame({LINE_NO: lines.astype(np.int64)})
    for f in CORE_FIELDS:
        out[f] = values[f] if f in values else pd.Series([None] * n, dtype="object")
    attrs = contract.attribute_fields
    for f in attrs:
        out[f] = values[f]
    out["attributes"] = _attributes_json(out, attrs)
    return out


def _json_text(s: pd.Series) -> pa.Array:
    """Each value as a JSON literal (strings quoted and escaped, missing as null), vectorised: the
    literal of each distinct value is made once (relations, places and phrasings repeat a lot)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s):
        return _large_text(s.map({True: "true", False: "false"}).astype("str").fillna("null"))
    elif pd.api.types.is_numeric_dtype(s):
        return _large_text(s.astype("str").where(s.notna(), "null").astype("str"))
    coded = pc.dictionary_encode(_large_text(s.astype("str")))
    distinct = coded.dictionary
    special = pc.fill_null(pc.match_substring_regex(distinct, r'[\\"\x00-\x1f]'), False)
    if pc.any(special).as_py():  # quotes, backslashes, line ends...: let json spell those values
        spelled = [json.dumps(v, ensure_ascii=False)[1:-1] if bad else v
                   for v, bad in zip(distinct.to_pylist(), special.to_pylist(), strict=True)]
        distinct = pa.array(spelled, type=distinct.type)
    quote = pa.scalar('"', pa.large_string())
    quoted = pc.binary_join_element_wise(quote, distinct, quote, pa.scalar("", pa.large_string()))
    return pc.fill_null(pc.take(quoted, coded.indices), pa.scalar("null", pa.large_string()))


def _large_text(s: pd.Series) -> pa.Array:
    arr = pa.array(s.array)
    return pc.cast(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr, pa.large_string())


def _attributes_json(frame: pd.DataFrame, attrs: list[str]) -> pd.Series:
    """The non-core canonical fields of each row as a JSON object (keys in contract order)."""
    if not attrs or frame.empty:
        return pd.Series(["{}"] * len(frame), dtype="str", index=frame.index)
    parts: list = []
    for i, f in enumerate(attrs):
        parts += [pa.scalar(("{" if i == 0 else ",") + json.dumps(f) + ":", pa.large_string()),
                  _json_text(frame[f].reset_index(drop=True))]
    # one concatenation of every part (adding column by column copies the growing text again and again)
    text = pc.binary_join_element_wise(*parts, pa.scalar("}", pa.large_string()), pa.scalar("", pa.large_string()))
    return pd.Series(text, dtype="str", index=frame.index)
