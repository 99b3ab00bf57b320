"""JSON Lines (Arrow's reader when every line is a flat object, else line by line) and JSON arrays of
objects; nested keys flattened as the contract names them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from itertools import repeat

import numpy as np
import pandas as pd
import pyarrow as pa

from ridni.contracts import Column, Contract
from ridni.ingest.parse.common import MAX_LINE_BYTES, FileRejected, Problem, _describe


def _read_jsonl(contract: Contract, body: bytes, text: Callable[[], str], file_name: str):
    fast = _read_jsonl_arrow(contract, body)
    if fast is not None:
        return fast
    lines = text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        ends_with_newline = True
    else:
        ends_with_newline = False
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    line_no = np.fromiter((n for n, _ in numbered), dtype=np.int64, count=len(numbered))
    objs = None
    try:
        objs = json.loads("[" + ",".join(ln for _, ln in numbered) + "]")
        if len(objs) != len(numbered):
            objs = None
    except (ValueError, RecursionError):
        objs = None
    if objs is None:  # find the line at fault
        objs = []
        for n, ln in numbered:
            try:
                objs.append(json.loads(ln))
            except (ValueError, RecursionError):
                last = n == len(lines) and not ends_with_newline
                raise FileRejected("not valid JSON" + (" (truncated: the file ends inside this line)" if last
                                                        else ""), file_name, n) from None
    if not objs:
        raise FileRejected("no records (only blank lines)", file_name)
    for n, o in zip(line_no, objs, strict=True):
        if type(o) is not dict:
            raise FileRejected("not a JSON object", file_name, int(n))
    raw, problems = _from_objects(contract, objs, line_no, file_name)
    return raw, line_no, problems


def _read_jsonl_arrow(contract: Contract, body: bytes):
    """The common case, in pyarrow's JSON reader: every line an object with exactly the contract's keys and
    JSON types. Anything else (a stray key, a type that differs, a broken line, a key absent from the whole
    file) returns None, and the exact (slower) reader finds and names the problem."""
    import pyarrow.json as pj

    def leaf(c: Column):
        return pa.field(c.path[-1], pa.bool_() if c.type == "boolean" else pa.string())

    fields, groups = [], {}
    for c in contract.columns:
        if len(c.path) == 1:
            fields.append(leaf(c))
        else:
            if c.path[0] not in groups:
                groups[c.path[0]] = []
                fields.append(c.path[0])
            groups[c.path[0]].append(leaf(c))
    schema = pa.schema([f if isinstance(f, pa.Field) else pa.field(f, pa.struct(groups[f])) for f in fields])
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.concatenate(([-1], np.flatnonzero(arr == 10), [len(body)]))
    lengths = np.diff(ends) - 1
    starts = ends[:-1] + 1
    blank = (lengths == 0) | ((lengths == 1) & (arr[np.minimum(starts, len(body) - 1)] == 13))
    line_no = (np.flatnonzero(~blank) + 1).astype(np.int64)
    try:
        table = pj.read_json(
            io.BytesIO(body),
            read_options=pj.ReadOptions(use_threads=True, block_size=MAX_LINE_BYTES + (1 << 20)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error",
                                          newlines_in_values=False),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != len(line_no) or table.num_rows == 0:
        return None
    table = table.flatten()
    raw = {}
    for c in contract.columns:
        col = table.column(c.source)
        if col.null_count == len(col) and not c.optional:
            return None  # absent key or all null: the exact reader tells which
        if c.type == "boolean":
            values = col.to_pandas().map({True: "true", False: "false"})
            raw[c.field] = values.astype("str")
        else:
            raw[c.field] = pd.Series(col.to_pandas(), dtype="str")
    return raw, line_no, []


def _read_json(contract: Contract, text: str, file_name: str):
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FileRejected("JSON nested too deeply", file_name) from None
    except json.JSONDecodeError as exc:
        last_line = text.rstrip().count("\n") + 1
        truncated = exc.lineno >= last_line and not text[exc.pos:].strip(" \t\r\n]}")
        truncated = truncated or (exc.lineno >= last_line and "Unterminated string" in exc.msg)
        raise FileRejected("truncated JSON: the document ends before it is complete" if truncated else
                           f"invalid JSON at column {exc.colno}", file_name, exc.lineno) from None
    if not isinstance(doc, list):
        raise FileRejected(f"expected a JSON array of objects, found a JSON {type(doc).__name__}", file_name)
    for i, o in enumerate(doc):
        if type(o) is not dict:
            raise FileRejected(f"element {i + 1} of the array is not an object", file_name)
    line_no = np.arange(1, len(doc) + 1, dtype=np.int64)
    raw, problems = _from_objects(contract, doc, line_no, file_name)
    return raw, line_no, problems


def _key_union(objs: list[dict]) -> set[str]:
    """Every key used by the objects (objects of one producer share few key layouts)."""
    out: set[str] = set()
    for layout in set(map(tuple, objs)):
        out.update(layout)
    return out


def _from_objects(contract: Contract, objs: list[dict], line_no: np.ndarray, file_name: str):
    """Check the keys against the contract; take each column's values as text."""
    keys = _key_union(objs)
    top = {c.path[0] for c in contract.columns}
    groups: dict[str, list[Column]] = {}
    for c in contract.columns:
        if len(c.path) == 2:
            groups.setdefault(c.path[0], []).append(c)
    missing = [c.source for c in contract.columns
               if len(c.path) == 1 and c.path[0] not in keys and not c.optional]
    missing += [g for g, cols in groups.items() if g not in keys and not all(c.optional for c in cols)]
    unexpected = sorted(k for k in keys if k not in top)
    subs: dict[str, list] = {}
    for g, cols in groups.items():
        subs[g] = list(map(dict.get, objs, repeat(g)))
        inner = [x for x in subs[g] if type(x) is dict]
        inner_keys = _key_union(inner)
        if inner:
            missing += [c.source for c in cols if c.path[1] not in inner_keys and not c.optional]
        known = {c.path[1] for c in cols}
        unexpected += sorted(f"{g}.{k}" for k in inner_keys if k not in known)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("key(s) missing from every object: " + ", ".join(repr(m) for m in missing))
        if unexpected:
            parts.append("unexpected key(s): " + _describe(len(unexpected)))
        if missing and unexpected:
            parts.append("renamed?")
        raise FileRejected("schema changed: " + "; ".join(parts), file_name)

    problems: list[Problem] = []
    raw: dict[str, pd.Series] = {}
    for c in contract.columns:
        path = c.path
        if len(path) == 1:
            values = list(map(dict.get, objs, repeat(path[0])))
        else:
            sub = subs[path[0]]
            values = [x.get(path[1]) if type(x) is dict else None for x in sub]
            for i, x in enumerate(sub):
                if x is not None and type(x) is not dict:
                    problems.append(Problem(int(line_no[i]), c.field, f"`{path[0]}` is not an object"))
        raw[c.field] = _scalars_as_text(values, c, line_no, problems)
    return raw, problems


def _scalars_as_text(values: list, column: Column, line_no: np.ndarray, problems: list[Problem]) -> pd.Series:
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return pd.Series(values, dtype="str")
    out = []
    for i, v in enumerate(values):
        t = type(v)
        if t is str or v is None:
            out.append(v)
        elif t is bool:
            out.append("true" if v else "false")
        elif t is int:
            out.append(str(v))
        elif t is float:
            out.append(str(int(v)) if v.is_integer() else repr(v))
        else:
            problems.append(Problem(int(line_no[i]), column.field, "a nested value where a single value is expected"))
            out.append(None)
    return pd.Series(out, dtype="str")
