"""RNOKPP, the 10-digit taxpayer number of an individual.

Digits 1-5 count the days since 1899-12-31 up to the birth date; digit 9 is
odd for men and even for women; digit 10 is a check digit over digits 1-9.
"""

from __future__ import annotations

import datetime as dt

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
