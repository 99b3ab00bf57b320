"""RNOKPP: check digit, and the encoded birth date and sex against the record's."""

import datetime as dt

import pandas as pd
import pytest

from ridni.standardise import rnokpp

MAN = rnokpp.make(dt.date(1985, 3, 12), True, 123)
WOMAN = rnokpp.make(dt.date(1990, 12, 1), False, 7)


def _typo(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def test_existing_interface():
    assert rnokpp.is_valid(MAN) and rnokpp.is_valid(WOMAN)
    assert rnokpp.birth_date(MAN) == dt.date(1985, 3, 12)
    assert rnokpp.sex(MAN) == "M" and rnokpp.sex(WOMAN) == "F"
    assert not rnokpp.is_valid(_typo(MAN))


def test_check_digit_known_value():
    # 1985-03-12 is day 31117 after 1899-12-31. By hand, for 311171237:
    # 3*-1 + 1*5 + 1*7 + 1*9 + 7*4 + 1*6 + 2*10 + 3*5 + 7*7 = 136; 136 % 11 = 4; 4 % 10 = 4.
    assert rnokpp.check_digit("311171237") == 4
    assert rnokpp.is_valid("3111712374")
    assert rnokpp.birth_date("3111712374") == dt.date(1985, 3, 12)
    assert rnokpp.check_digit(MAN[:9]) == int(MAN[9])


def test_normalise():
    assert rnokpp.normalise(f" {MAN} ") == MAN
    assert rnokpp.normalise(f"{MAN}.0") == MAN
    assert rnokpp.normalise(f"{MAN[:5]} {MAN[5:]}") == MAN
    assert rnokpp.normalise("123") is None and rnokpp.normalise(None) is None


@pytest.mark.parametrize(("number", "born", "sex", "expected"), [
    (MAN, "1985-03-12", "M", (True, True, True)),
    (MAN, "1985-03-12", "ч", (True, True, True)),
    (MAN, "1985-03", "male", (True, True, True)),  # partial date: the encoded day lies in the month
    (MAN, "1985", "M", (True, True, True)),
    (MAN, "1985-12-03", "F", (True, False, False)),  # a swapped date is not a match
    (MAN, None, None, (True, None, None)),
    (WOMAN, "1990-12-01", "ж", (True, True, True)),
    (_typo(MAN), "1985-03-12", "M", (False, None, None)),
    ("12345", "1985-03-12", "M", (False, None, None)),
    (None, "1985-03-12", "M", (False, None, None)),
])
def test_check(number, born, sex, expected):
    assert rnokpp.check(number, born, sex) == rnokpp.RnokppCheck(*expected)


def test_vectorised_on_a_series():
    numbers = pd.Series([MAN, WOMAN, _typo(MAN), None, "123", MAN, f"{WOMAN}.0"], index=list("abcdefg"))
    born = pd.Series(["1985-03-12", "1990-12", "1985-03-12", "1985", "1985", "1985-12-03", None])
    sex = pd.Series(["M", "ж", "M", "M", None, "F", "F"])
    out = rnokpp.check_series(numbers, born, sex)
    assert list(out.index) == list("abcdefg")
    expected = [rnokpp.check(n, b, s) for n, b, s in zip(numbers, born, sex, strict=True)]
    got = [rnokpp.RnokppCheck(bool(r.valid), None if pd.isna(r.birth_date_matches) else bool(r.birth_date_matches),
                              None if pd.isna(r.sex_matches) else bool(r.sex_matches)) for r in out.itertuples()]
    assert got == expected


def test_vectorised_accepts_numbers_from_spreadsheets():
    out = rnokpp.check_series(pd.Series([float(MAN), int(WOMAN), None]))
    assert out["valid"].tolist() == [True, True, False]
    assert out["birth_date_matches"].isna().all()
