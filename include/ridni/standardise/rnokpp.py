"""RNOKPP, the 10-digit taxpayer number of an individual.

Digits 1-5 count the days since 1899-12-31 up to the birth date; digit 9 is
odd for men and even for women; digit 10 is a check digit over digits 1-9.

Why here: RNOKPP is the strongest deterministic link key, so a mistyped one must not link two
people. `check` validates the check digit and compares the birth date and sex the number
encodes with the record's own (`check_series` does it for whole columns).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

_EPOCH = dt.date(1899, 12, 31)
_WEIGHTS = (-1, 5, 7, 9, 4, 6, 10, 5, 7)


def check_digit(first_nine: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True))
    return total % 11 % 10


def is_valid(rnokpp: str | None) -> bool:
    """True when the value has 10 digits and a correct check digit."""
    if not rnokpp or len(rnokpp) != 10 or not rnokpp.isdigit():
        return False
    return check_digit(rnokpp[:9]) == int(rnokpp[9])


def birth_date(rnokpp: str) -> dt.date:
    """The birth date that a valid RNOKPP encodes."""
    return _EPOCH + dt.timedelta(days=int(rnokpp[:5]))


def birth_date_series(rnokpp: pd.Series) -> pd.Series:
    """Vectorised `birth_date` as ``YYYY-MM-DD`` text, for values already known to be valid; else missing."""
    days = pd.to_numeric(rnokpp.astype("string").str[:5], errors="coerce")
    return (pd.Timestamp(_EPOCH) + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d").astype(object) \
        .where(days.notna().to_numpy(), None)


def sex(rnokpp: str) -> str:
    """`M` or `F`, as digit 9 encodes it."""
    return "M" if int(rnokpp[8]) % 2 else "F"


def make(born: dt.date, male: bool, serial: int) -> str:
    """Build a valid RNOKPP for a birth date and sex; `serial` picks digits 6-8."""
    days = (born - _EPOCH).days
    if not 0 < days < 100_000:
        raise ValueError("birth date outside the range RNOKPP can encode")
    serial %= 1000
    ninth = (serial % 5) * 2 + (1 if male else 0)
    first_nine = f"{days:05d}{serial:03d}{ninth}"
    return first_nine + str(check_digit(first_nine))


# --- validation against the record ----------------------------------------------------------

_encoded_birth_date, _encoded_sex = birth_date, sex  # the parameters below reuse these names

_NOISE = re.compile(r"[\s-]|\.0$")


def normalise(value: Any) -> str | None:
    """Digits only (spaces, dashes and a spreadsheet's trailing `.0` removed); None unless 10 digits."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = _NOISE.sub("", str(value).strip())
    return s if len(s) == 10 and s.isdigit() else None


class RnokppCheck(NamedTuple):
    valid: bool
    birth_date_matches: bool | None  # None: number invalid, or the record has no birth date
    sex_matches: bool | None  # None: number invalid, or the record has no sex


def check(rnokpp: Any, birth_date: Any = None, sex: Any = None) -> RnokppCheck:
    """Validate the check digit and compare the encoded birth date and sex with the record's.

    `birth_date` may be partial (`YYYY-MM`, `YYYY`): it matches when the encoded date lies in
    its range. `sex` is anything `sex.normalise_sex` understands.
    """
    from ridni.standardise.dates import parse_partial_date
    from ridni.standardise.sex import normalise_sex

    number = normalise(rnokpp)
    if number is None or not is_valid(number):
        return RnokppCheck(False, None, None)
    born = parse_partial_date(birth_date)
    encoded = _encoded_birth_date(number)
    date_ok = None if born is None else born.start <= encoded <= born.end
    record_sex = normalise_sex(sex)
    sex_ok = None if record_sex is None else _encoded_sex(number) == record_sex
    return RnokppCheck(True, date_ok, sex_ok)


def check_series(rnokpp: pd.Series, birth_date: pd.Series | None = None,
                 sex: pd.Series | None = None) -> pd.DataFrame:
    """Vectorised `check`: columns valid (bool), birth_date_matches and sex_matches (boolean, NA unknown)."""
    from ridni.standardise.dates import _parse_arrays
    from ridni.standardise.sex import normalise_sex_series

    s = rnokpp.astype("str")
    clean = s.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    if not clean.all():  # the few with spaces, dashes or `.0`: the scalar rule
        s = s.where(clean, rnokpp[~clean].map(normalise))
        clean = s.notna().to_numpy()
    else:
        clean = clean.to_numpy()
    digits = np.zeros((len(s), 10), dtype=np.int64)
    if clean.any():
        raw = np.frombuffer("".join(s[clean].tolist()).encode("ascii"), dtype=np.uint8)
        digits[clean] = raw.reshape(-1, 10) - ord("0")
    valid = clean & ((digits[:, :9] @ np.array(_WEIGHTS)) % 11 % 10 == digits[:, 9])
    encoded = np.datetime64(_EPOCH, "D") + (digits[:, :5] @ np.array([10_000, 1_000, 100, 10, 1]))
    encoded_male = digits[:, 8] % 2 == 1
    out = pd.DataFrame({"valid": valid}, index=rnokpp.index)
    unknown = np.ones(len(s), dtype=bool)
    dates_ok, sexes_ok = np.zeros(len(s), dtype=bool), np.zeros(len(s), dtype=bool)
    date_unknown, sex_unknown = unknown, unknown
    if birth_date is not None:
        start, end, precision = _parse_arrays(birth_date)
        date_unknown = ~valid | (precision == 0)
        dates_ok = (start <= encoded) & (encoded <= end)
    if sex is not None:
        record = normalise_sex_series(sex).to_numpy()
        sex_unknown = ~valid | pd.isna(record)
        sexes_ok = encoded_male == (record == "M")
    out["birth_date_matches"] = pd.arrays.BooleanArray(dates_ok & ~date_unknown, date_unknown)
    out["sex_matches"] = pd.arrays.BooleanArray(sexes_ok & ~sex_unknown, sex_unknown)
    return out
