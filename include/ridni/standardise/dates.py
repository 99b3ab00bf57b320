"""Birth dates as ranges: partial dates stay partial, swapped day and month are candidates.

Why: ICRC sends `YYYY-MM` or `YYYY` when that is all it knows, and clerks swap day and month
(03.05 for 05.03). Inventing a day (the 1st, the 15th) would make two different people look
alike and the same person look different, so a partial date is kept as the range it stands
for (`1985` -> 1985-01-01..1985-12-31, `1985-03` -> 1985-03-01..1985-03-31). A swap is only
a candidate when both numbers are 12 or less and different. `compare_dates` says how two
dates agree, for the linkage comparison levels.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ridni.standardise._vector import is_missing

DAY, MONTH, YEAR = "day", "month", "year"

EXACT = "exact"
SWAPPED = "swapped"
WITHIN_RANGE = "within_range"
YEAR_ONLY = "year_only"
DIFFERENT = "different"
LEVELS = (EXACT, SWAPPED, WITHIN_RANGE, YEAR_ONLY, DIFFERENT)  # best first


class DateRange(NamedTuple):
    start: dt.date
    end: dt.date
    precision: str  # day | month | year

    def contains(self, other: DateRange) -> bool:
        return self.start <= other.start and other.end <= self.end


_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DOTTED = re.compile(r"(?:(\d{1,2})[./])?(\d{1,2})[./](\d{4})")


def _range(year: int, month: int | None, day: int | None) -> DateRange | None:
    try:
        if month is None:
            return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31), YEAR)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return DateRange(dt.date(year, month, 1), dt.date(year, month, last), MONTH)
        d = dt.date(year, month, day)
        return DateRange(d, d, DAY)
    except ValueError:  # month 13, 30 February, year 0: not a date, and not ours to repair
        return None


def parse_partial_date(value: Any) -> DateRange | None:
    """`YYYY-MM-DD`, `YYYY-MM`, `YYYY` (also `DD.MM.YYYY`, `MM.YYYY`, date objects) -> DateRange.

    None for missing or impossible values; never fills in a day or month that was not given.
    """
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        value = value.date()
    if isinstance(value, dt.date):
        return DateRange(value, value, DAY)
    s = str(value).strip()
    if s.endswith(("T00:00:00", " 00:00:00")):
        s = s[:10]
    if m := _ISO.fullmatch(s):
        y, mo, d = m.groups()
        return _range(int(y), int(mo) if mo else None, int(d) if d else None)
    if m := _DOTTED.fullmatch(s):
        d, mo, y = m.groups()
        return _range(int(y), int(mo), int(d) if d else None)
    return None


def swap_candidate(value: Any) -> dt.date | None:
    """The date with day and month exchanged, when both are <= 12 and differ; else None."""
    r = parse_partial_date(value)
    if r is None or r.precision != DAY:
        return None
    d = r.start
    if d.day > 12 or d.day == d.month:
        return None
    return dt.date(d.year, d.day, d.month)


def compare_dates(a: Any, b: Any) -> str | None:
    """How two (possibly partial) dates agree, best first:

    - `exact`: both full dates, equal;
    - `swapped`: both full dates, equal once day and month of one are exchanged;
    - `within_range`: at least one is partial, and one range lies inside the other
      (`1985` and `1985-03-12`; `1985-03` and `1985-03-12`; `1985-03` and `1985-03`);
    - `year_only`: the same year, but month or day disagree;
    - `different`: different years.

    None when either date is missing or invalid.
    """
    ra, rb = parse_partial_date(a), parse_partial_date(b)
    if ra is None or rb is None:
        return None
    if ra.precision == DAY and rb.precision == DAY:
        if ra.start == rb.start:
            return EXACT
        if swap_candidate(ra.start) == rb.start:
            return SWAPPED
    elif ra.contains(rb) or rb.contains(ra):
        return WITHIN_RANGE
    if ra.start.year == rb.start.year:
        return YEAR_ONLY
    return DIFFERENT


# --- column forms ------------------------------------------------------------------------------
# Birth dates repeat (a century has ~36,500 days), so the text is parsed once per distinct
# value and the comparisons run on numpy datetime64[D] arrays.

_PRECISIONS = np.array([None, DAY, MONTH, YEAR], dtype=object)  # index 0: missing or invalid
_NAT = np.datetime64("NaT", "D")


def _float(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def _parse_texts(texts: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """start, end (datetime64[D]) and precision code (0 none, 1 day, 2 month, 3 year) of text dates."""
    s = texts.astype("string").str.strip().str.replace(r"[T ]00:00:00$", "", regex=True)
    parts = s.str.extract(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
    dotted = s.str.extract(r"^(?:(\d{1,2})[./])?(\d{1,2})[./](\d{4})$")
    iso = parts[0].notna()
    year = _float(parts[0].where(iso, dotted[2]))
    month = _float(parts[1].where(iso, dotted[1]))
    day = _float(parts[2].where(iso, dotted[0]))
    has_day = day.notna()
    has_month = month.notna() & ~has_day
    has_year = year.notna() & month.isna()
    start = pd.to_datetime(pd.DataFrame({"year": year, "month": month.fillna(1), "day": day.fillna(1)}),
                           errors="coerce").to_numpy().astype("datetime64[D]")
    months = start.astype("datetime64[M]")
    month_end = (months + 1).astype("datetime64[D]") - 1
    year_end = (start.astype("datetime64[Y]") + 1).astype("datetime64[D]") - 1
    end = np.where(has_day, start, np.where(has_month, month_end, year_end))
    code = np.select([has_day, has_month, has_year], [1, 2, 3], default=0)
    code = np.where(np.isnat(start), 0, code)
    start = np.where(code > 0, start, _NAT)
    end = np.where(code > 0, end, _NAT)
    return start, end, code.astype(np.int8)


def _parse_arrays(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        start = values.to_numpy().astype("datetime64[D]")
        return start, start, np.where(np.isnat(start), 0, 1).astype(np.int8)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = pd.Series([str(u) for u in np.asarray(uniques, dtype=object)] + [""], dtype=object)
    start, end, precision = _parse_texts(texts)  # the last slot is the one for missing values
    return start.take(codes), end.take(codes), precision.take(codes)


def _swap_arrays(start: np.ndarray, precision: np.ndarray) -> np.ndarray:
    years = start.astype("datetime64[Y]")
    months = start.astype("datetime64[M]")
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (start - months.astype("datetime64[D]")).astype(np.int64) + 1
    ok = (precision == 1) & (day <= 12) & (day != month)
    day = np.where(ok, day, 1)
    month = np.where(ok, month, 1)
    swapped = (years.astype("datetime64[M]") + (day - 1)).astype("datetime64[D]") + (month - 1)
    return np.where(ok, swapped, _NAT)


def parse_partial_date_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised `parse_partial_date`: columns `start`, `end` (datetime64) and `precision`
    (`day`/`month`/`year`, None when missing or invalid)."""
    start, end, precision = _parse_arrays(values)
    frame = pd.DataFrame({"start": start, "end": end}, index=values.index)
    frame["precision"] = pd.Series(_PRECISIONS.take(precision), index=values.index, dtype=object)
    return frame


def swap_candidate_series(values: pd.Series) -> pd.Series:
    """Vectorised `swap_candidate` (datetime64, NaT where no swap is possible)."""
    start, _, precision = _parse_arrays(values)
    return pd.Series(_swap_arrays(start, precision), index=values.index)


def compare_dates_series(a: pd.Series, b: pd.Series) -> pd.Series:
    """Vectorised `compare_dates` over two aligned columns (object dtype, None when either is missing)."""
    sa, ea, pa = _parse_arrays(a)
    sb, eb, pb = _parse_arrays(b)
    both = (pa > 0) & (pb > 0)
    full = (pa == 1) & (pb == 1)
    exact = full & (sa == sb)
    swapped = full & (_swap_arrays(sa, pa) == sb)
    nested = ~full & (((sa <= sb) & (eb <= ea)) | ((sb <= sa) & (ea <= eb)))
    same_year = sa.astype("datetime64[Y]") == sb.astype("datetime64[Y]")
    out = np.select([~both, exact, swapped, nested, same_year],
                    [None, EXACT, SWAPPED, WITHIN_RANGE, YEAR_ONLY], default=DIFFERENT)
    return pd.Series(out, index=a.index, dtype=object)
