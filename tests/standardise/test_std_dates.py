"""Partial dates as ranges, day/month swap candidates, and date comparison levels."""

import datetime as dt

import pandas as pd
import pytest

from ridni.standardise.dates import (
    DAY,
    MONTH,
    YEAR,
    DateRange,
    compare_dates,
    compare_dates_series,
    parse_partial_date,
    parse_partial_date_series,
    swap_candidate,
    swap_candidate_series,
)

D = dt.date


@pytest.mark.parametrize(("raw", "expected"), [
    ("1985-03-12", DateRange(D(1985, 3, 12), D(1985, 3, 12), DAY)),
    ("1985-03", DateRange(D(1985, 3, 1), D(1985, 3, 31), MONTH)),
    ("1985-02", DateRange(D(1985, 2, 1), D(1985, 2, 28), MONTH)),
    ("1984-02", DateRange(D(1984, 2, 1), D(1984, 2, 29), MONTH)),
    ("1985", DateRange(D(1985, 1, 1), D(1985, 12, 31), YEAR)),
    ("12.03.1985", DateRange(D(1985, 3, 12), D(1985, 3, 12), DAY)),
    ("03.1985", DateRange(D(1985, 3, 1), D(1985, 3, 31), MONTH)),
    ("1985-03-12T00:00:00", DateRange(D(1985, 3, 12), D(1985, 3, 12), DAY)),
    (D(1985, 3, 12), DateRange(D(1985, 3, 12), D(1985, 3, 12), DAY)),
    (pd.Timestamp("1985-03-12"), DateRange(D(1985, 3, 12), D(1985, 3, 12), DAY)),
])
def test_partial_dates_are_ranges(raw, expected):
    assert parse_partial_date(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "1985-02-30", "1985-13", "1985-13-01", "abc", "85", float("nan")])
def test_invalid_dates_are_not_repaired(raw):
    assert parse_partial_date(raw) is None


def test_swap_candidates_only_when_both_at_most_12_and_different():
    assert swap_candidate("1985-03-12") == D(1985, 12, 3)
    assert swap_candidate("1985-12-03") == D(1985, 3, 12)
    assert swap_candidate("1985-03-13") is None  # 13 cannot be a month
    assert swap_candidate("1985-03-03") is None  # the same either way
    assert swap_candidate("1985-03") is None  # no day to swap
    assert swap_candidate(None) is None


@pytest.mark.parametrize(("a", "b", "level"), [
    ("1985-03-12", "1985-03-12", "exact"),
    ("1985-03-12", "12.03.1985", "exact"),
    ("1985-03-12", "1985-12-03", "swapped"),
    ("1985", "1985-07-01", "within_range"),
    ("1985-07-01", "1985", "within_range"),
    ("1985-03", "1985-03-31", "within_range"),
    ("1985-03", "1985-03", "within_range"),
    ("1985", "1985-03", "within_range"),
    ("1985-03", "1985-04-01", "year_only"),
    ("1985-03-12", "1985-05-12", "year_only"),
    ("1985-03-13", "1985-03-31", "year_only"),
    ("1985-03-12", "1986-03-12", "different"),
    ("1985", "1986", "different"),
    ("1985-03-12", None, None),
    ("1985-02-30", "1985-02-28", None),
])
def test_compare_dates(a, b, level):
    assert compare_dates(a, b) == level


def test_vectorised_parse_matches_scalar():
    raw = ["1985-03-12", "1985-03", "1985", "12.03.1985", "1985-02-30", None, "", "x", "2000-02"]
    frame = parse_partial_date_series(pd.Series(raw, index=range(100, 109)))
    assert list(frame.index) == list(range(100, 109))
    for i, value in enumerate(raw):
        expected = parse_partial_date(value)
        row = frame.iloc[i]
        if expected is None:
            assert row["precision"] is None and pd.isna(row["start"]) and pd.isna(row["end"])
        else:
            assert (row["start"].date(), row["end"].date(), row["precision"]) == tuple(expected)


def test_vectorised_swap_and_compare_match_scalar():
    a = pd.Series(["1985-03-12", "1985-03-12", "1985", "1985-03", "1985-03-12", None, "1985-03-12"])
    b = pd.Series(["1985-03-12", "1985-12-03", "1985-07-01", "1985-04-01", "1986-03-12", "1985", "1985-03-13"])
    assert compare_dates_series(a, b).tolist() == [compare_dates(x, y) for x, y in zip(a, b, strict=True)]
    swapped = swap_candidate_series(a)
    assert [None if pd.isna(v) else v.date() for v in swapped] == [swap_candidate(v) for v in a]


def test_vectorised_accepts_a_datetime_column():
    frame = parse_partial_date_series(pd.Series(pd.to_datetime(["1985-03-12", None])))
    assert frame["precision"].tolist() == [DAY, None]
    assert frame["start"].iloc[0] == pd.Timestamp("1985-03-12")
