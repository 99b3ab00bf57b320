"""A backlog drop of the event source ``exchange_returns``: many exchange files in one night's drop, as
on a source's first night or after an outage. The tests write small ones; run as a script it measures
the ingest of a big one (not a test):

    .venv/bin/python tests/ingest/backlog.py --files 758 --rows 40

Writes the drop under a temporary landing zone, creates a database of its own on the test server
(RIDNI_TEST_SERVER_URL, else postgres on 127.0.0.1:5432; dropped at the end), migrates it, and times
``ridni.night.ingest`` of the drop and ``ridni.night.data_docs`` of the night (one process, GX imported
before the clock starts, as in a worker that ran a task before).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

SOURCE = "exchange_returns"
HEADER = ["exchange_id", "exchange_date", "surname", "first_name", "patronymic", "birth_date", "category",
          "service_no"]
SURNAMES = ["Бондар", "Мельник", "Шевченко", "Ткаченко", "Кравченко", "Олійник", "Лисенко", "Руденко"]
FIRST = ["Андрій", "Олег", "Тарас", "Богдан", "Ірина", "Оксана", "Сергій", "Микола"]
PATRONYMIC = ["Іванович", "Петрович", "Андрійович", "Васильович", "Олегівна", "Миколаївна"]


def exchange_rows(exchange_id: str, day: dt.date, rows: int, seed: int) -> list[list[str]]:
    out = []
    for i in range(rows):
        k = seed * 7919 + i * 104729
        military = k % 5 != 0
        out.append([exchange_id, day.isoformat(), SURNAMES[k % len(SURNAMES)], FIRST[(k // 8) % len(FIRST)],
                    PATRONYMIC[(k // 64) % len(PATRONYMIC)],
                    (dt.date(1960, 1, 1) + dt.timedelta(days=k % 15000)).isoformat(),
                    "military" if military else "civilian", f"Н-{k % 900000 + 100000}" if military else ""])
    return out


def write_backlog(landing: Path, night: dt.date, files: int, rows: int, *,
                  edit=None) -> dict[str, list[list[str]]]:
    """Write a drop of ``files`` exchange files of ``rows`` rows each (exchange days counting back from the
    night's eve) with its manifest; ``edit(file_name, rows)`` may change a file's rows before it is written.
    Returns each file's data rows."""
    folder = landing / SOURCE / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    written, listed = {}, []
    for n in range(files):
        day = night - dt.timedelta(days=1 + n)
        exchange_id = f"EX-{day:%Y%m%d}"
        name = f"exchange_{exchange_id}.csv"
        data = exchange_rows(exchange_id, day, rows, n)
        if edit is not None:
            data = edit(name, data)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(data)
        body = text.getvalue().encode("utf-8")
        (folder / name).write_bytes(body)
        listed.append({"name": name, "sha256": hashlib.sha256(body).hexdigest(), "rows": len(data)})
        written[name] = data
    manifest = {"source": SOURCE, "extract_date": night.isoformat(), "files": listed}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return written


def _measure() -> None:
    import argparse
    import os
    import tempfile
    import time
    import uuid

    import sqlalchemy as sa

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=758)
    parser.add_argument("--rows", type=int, default=40, help="rows per file")
    args = parser.parse_args()
    night = dt.date(2026, 11, 1)
    root = Path(tempfile.mkdtemp(prefix="ridni_backlog_"))
    for name in ("landing", "archive", "exports", "data_docs"):
        os.environ[f"RIDNI_{name.upper()}"] = str(root / name)
    write_backlog(root / "landing", night, args.files, args.rows)

    from ridni import db
    from ridni import night as steps
    from ridni.ingest.validate import _context

    server = os.environ.get("RIDNI_TEST_SERVER_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    name = f"ridni_test_backlog_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = None
    try:
        url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
        db.upgrade(url)
        engine = db.make_engine(url)
        _context()  # Great Expectations imported and its context made, as in a warm worker
        start = time.perf_counter()
        result = steps.ingest(engine, SOURCE, night)
        ingest = time.perf_counter() - start
        start = time.perf_counter()
        steps.data_docs(engine, SOURCE, night)
        docs = time.perf_counter() - start
        print(f"{args.files} files x {args.rows} rows: ingest {ingest:.1f} s ({1000 * ingest / args.files:.0f} ms "
              f"a file), Data Docs {docs:.1f} s; {result.line()}")
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    _measure()
