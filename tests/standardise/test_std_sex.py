"""Sex normalised to M/F."""

import pandas as pd
import pytest

from ridni.standardise.sex import normalise_sex, normalise_sex_series


@pytest.mark.parametrize("raw", ["ч", "Ч", "M", "m", "male", "Male", "чоловіча", " ЧОЛОВІЧА ", "чол.", "муж", "М"])
def test_male(raw):
    assert normalise_sex(raw) == "M"


@pytest.mark.parametrize("raw", ["ж", "Ж", "F", "f", "female", "FEMALE", "жіноча", "жін.", "жен"])
def test_female(raw):
    assert normalise_sex(raw) == "F"


@pytest.mark.parametrize("raw", [None, "", "1", "2", "x", "unknown", float("nan")])
def test_unknown_is_none(raw):
    assert normalise_sex(raw) is None


def test_vectorised_on_a_series():
    s = pd.Series(["ч", "ж", "male", "female", "M", "F", None, "?"], index=list("abcdefgh"))
    out = normalise_sex_series(s)
    assert out.tolist() == ["M", "F", "M", "F", "M", "F", None, None]
    assert out.tolist() == [normalise_sex(v) for v in s]
    assert list(out.index) == list("abcdefgh")
