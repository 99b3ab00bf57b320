"""COPY's CSV holds the frame's rows and nothing else, whatever chunks Arrow holds them in.

pyarrow 26's CSV writer, handed a column whose first chunk is empty (what ``pd.concat([empty, frame])``
gives), writes kilobytes of uninitialised memory before the rows; ``db._csv`` must never pass that on.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from ridni import db


def _frame(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({
        "key": pd.Series([f"K{i}" for i in range(start, start + n)], dtype="string"),
        "name": pd.Series([None if i % 3 == 0 else f"Мар'яна {i}, \"x\"" for i in range(start, start + n)],
                          dtype="string"),
        "n": pd.Series(range(start, start + n), dtype="int64"),
    })


EMPTY = _frame(0)
FRAMES = {
    "single chunk": _frame(5),
    "empty first chunk": pd.concat([EMPTY, _frame(5)]),
    "empty chunks between": pd.concat([_frame(2), EMPTY, EMPTY, _frame(3, 2), EMPTY]),
    "many chunks": pd.concat([_frame(1, i) for i in range(40)] + [EMPTY]),
}


def _chunks(frame: pd.DataFrame) -> list[int]:
    return [len(c) for c in pa.Table.from_pandas(frame, preserve_index=False).column("key").chunks]


@pytest.mark.parametrize("case", list(FRAMES))
def test_the_csv_holds_only_the_rows(case):
    frame = FRAMES[case]
    if case != "single chunk":
        assert len(_chunks(frame)) > 1 and 0 in _chunks(frame), "the case must reach Arrow in several chunks"
    data = db._csv(frame).read()
    data = data if isinstance(data, bytes) else data.encode()
    assert b"\x00" not in data
    assert data.count(b"\n") == len(frame)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed == [[k, "" if pd.isna(nm) else nm, str(n)] for k, nm, n in frame.itertuples(index=False)]


@pytest.mark.parametrize("case", list(FRAMES))
def test_copy_frame_loads_exactly_the_rows(engine, case):
    frame = FRAMES[case]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE copied (key text, name text, n bigint) ON COMMIT DROP"))
        db.copy_frame(conn, "copied", ["key", "name", "n"], frame)
        back = conn.execute(sa.text("SELECT key, name, n FROM copied ORDER BY n")).all()
    assert back == [(k, None if pd.isna(nm) else nm, n) for k, nm, n in frame.sort_values("n").itertuples(index=False)]


def test_an_empty_frame_copies_nothing(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE copied (key text, name text, n bigint) ON COMMIT DROP"))
        db.copy_frame(conn, "copied", ["key", "name", "n"], pd.concat([EMPTY, EMPTY]))
        assert conn.execute(sa.text("SELECT count(*) FROM copied")).scalar() == 0
