"""The night's exports for headquarters: counts and change log as CSV, XLSX and Parquet, the headline,
the reconciliation, a one-page summary, and a manifest; published atomically.

Every file of a night is written into a hidden folder next to the target, then the folder is renamed
into place: readers see all of a night's files or none. Output is byte-identical for identical marts
(sorted rows, fixed XLSX timestamps), so a rerun of a night changes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import html
import io
import json
import os
import re
import shutil
import tempfile
import xml.sax.saxutils
import zipfile
from pathlib import Path

import pandas as pd
import rustpy_xlsxwriter
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ridni.privacy import neutralise_formulas
from ridni.publish.suppression import configured_threshold, published_reconciliation_sql, suppressed_text


def _queries(at: int) -> dict[str, str]:
    """The night's (``:n``) exported tables; a person count from 1 to ``at`` - 1 is printed "<at"."""
    return {
        "counts": ("SELECT category, person_type, region, sex, age_band, "  # noqa: S608 (an integer)
                   f"CASE WHEN suppressed THEN '{suppressed_text(int(at))}' ELSE count_value::text END AS count "
                   "FROM marts.category_counts WHERE night = :n ORDER BY 1, 2, 3, 4, 5"),
        "region_counts": ("SELECT category, region, "  # noqa: S608 (an integer)
                          f"CASE WHEN suppressed THEN '{suppressed_text(int(at))}' ELSE count_value::text END AS count "
                          "FROM marts.region_category_counts WHERE night = :n ORDER BY 1, 2"),
        "change_log": ("SELECT pseudo_id, change, from_category, to_category, effective_date, evidence_source, "
                       "evidence_record, rule FROM marts.change_log WHERE night = :n "
                       "ORDER BY (from_category = 'missing' AND to_category <> 'missing') DESC NULLS LAST, change, "
                       "pseudo_id"),
        "headline": ("SELECT grp AS \"group\", count_value AS count, previous_value AS previous, change "
                     "FROM marts.headline WHERE night = :n ORDER BY ord"),
        # the reconciliation's small counts are printed the same way (primary suppression, the page's rule)
        "reconciliation": published_reconciliation_sql(as_text=True, at=at),
    }


MULTI_FORMAT = {"counts", "region_counts", "change_log"}  # also as XLSX and Parquet
DOWNLOADS = ("counts", "region_counts")  # the tables the headquarters page offers as CSV and XLSX
FILE_MODE = 0o640  # owner and group only
FIXED_CREATED = dt.datetime(2022, 2, 24)  # XLSX metadata date: constant, so reruns are byte-identical


def _cell_values(column: pd.Series) -> list:
    """A column as the values its cells show: a date as its ISO text, a Decimal as a number, and None where
    the cell stays empty (a gap, or empty text)."""
    values = column.astype(object).where(column.notna(), None).tolist()
    if isinstance(column.dtype, pd.StringDtype):
        return [v or None for v in values]
    return [v.isoformat() if isinstance(v, dt.date) else float(v) if isinstance(v, decimal.Decimal)
            else (None if v.__class__ is str and not v else v) for v in values]


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    # rustpy-xlsxwriter (Rust rust_xlsxwriter, constant memory) is ~10x faster than xlsxwriter, whose XML
    # writing took ~20 s of a first night's change log. It types each plain value of an object column: text
    # as a text cell (never a formula or link), numbers, booleans, no cell for None. Not pandas' NA: in a
    # frame it cannot take as Arrow, it would write "<NA>" as text; nor a date: it would be a date cell.
    data = pd.DataFrame({i: pd.array(_cell_values(frame.iloc[:, i]), dtype=object)
                         for i in range(frame.shape[1])}, index=pd.RangeIndex(len(frame)))
    data.columns = [str(c) for c in frame.columns]
    buffer = io.BytesIO()
    rustpy_xlsxwriter.write_worksheet(data, buffer, sheet_name=sheet[:31])
    _reproducible(buffer, path, f"ridni {sheet}")


def _reproducible(xlsx: io.BytesIO, path: Path, title: str) -> None:
    """Rewrite rustpy's workbook the way reproducible-build tools (strip-nondeterminism) do: rustpy stamps
    the current time into docProps/core.xml and has no option for it or the title, so a rerun would give
    other bytes. The same entries in the same order, each with a fixed date and mode, DEFLATE as before."""
    stamp = FIXED_CREATED.strftime("%Y-%m-%dT%H:%M:%SZ")
    element = f"<dc:title>{xml.sax.saxutils.escape(title)}</dc:title>"
    with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(path, "w") as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, FIXED_CREATED.timetuple()[:6])
            info.compress_type, info.create_system = zipfile.ZIP_DEFLATED, 3  # 3: Unix, on any platform
            info.external_attr = 0o100600 << 16  # a regular file, rw for the owner (as xlsxwriter wrote)
            if entry.filename != "docProps/core.xml":
                with src.open(entry) as data, dst.open(info, "w") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
                continue
            core, dates = re.subn(r"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)",
                                  lambda m: m[1] + stamp + m[3], src.read(entry).decode())
            core, titles = re.subn(r"<dc:title>[^<]*</dc:title>|(?=<dc:creator>)",  # replaced, else inserted
                                   lambda m: element, core, count=1)
            if (dates, titles) != (2, 1):  # a rustpy that writes core.xml otherwise: fail, not drift
                raise ValueError(f"unexpected docProps/core.xml from rustpy-xlsxwriter: {core[:400]}")
            dst.writestr(info, core.encode())


def download(engine: Engine, name: str, night: dt.date, fmt: str) -> bytes:
    """One of the night's :data:`DOWNLOADS` as the exports write it ("csv" or "xlsx"), read from the marts
    (through the caller's login: the headquarters page reads with its read-only role)."""
    if name not in DOWNLOADS or fmt not in ("csv", "xlsx"):
        raise ValueError(f"no download {name}.{fmt}")
    with engine.connect() as conn:
        frame = neutralise_formulas(pd.read_sql(sa.text(_queries(configured_threshold())[name]), conn,
                                                params={"n": night}))
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"{name}.xlsx"
        _write_xlsx(frame, path, name)
        return path.read_bytes()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quality(engine: Engine, night: dt.date) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("""
            SELECT c.source_id,
                   COALESCE(d.status, 'no drop') AS drop_status,
                   COALESCE(sum(l.rows_loaded), 0) AS rows_loaded,
                   COALESCE(sum(l.rows_quarantined), 0) AS rows_quarantined
            FROM (SELECT DISTINCT source_id FROM raw.drop) c
            LEFT JOIN LATERAL (SELECT drop_id, status FROM raw.drop WHERE source_id = c.source_id
                               AND extract_date = :n ORDER BY drop_id DESC LIMIT 1) d ON true
            LEFT JOIN staging.load l ON l.drop_id = d.drop_id AND l.status = 'loaded'
            GROUP BY c.source_id, d.status ORDER BY c.source_id
        """), conn, params={"n": night})


def _chart(engine: Engine, night: dt.date) -> str:
    """The headline groups over the year up to this night (later nights never change a past export)."""
    from ridni.publish.chart import CHART_DAYS, headline_frame, line_chart_svg

    with engine.connect() as conn:
        rows = pd.read_sql(sa.text("SELECT night, ord, grp, count_value FROM marts.headline WHERE night <= :n "
                                   "AND night > :start ORDER BY night, ord"), conn,
                           params={"n": night, "start": night - dt.timedelta(days=CHART_DAYS)})
    return line_chart_svg(headline_frame(rows), highlight=night) if not rows.empty else ""


def _summary_html(night: dt.date, frames: dict[str, pd.DataFrame], quality: pd.DataFrame, chart: str, at: int) -> str:
    def table(frame: pd.DataFrame) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
            for row in frame.itertuples(index=False)
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    log = frames["change_log"]
    out_of_missing = log[(log["from_category"] == "missing") & log["to_category"].notna()
                         & (log["to_category"] != "missing")]
    moves = out_of_missing.groupby("to_category").size().rename("persons").reset_index()
    moves["persons"] = moves["persons"].map(lambda n: suppressed_text(at) if 0 < n < at else str(n))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ridni {night}</title>
<style>body{{font-family:sans-serif;max-width:60em}}td,th{{border:1px solid #ccc;padding:2px 6px}}
table{{border-collapse:collapse;margin-bottom:1em}}</style></head><body>
<h1>Situation on {night}</h1>
<h2>Headline (change since the previous night)</h2>{table(frames["headline"])}
{chart}
<h2>Moves out of missing tonight</h2>{table(moves)}
<h2>Data quality by source</h2>{table(quality)}
<p>Counts from 1 to {at - 1} are shown as {html.escape(suppressed_text(at))} (with complementary suppression). Persons appear only by
pseudonymous id. Files: counts, region_counts, change_log (CSV, XLSX, Parquet), headline, reconciliation (CSV).</p>
</body></html>
"""


def publish_night(engine: Engine, night: dt.date, exports: str | os.PathLike) -> Path:
    """Write the night's exports and swap them into ``<exports>/<night>/`` in one rename."""
    root = Path(exports)
    root.mkdir(parents=True, exist_ok=True)
    target = root / night.isoformat()
    work = Path(tempfile.mkdtemp(prefix=f".{night.isoformat()}-", dir=root))
    at = configured_threshold()
    try:
        frames: dict[str, pd.DataFrame] = {}
        with engine.connect() as conn:
            for name, query in _queries(at).items():
                frames[name] = pd.read_sql(sa.text(query), conn, params={"n": night})
        files = []
        for name, frame in frames.items():
            safe = neutralise_formulas(frame)
            safe.to_csv(work / f"{name}.csv", index=False, lineterminator="\n")
            files.append(f"{name}.csv")
            if name in MULTI_FORMAT:
                _write_xlsx(safe, work / f"{name}.xlsx", name)
                frame.astype("string").to_parquet(work / f"{name}.parquet", index=False)
                files += [f"{name}.xlsx", f"{name}.parquet"]
        (work / "summary.html").write_text(_summary_html(night, frames, _quality(engine, night), _chart(engine, night), at), encoding="utf-8")
        files.append("summary.html")
        manifest = {
            "night": night.isoformat(),
            "files": [{"name": f, "sha256": _sha256(work / f), "bytes": (work / f).stat().st_size}
                      for f in sorted(files)],
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for f in work.iterdir():
            f.chmod(FILE_MODE)
        work.chmod(0o750)
        if target.exists():
            old = root / f".{night.isoformat()}-replaced"
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            work.rename(target)
            shutil.rmtree(old)
        else:
            work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit.publication (night, folder, manifest) VALUES (:n, :f, CAST(:m AS jsonb)) "
            "ON CONFLICT (night, folder) DO UPDATE SET manifest = excluded.manifest, published_at = now()"),
            {"n": night, "f": str(target), "m": json.dumps(manifest)})
    return target
