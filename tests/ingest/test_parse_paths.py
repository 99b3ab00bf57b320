"""The parser's fast paths read what its exact paths read: Arrow's CSV reader against pandas' C reader,
the attributes' JSON against json.dumps, Arrow's UTF-8 check against Python's decoder."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from ridni.contracts import load
from ridni.ingest import parse

PIECES = ["a", "", " ", "ї", "Ґ", ";", ",", "\n", "\r\n", '"', '""', "x\"y", '"q"z', "\t", "NA", "null", "#", "1.0"]


def random_csv(rnd: random.Random, delim: str, quote_all: float) -> tuple[str, int, int]:
    width = rnd.randint(2, 5)
    lines = []
    for _ in range(rnd.randint(1, 6)):
        fields = []
        for _ in range(width):
            v = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 3)))
            if rnd.random() < quote_all or any(ch in v for ch in (delim, "\n", "\r", '"')) and rnd.random() < 0.9:
                v = '"' + v.replace('"', '""') + '"'
            fields.append(v)
        lines.append(delim.join(fields))
    eol = rnd.choice(["\n", "\r\n", "\n", "\r"])
    return eol.join(lines) + (eol if rnd.random() < 0.8 else ""), width, len(lines)


@pytest.mark.parametrize("source_id", ["npu_appeals", "mvs_register"])  # UTF-8 with ';', Windows-1251 with ','
def test_arrow_reads_a_csv_as_pandas_does_or_declines(source_id):
    contract = load(source_id)
    delim = contract.delimiter
    rnd = random.Random(11)
    taken = 0
    for _ in range(1500):
        text, width, lines = random_csv(rnd, delim, quote_all=rnd.random())
        try:
            payload = text.encode(contract.encoding)
        except UnicodeEncodeError:
            continue
        try:
            expected = parse.csv._pandas_csv(contract, payload, delim, list(range(width)))
        except Exception:  # noqa: BLE001  (pandas refuses it: Arrow must decline it too)
            expected = None
        got = parse.csv._arrow_csv(contract, payload, delim, width, lines if expected is None else len(expected))
        if got is None:
            continue
        taken += 1
        assert expected is not None, repr(text)
        pd.testing.assert_frame_equal(got, expected, obj=repr(text))
    assert taken > 150  # files without stray quotes or bare carriage returns do take the fast path


def test_arrow_declines_quotes_inside_fields_and_bare_carriage_returns():
    contract = load("npu_appeals")
    assert parse.csv._arrow_csv(contract, b'a;b"c\n', ";", 2, 1) is None
    assert parse.csv._arrow_csv(contract, b'"a"b;c\n', ";", 2, 1) is None
    assert parse.csv._arrow_csv(contract, b"a;b\rc;d\n", ";", 2, 2) is None
    assert parse.csv._arrow_csv(contract, b'a;"b\r\n""c"""\r\n', ";", 2, 1) is not None


def reference_attributes(frame: pd.DataFrame, attrs: list[str]) -> list[str]:
    def literal(v):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return "null"
        if isinstance(v, bool | np.bool_):
            return "true" if v else "false"
        if isinstance(v, pd.Timestamp):
            return json.dumps(v.strftime("%Y-%m-%d"))
        if isinstance(v, int | float | np.integer | np.floating):
            return str(v)
        return json.dumps(v, ensure_ascii=False)

    return ["{" + ",".join(json.dumps(f) + ":" + literal(frame[f].iloc[i]) for f in attrs) + "}"
            for i in range(len(frame))]


def test_attributes_are_json_objects_of_the_fields_in_contract_order():
    values = ["x", None, 'q"uote', "back\\slash", "line\nend", "tab\tїx", "x", "\x01", ""]
    n = len(values)
    frame = pd.DataFrame({
        "text": pd.Series(values, dtype="str"),
        "count": pd.Series([1, None, 3, 4, 5, 6, 7, 8, 9], dtype="Int64"),
        "flag": pd.Series([True, False, None] * 3, dtype="boolean"),
        "day": pd.to_datetime(pd.Series(["2020-01-01", None, "2021-02-03"] * 3)),
        "none": pd.Series([None] * n, dtype=object),
        "share": pd.Series([1.5, None, 2.0, 3.25, 0.0, -0.0, 1e20, 7.0, 0.1], dtype="Float64"),
    }).set_axis(range(100, 100 + n))
    got = parse.canonical._attributes_json(frame, list(frame.columns))
    assert got.index.equals(frame.index) and got.dtype == "str"
    assert got.tolist() == reference_attributes(frame, list(frame.columns))
    assert [json.loads(t)["text"] for t in got] == [None if v is None else v for v in values]


@pytest.mark.parametrize("data", [b"abc", "ї😀".encode(), b"\xff", "ї".encode()[:1], b"\xed\xa0\x80", b"\xc0\xaf",
                                  b"\xf4\x90\x80\x80", b"a\xe2\x82"])
def test_arrow_checks_utf8_as_python_decodes_it(data):
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert parse.common._valid_utf8(data) is valid
