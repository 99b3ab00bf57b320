"""Hostile and careless deliveries (issue "nothing lost, nothing leaked, no night unpublished"), each fed through
the real code path (``ingest_source``, or the in-process night) on generated drops and a real warehouse.

Every case asserts the end state: what ``staging.load`` received = loaded + quarantined, the alert, the status on
``marts.source_quality``, and the warehouse unchanged where nothing valid arrived. docs/security.md lists them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from secutil import START, diff, fingerprint, refresh_manifest, sha256_of, write_drop

from ridni import cli
from ridni.contracts import load as contract
from ridni.ingest import drops
from ridni.ingest.load import load_drop
from ridni.ingest.run import ingest_source

N2, N3 = START + dt.timedelta(days=1), START + dt.timedelta(days=2)
PERSON = "Петренко Іван Степанович"  # a name a careless source might put where a label goes


# ------------------------------------------------------------------------------------------ helpers
def quality(engine, source_id: str, night: dt.date) -> dict:
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text("SELECT * FROM marts.source_quality WHERE source_id = :s AND night = :n"),
                {"s": source_id, "n": night},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else {}


def alerts(engine, kind: str | None = None) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT message FROM audit.alert WHERE kind = :k OR CAST(:k AS text) IS NULL ORDER BY id"
                ),
                {"k": kind},
            ).scalars()
        )


def balanced(engine) -> None:
    """Every file load: rows received = loaded + quarantined, and the quarantine holds the quarantined."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT l.rows_received, l.rows_loaded, l.rows_quarantined, "
                "(SELECT count(*) FROM quarantine.rejected_row q WHERE q.load_id = l.load_id) "
                "FROM staging.load l WHERE l.status = 'loaded'"
            )
        ).all()
    assert rows, "something was loaded"
    for received, loaded, quarantined, in_quarantine in rows:
        assert received == loaded + quarantined and quarantined == in_quarantine


def standing(engine, source_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM core.source_record WHERE source_id = :s AND withdrawn_on IS NULL"),
            {"s": source_id},
        ).scalar()


def drop_statuses(engine, source_id: str) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT extract_date, status FROM raw.drop WHERE source_id = :s ORDER BY drop_id"),
                {"s": source_id},
            )
        ]


def first_night(night_env, fresh_warehouse, source_id: str, persons: int) -> tuple[sa.Engine, int]:
    """The source's first night generated and loaded; the engine and the source's standing records."""
    _, engine = fresh_warehouse
    night_env(persons=persons)
    assert ingest_source(engine, source_id, START).status == "loaded"
    return engine, standing(engine, source_id)


def folder(root: Path, source_id: str, night: dt.date) -> Path:
    return root / "landing" / source_id / night.isoformat()


def copy_drop(root: Path, source_id: str, night: dt.date, to: dt.date) -> Path:
    """The night's drop delivered again, byte for byte, as the drop of ``to`` (its manifest re-dated)."""
    src, dst = folder(root, source_id, night), folder(root, source_id, to)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest["extract_date"] = to.isoformat()
    (dst / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return dst


def read_csv(
    path: Path, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[list[str], list[list[str]], str]:
    data = path.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in data else "\n"
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""), delimiter=delimiter))
    return rows[0], rows[1:], newline


def write_csv(
    path: Path, header, rows, newline: str, encoding: str = "utf-8", delimiter: str = ",", bom: bool = False
) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode(encoding))
    refresh_manifest(path.parent, path.name, len(rows))


NPU = dict(encoding="utf-8", delimiter=";", bom=True)


def keep_npu_rows(root: Path, night: dt.date, share: float) -> int:
    """Cut the police snapshot of ``night`` to its first ``share`` of rows, manifest matching: well formed."""
    path = folder(root, "npu_appeals", night) / "appeals.csv"
    header, rows, newline = read_csv(path, "utf-8", ";")
    kept = rows[: int(len(rows) * share)]
    write_csv(path, header, kept, newline, **NPU)
    return len(rows) - len(kept)


class Timeout(Exception):
    pass


@pytest.fixture
def deadline():
    """Fail a test that hangs (a FIFO read forever) instead of hanging the suite."""

    def ring(*_):
        raise Timeout("the ingest hung")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------------------------------ 1. COPY's CSV
def test_1_a_night_of_re_delivered_snapshots_with_two_changed_children_is_resolved_and_published(
    night_env, fresh_warehouse, tmp_path
):
    """The second night re-delivers every snapshot's first-night files and only the children's list changes two
    statuses: no deterministic edge is new, and the edges' frame reached COPY through an empty first chunk."""
    from ridni_dev.demo import run_night_in_process

    _, engine = fresh_warehouse
    night_env(persons=250)
    first = run_night_in_process(engine, START)
    assert first["publish_hq"] == "success"
    for c in (
        "npu_appeals",
        "coordhq_cases",
        "sbu_jc",
        "ombudsman",
        "icrc_confirmations",
        "children_deported",
    ):
        copy_drop(tmp_path, c, START, N2)
    path = folder(tmp_path, "children_deported", N2) / "children.csv"
    header, rows, newline = read_csv(path)
    status = header.index("status")
    changed = [r for r in rows if r[status] == "deported"][:2]
    assert len(changed) == 2
    for r in changed:
        r[status] = "returned"
    write_csv(path, header, rows, newline)

    second = run_night_in_process(engine, N2)  # crashed in resolve_persons (COPY into core.link_edge)
    assert second["resolve_persons"] == second["publish_hq"] == "success"
    assert second["ingest_children_deported"] == "loaded"
    assert {second[f"ingest_{c}"] for c in ("npu_appeals", "ombudsman", "sbu_jc")} == {"loaded"}
    assert quality(engine, "npu_appeals", N2)["drop_status"] == "unchanged"
    with engine.connect() as conn:
        assert conn.execute(
            sa.text("SELECT count(*) FROM audit.publication WHERE night = :n"), {"n": N2}
        ).scalar()
        moved = conn.execute(
            sa.text("SELECT count(*) FROM marts.change_log WHERE night = :n AND to_category = 'returned'"),
            {"n": N2},
        ).scalar()
    assert moved >= 1
    balanced(engine)


# ------------------------------------------------------------------------------------------ 2. back to an earlier state
def test_2_a_snapshot_that_returns_to_an_earlier_state_is_loaded_and_reinstates(
    night_env, fresh_warehouse, tmp_path
):
    engine, before = first_night(night_env, fresh_warehouse, "ombudsman", 250)
    path_b = copy_drop(tmp_path, "ombudsman", START, N2) / "civilians.csv"
    header, rows, newline = read_csv(path_b)
    write_csv(path_b, header, rows[3:], newline)  # B: three records gone
    assert ingest_source(engine, "ombudsman", N2).withdrawn == 3
    assert standing(engine, "ombudsman") == before - 3
    copy_drop(tmp_path, "ombudsman", START, N3)  # A again, byte for byte
    assert sha256_of(folder(tmp_path, "ombudsman", N3) / "civilians.csv") == sha256_of(
        folder(tmp_path, "ombudsman", START) / "civilians.csv"
    )

    report = ingest_source(engine, "ombudsman", N3)
    assert report.status == "loaded" and [f.status for f in report.files] == ["loaded"]
    assert standing(engine, "ombudsman") == before
    with engine.connect() as conn:
        changes = dict(
            conn.execute(
                sa.text(
                    "SELECT change, count(*) FROM core.source_record_version "
                    "WHERE valid_from = :n GROUP BY change"
                ),
                {"n": N3},
            ).all()
        )
    assert changes == {"reinstated": 3}
    assert quality(engine, "ombudsman", N3)["drop_status"] == "loaded"
    # the same file the next night again: the latest state, unchanged
    copy_drop(tmp_path, "ombudsman", START, N3 + dt.timedelta(days=1))
    again = ingest_source(engine, "ombudsman", N3 + dt.timedelta(days=1))
    assert [f.status for f in again.files] == ["skipped_duplicate"]
    assert quality(engine, "ombudsman", N3 + dt.timedelta(days=1))["drop_status"] == "unchanged"
    balanced(engine)


# ------------------------------------------------------------------------------------------ 3. changed_at order
REGISTER = dict(encoding="cp1251")


def _register_delta(root: Path, night: dt.date, seq: int, rows: list[list[str]], header) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, *rows])
    name = f"register_{seq:06d}.csv"
    return write_drop(
        folder(root, "mvs_register", night),
        "mvs_register",
        night,
        {name: out.getvalue().encode("cp1251")},
        {name: len(rows)},
        seq=seq,
    )


def _first_register(root: Path):
    header, rows, _ = read_csv(folder(root, "mvs_register", START) / "register_000001.csv", "cp1251")
    return header, rows


def register_first_night(night_env, fresh_warehouse, tmp_path):
    """The register's seq 1 loaded, the generated second night taken away (the test writes its own seq 2);
    the engine, the delta's header, its column positions and its rows."""
    _, engine = fresh_warehouse
    synth = night_env(persons=60, nights=2)
    assert ingest_source(engine, "mvs_register", START).status == "loaded"
    shutil.rmtree(folder(tmp_path, "mvs_register", synth.nights[1]))
    header, rows = _first_register(tmp_path)
    return engine, header, {h: i for i, h in enumerate(header)}, rows


def _register_entry(engine, key: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT status, withdrawn_on FROM core.source_record "
                    "WHERE source_id = 'mvs_register' AND record_key = :k"
                ),
                {"k": key},
            )
            .mappings()
            .one()
        )


@pytest.mark.parametrize("moments", ["later change first", "one moment twice"])
def test_3_register_changes_apply_in_changed_at_order(night_env, fresh_warehouse, tmp_path, moments):
    """Two changes of one entry in one delta, the 12:00 one (returned) before the 09:00 one (captivity) in the file:
    the entry ends returned. Two changes of one entry at the same moment are ambiguous: the contract's key
    (register_no, changed_at) makes them a duplicate, quarantined both, the entry left as it stood."""
    engine, header, col, rows = register_first_night(night_env, fresh_warehouse, tmp_path)
    entry = next(r for r in rows if r[col["op"]] == "I")
    stood = _register_entry(engine, entry[col["register_no"]])["status"]
    returned, captivity = list(entry), list(entry)
    for row, code, at in ((returned, "50", "T12:00:00"), (captivity, "40", "T09:00:00")):
        row[col["op"]], row[col["status_code"]] = "U", code
        row[col["changed_at"]] = N2.isoformat() + (at if moments == "later change first" else "T10:00:00")
    _register_delta(tmp_path, N2, 2, [returned, captivity], header)

    report = ingest_source(engine, "mvs_register", N2)
    assert report.status == "loaded"
    if moments == "later change first":
        assert (
            report.rows_loaded == 2
            and _register_entry(engine, entry[col["register_no"]])["status"] == "returned"
        )
    else:
        assert (
            report.rows_quarantined == 2
            and _register_entry(engine, entry[col["register_no"]])["status"] == stood
        )
    balanced(engine)


# ------------------------------------------------------------------------------------------ 4. held withdrawals
def test_4_a_partial_snapshot_holds_its_withdrawals_until_an_operator_confirms(
    night_env, fresh_warehouse, tmp_path, monkeypatch
):
    url, engine = fresh_warehouse
    night_env(persons=250)
    assert ingest_source(engine, "npu_appeals", START).status == "loaded"
    before = standing(engine, "npu_appeals")
    copy_drop(tmp_path, "npu_appeals", START, N2)
    cut = keep_npu_rows(tmp_path, N2, 0.6)  # 60 % of the rows, manifest matching

    report = ingest_source(engine, "npu_appeals", N2)
    assert report.status == "loaded" and report.withdrawn == 0 and report.withdrawals_held == cut
    assert standing(engine, "npu_appeals") == before, "nothing withdrawn yet"
    q = quality(engine, "npu_appeals", N2)
    assert q["drop_status"] == "withdrawals held" and q["withdrawals_held"] == cut
    held = alerts(engine, "withdrawals_held")
    assert len(held) == 1 and f"{cut} of {before}" in held[0] and "confirm-withdrawals" in held[0]

    # the operator confirms (the CLI): the records are withdrawn as of the night that left them out
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    assert cli.main(["confirm-withdrawals", "--source", "npu_appeals", "--night", N2.isoformat()]) == 0
    assert standing(engine, "npu_appeals") == before - cut
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM core.source_record WHERE source_id = 'npu_appeals' "
                    "AND withdrawn_on = :n"
                ),
                {"n": N2},
            ).scalar()
            == cut
        )
    q = quality(engine, "npu_appeals", N2)
    assert q["drop_status"] == "loaded" and q["withdrawals_held"] == 0
    assert len(alerts(engine, "withdrawals_confirmed")) == 1
    assert cli.main(["confirm-withdrawals", "--source", "npu_appeals"]) == 1, "nothing left to confirm"
    balanced(engine)


def test_4_the_dag_param_confirms_and_a_later_snapshot_supersedes_a_hold(
    night_env, fresh_warehouse, tmp_path
):
    engine, before = first_night(night_env, fresh_warehouse, "npu_appeals", 250)
    copy_drop(tmp_path, "npu_appeals", START, N2)
    keep_npu_rows(tmp_path, N2, 0.6)
    assert ingest_source(engine, "npu_appeals", N2).withdrawals_held > 0
    # the export was cut short indeed: the next night's full snapshot supersedes the hold, nothing withdrawn
    copy_drop(tmp_path, "npu_appeals", START, N3)
    assert ingest_source(engine, "npu_appeals", N3).withdrawals_held == 0
    assert standing(engine, "npu_appeals") == before
    assert quality(engine, "npu_appeals", N2)["withdrawals_held"] == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM core.withdrawal_hold")).scalars().all() == [
            "superseded"
        ]

    # a real cut, confirmed through the load task's param (confirm_withdrawals)
    n4 = N3 + dt.timedelta(days=1)
    copy_drop(tmp_path, "npu_appeals", START, n4)
    cut = keep_npu_rows(tmp_path, n4, 0.55)
    assert ingest_source(engine, "npu_appeals", n4).withdrawals_held == cut
    with engine.connect() as conn:
        drop = drops.get(conn, conn.execute(sa.text("SELECT max(drop_id) FROM raw.drop")).scalar())
    report = load_drop(
        engine, contract("npu_appeals"), drop, confirm_withdrawals_held=True, dag_run_id="manual"
    )
    assert report.status == "skipped" and report.withdrawn == cut
    assert standing(engine, "npu_appeals") == before - cut


def test_4_a_small_share_is_withdrawn_at_once(night_env, fresh_warehouse, tmp_path):
    engine, before = first_night(night_env, fresh_warehouse, "npu_appeals", 250)
    copy_drop(tmp_path, "npu_appeals", START, N2)
    cut = keep_npu_rows(tmp_path, N2, 0.97)
    assert 0 < cut <= max(10, before * 0.05)
    report = ingest_source(engine, "npu_appeals", N2)
    assert report.withdrawn == cut and report.withdrawals_held == 0 and not alerts(engine, "withdrawals_held")


# ------------------------------------------------------------------------------------------ 5. replayed delta
def test_5_a_replayed_delta_is_skipped_when_the_same_and_refused_when_it_differs(
    night_env, fresh_warehouse, tmp_path
):
    _, engine = fresh_warehouse
    synth = night_env(persons=60, nights=2)
    assert ingest_source(engine, "mvs_register", START).status == "loaded"
    core = fingerprint(engine, ["core"])
    shutil.rmtree(folder(tmp_path, "mvs_register", synth.nights[1]))
    copy_drop(tmp_path, "mvs_register", START, N2)  # seq 1 again, same content
    same = ingest_source(engine, "mvs_register", N2)
    assert same.status == "skipped" and not alerts(engine)

    n3 = folder(tmp_path, "mvs_register", N3)
    header, rows = _first_register(tmp_path)
    rows[0][header.index("status_code")] = "50" if rows[0][header.index("status_code")] != "50" else "10"
    _register_delta(tmp_path, N3, 1, rows, header)  # seq 1 again, one status changed
    assert n3.exists()
    refused = ingest_source(engine, "mvs_register", N3)
    assert refused.status == "rejected" and "seq 1 was applied before" in refused.reason
    assert len(alerts(engine, "seq_replayed")) == 1
    assert quality(engine, "mvs_register", N3)["drop_status"] == "rejected"
    assert diff(fingerprint(engine, ["core"]), core) == {}


# ------------------------------------------------------------------------------------------ 6. special files
def _entry_cases(tmp_path: Path) -> dict:
    outside = tmp_path / "outside.csv"

    def passwd(d):
        (d / "zz_extra.csv").symlink_to("/etc/passwd")

    def data_outside(d):  # the data file a link to a copy outside the landing zone (manifest matching)
        shutil.move(d / "appeals.csv", outside)
        (d / "appeals.csv").symlink_to(outside)

    return {
        "a symbolic link to /etc/passwd": (passwd, "1 symbolic link"),
        "the data file a link outside the drop": (data_outside, "1 symbolic link"),
        "a FIFO": (lambda d: os.mkfifo(d / "zz.csv"), "1 FIFO"),
        "a link to /dev/zero": (lambda d: (d / "zz.csv").symlink_to("/dev/zero"), "1 symbolic link"),
        "a sub-folder": (lambda d: (d / "sub").mkdir(), "1 sub-folder"),
        "a dangling link": (
            lambda d: (d / "zz.csv").symlink_to(tmp_path / "nothing-here"),
            "1 symbolic link",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "a symbolic link to /etc/passwd",
        "the data file a link outside the drop",
        "a FIFO",
        "a link to /dev/zero",
        "a sub-folder",
        "a dangling link",
    ],
)
def test_6_only_regular_files_are_read_anything_else_refuses_the_drop(
    night_env, fresh_warehouse, tmp_path, deadline, case
):
    _, engine = fresh_warehouse
    night_env(persons=60)
    make, named = _entry_cases(tmp_path)[case]
    make(folder(tmp_path, "npu_appeals", START))
    report = ingest_source(engine, "npu_appeals", START)
    assert report.status == "rejected" and named in report.reason and "only regular files" in report.reason
    with engine.connect() as conn:
        archived = set(conn.execute(sa.text("SELECT sha256 FROM raw.file")).scalars())
        rejected = conn.execute(sa.text("SELECT reason FROM quarantine.rejected_drop")).scalars().all()
        assert conn.execute(sa.text("SELECT count(*) FROM core.source_record")).scalar() == 0
    assert sha256_of(Path("/etc/passwd")) not in archived, "never archive a file from outside the drop"
    assert len(archived) == (1 if case == "the data file a link outside the drop" else 2)  # manifest (+ data)
    assert len(rejected) == 1 and len(alerts(engine, "drop_rejected")) == 1
    assert quality(engine, "npu_appeals", START)["drop_status"] == "rejected"


def test_6_a_night_folder_that_is_a_link_is_refused(night_env, fresh_warehouse, tmp_path, deadline):
    _, engine = fresh_warehouse
    night_env(persons=60)
    real = folder(tmp_path, "npu_appeals", START)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(real, elsewhere)
    real.symlink_to(elsewhere)
    report = ingest_source(engine, "npu_appeals", START)
    assert report.status == "rejected" and "folder is itself a symbolic link" in report.reason
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM raw.file")).scalar() == 0


# ------------------------------------------------------------------------------------------ 8. no delivered string
def _no_person_anywhere(engine) -> None:
    with engine.connect() as conn:
        texts = (
            conn.execute(
                sa.text(
                    "SELECT message FROM audit.alert UNION ALL SELECT coalesce(quarantine_ref, '') FROM audit.alert "
                    "UNION ALL SELECT reason || coalesce(file_name, '') FROM quarantine.rejected_drop "
                    "UNION ALL SELECT coalesce(reason, '') FROM raw.drop "
                    "UNION ALL SELECT coalesce(file_name, '') FROM audit.validation"
                )
            )
            .scalars()
            .all()
        )
    assert texts and not [t for t in texts if "Петренко" in t or "Petrenko" in t]


@pytest.mark.parametrize(
    "case",
    [
        "sheet renamed",
        "extra file named after a person",
        "listed file named after a person",
        "header renamed",
    ],
)
def test_8_alerts_and_reasons_never_quote_a_delivered_string(night_env, fresh_warehouse, tmp_path, case):
    import openpyxl

    _, engine = fresh_warehouse
    night_env(persons=60)
    if case == "sheet renamed":
        source_id = "sbu_jc"
        path = folder(tmp_path, source_id, START) / "registry.xlsx"
        wb = openpyxl.load_workbook(path)
        wb.active.title = PERSON
        wb.save(path)
        refresh_manifest(path.parent, path.name)
    elif case == "header renamed":
        source_id = "sbu_jc"
        path = folder(tmp_path, source_id, START) / "registry.xlsx"
        wb = openpyxl.load_workbook(path)
        wb.active.cell(1, 3).value = "Petrenko Ivan"
        wb.save(path)
        refresh_manifest(path.parent, path.name)
    elif case == "extra file named after a person":
        source_id = "npu_appeals"
        (folder(tmp_path, source_id, START) / f"{PERSON}.csv").write_text("x")
    else:  # listed in the manifest, and it matches a wildcard pattern: register_*.csv
        source_id = "mvs_register"
        d = folder(tmp_path, source_id, START)
        (d / "register_000001.csv").rename(d / "register_Petrenko Ivan.csv")
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"][0]["name"] = "register_Petrenko Ivan.csv"
        (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (d / "register_Petrenko Ivan.csv").write_bytes(b"not,a,register\r\n")
        refresh_manifest(d, "register_Petrenko Ivan.csv", 0)
    report = ingest_source(engine, source_id, START)
    assert report.status == "rejected"
    assert "Петренко" not in report.reason and "Petrenko" not in report.reason
    _no_person_anywhere(engine)
    assert quality(engine, source_id, START)["drop_status"] == "rejected"


# ------------------------------------------------------------------------------------------ 9. smaller ones
@pytest.mark.parametrize("seq", ["2", 1e20, True, 2**40, 0, -3, None])
def test_9_a_manifest_seq_that_is_not_a_positive_integer_refuses_the_drop(
    night_env, fresh_warehouse, tmp_path, seq
):
    _, engine = fresh_warehouse
    night_env(persons=60)
    d = folder(tmp_path, "mvs_register", START)
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    manifest["seq"] = seq
    (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = ingest_source(engine, "mvs_register", START)
    assert report.status == "rejected" and "seq missing or not a positive integer" in report.reason
    assert drop_statuses(engine, "mvs_register") == [(START, "rejected")]
    assert len(alerts(engine, "drop_rejected")) == 1
    assert quality(engine, "mvs_register", START)["drop_status"] == "rejected"


def test_9_updates_and_withdrawals_of_entries_never_inserted_are_quarantined(
    night_env, fresh_warehouse, tmp_path
):
    engine, header, col, rows = register_first_night(night_env, fresh_warehouse, tmp_path)
    known = next(r for r in rows if r[col["op"]] == "I")
    update, phantom_u, phantom_d, insert_then_update = (list(known) for _ in range(4))
    update[col["op"]], update[col["status_code"]] = "U", "40"
    phantom_u[col["op"]], phantom_u[col["register_no"]] = "U", "99990001"
    phantom_d[col["op"]], phantom_d[col["register_no"]] = "D", "99990002"
    insert_then_update[col["op"]], insert_then_update[col["register_no"]] = "I", "99990003"
    later = list(insert_then_update)
    later[col["op"]], later[col["changed_at"]] = "U", N2.isoformat() + "T23:00:00"
    for r in (update, phantom_u, phantom_d, insert_then_update):
        r[col["changed_at"]] = N2.isoformat() + "T08:00:00"
    _register_delta(tmp_path, N2, 2, [update, phantom_u, phantom_d, later, insert_then_update], header)

    report = ingest_source(engine, "mvs_register", N2)
    assert report.status == "loaded" and (report.rows_loaded, report.rows_quarantined) == (3, 2)
    with engine.connect() as conn:
        reasons = conn.execute(
            sa.text("SELECT line_no, reasons FROM quarantine.rejected_row ORDER BY line_no")
        ).all()
        phantoms = conn.execute(
            sa.text(
                "SELECT count(*) FROM core.source_record WHERE record_key LIKE '9999000_' "
                "AND record_key <> '99990003'"
            )
        ).scalar()
    assert [(n, r) for n, r in reasons] == [
        (3, ["parse(op): U for a register entry never inserted"]),
        (4, ["parse(op): D for a register entry never inserted"]),
    ]
    assert phantoms == 0 and _register_entry(engine, "99990003")["status"] is not None
    assert len(alerts(engine, "rows_quarantined")) == 1
    q = quality(engine, "mvs_register", N2)
    assert (q["drop_status"], q["rows_received"], q["rows_loaded"], q["rows_quarantined"]) == (
        "loaded",
        5,
        3,
        2,
    )
    balanced(engine)


def test_9_values_under_a_column_without_a_header_name_refuse_the_file(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=60)
    path = folder(tmp_path, "npu_appeals", START) / "appeals.csv"
    header, rows, newline = read_csv(path, "utf-8", ";")
    write_csv(path, [*header[:3], "", *header[3:]], [[*r[:3], "x", *r[3:]] for r in rows], newline, **NPU)
    report = ingest_source(engine, "npu_appeals", START)
    assert report.status == "rejected" and "values under column 4, which has no header name" in report.reason
    assert quality(engine, "npu_appeals", START)["drop_status"] == "rejected"
    assert standing(engine, "npu_appeals") == 0


def test_9_a_loaded_drop_changed_later_in_the_landing_zone_stays_loaded(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=60)
    assert ingest_source(engine, "npu_appeals", START).status == "loaded"
    core = fingerprint(engine, ["core"])
    path = folder(tmp_path, "npu_appeals", START) / "appeals.csv"
    original = path.read_bytes()
    path.write_bytes(original[:-40])  # altered after the load; the manifest still names the original
    tampered = ingest_source(engine, "npu_appeals", START)
    assert tampered.status == "rejected" and "sha256 differs" in tampered.reason
    assert drop_statuses(engine, "npu_appeals") == [(START, "loaded"), (START, "rejected")]
    assert quality(engine, "npu_appeals", START)["drop_status"] == "loaded"
    path.write_bytes(original)  # restored
    assert ingest_source(engine, "npu_appeals", START).status == "skipped"
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT status, reason FROM raw.drop ORDER BY drop_id LIMIT 1")).one()
    assert tuple(first) == ("loaded", None)
    assert diff(fingerprint(engine, ["core"]), core) == {}


def test_9_a_night_re_delivered_with_other_content_after_it_was_loaded_is_alerted(
    night_env, fresh_warehouse, tmp_path
):
    _, engine = fresh_warehouse
    night_env(persons=250)
    assert ingest_source(engine, "ombudsman", START).status == "loaded"
    path = folder(tmp_path, "ombudsman", START) / "civilians.csv"
    header, rows, newline = read_csv(path)
    write_csv(path, header, rows[1:], newline)  # a corrected extract of the same night
    report = ingest_source(engine, "ombudsman", START)
    assert report.status == "loaded" and report.withdrawn == 1
    redelivered = alerts(engine, "night_redelivered")
    assert len(redelivered) == 1 and "re-delivered" in redelivered[0]
    assert quality(engine, "ombudsman", START)["drop_status"] == "loaded"


def test_9_two_ingests_of_one_source_night_at_once_load_it_once(night_env, fresh_warehouse):
    from ridni import db

    url, engine = fresh_warehouse
    night_env(persons=250)
    engines = [db.make_engine(url) for _ in range(2)]
    results: list = []
    barrier = threading.Barrier(2)

    def run(e):
        barrier.wait()
        try:
            results.append(ingest_source(e, "npu_appeals", START).status)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever the second ingest died of
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for e in engines:
        e.dispose()
    assert sorted(results) == ["loaded", "skipped"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM raw.drop")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM staging.load")).scalar() == 1
    balanced(engine)


# ------------------------------------------------------------------------------------------ faults of our own
def _manifest(root: Path, source_id: str, night: dt.date = START) -> tuple[Path, dict]:
    path = folder(root, source_id, night) / "manifest.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def _refused(
    engine, source_id: str, night: dt.date, words: str, core_before=None, page: str = "rejected"
) -> None:
    """The drop refused for the reason, recorded and alerted once, the page's status (``page``), core unchanged."""
    with engine.connect() as conn:
        reasons = (
            conn.execute(
                sa.text(
                    "SELECT reason FROM quarantine.rejected_drop WHERE source_id = :s AND extract_date = :n"
                ),
                {"s": source_id, "n": night},
            )
            .scalars()
            .all()
        )
    assert len(reasons) == 1 and words in reasons[0], reasons
    assert len(alerts(engine, "drop_rejected")) == 1
    assert quality(engine, source_id, night)["drop_status"] == page
    if core_before is not None:
        assert diff(fingerprint(engine, ["core"]), core_before) == {}


def test_own_1_a_jsonl_snapshot_cut_at_a_record_boundary_with_a_matching_manifest_is_held(
    night_env, fresh_warehouse, tmp_path
):
    engine, before = first_night(night_env, fresh_warehouse, "coordhq_cases", 250)
    path = copy_drop(tmp_path, "coordhq_cases", START, N2) / "cases.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    kept = lines[: len(lines) * 7 // 10]
    path.write_bytes(b"".join(kept))
    refresh_manifest(path.parent, path.name, len(kept))
    report = ingest_source(engine, "coordhq_cases", N2)
    assert (
        report.status == "loaded"
        and report.withdrawals_held == len(lines) - len(kept)
        and report.withdrawn == 0
    )
    assert standing(engine, "coordhq_cases") == before
    assert quality(engine, "coordhq_cases", N2)["drop_status"] == "withdrawals held"
    assert len(alerts(engine, "withdrawals_held")) == 1
    balanced(engine)


def test_own_2_a_register_change_stamped_in_the_future_is_quarantined(night_env, fresh_warehouse, tmp_path):
    engine, header, col, rows = register_first_night(night_env, fresh_warehouse, tmp_path)
    skewed, fine = (list(r) for r in rows[:2])
    for r, at in ((skewed, "2027-11-02T08:00:00"), (fine, N2.isoformat() + "T08:00:00")):
        r[col["op"]], r[col["changed_at"]] = "U", at
    _register_delta(tmp_path, N2, 2, [skewed, fine], header)
    report = ingest_source(engine, "mvs_register", N2)
    assert (report.status, report.rows_loaded, report.rows_quarantined) == ("loaded", 1, 1)
    with engine.connect() as conn:
        reasons = conn.execute(sa.text("SELECT reasons FROM quarantine.rejected_row")).scalar_one()
    assert reasons == ["date_order(changed_at<=extract_date)"]
    assert len(alerts(engine, "rows_quarantined")) == 1
    balanced(engine)


def test_own_3_a_drop_for_a_future_night_is_refused(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=60)
    future = dt.date.today() + dt.timedelta(days=30)
    copy_drop(tmp_path, "npu_appeals", START, future)
    assert ingest_source(engine, "npu_appeals", future).status == "rejected"
    _refused(engine, "npu_appeals", future, "30 days in the future")
    assert standing(engine, "npu_appeals") == 0


@pytest.mark.parametrize("lie", [+1, -1])
def test_own_4_a_manifest_whose_row_count_lies_by_one_is_refused(night_env, fresh_warehouse, tmp_path, lie):
    _, engine = fresh_warehouse
    night_env(persons=60)
    path, manifest = _manifest(tmp_path, "npu_appeals")
    manifest["files"][0]["rows"] += lie
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert ingest_source(engine, "npu_appeals", START).status == "rejected"
    _refused(engine, "npu_appeals", START, "differs from the manifest's")
    assert standing(engine, "npu_appeals") == 0


def test_own_5_an_xlsx_with_merged_cells_loads_what_it_can_and_quarantines_the_rest(
    night_env, fresh_warehouse, tmp_path
):
    """Merged cells keep their value in the first cell only: a record whose case number is merged away cannot
    be identified and is quarantined; a merged free-text cell just leaves the others empty."""
    import openpyxl

    _, engine = fresh_warehouse
    night_env(persons=250)
    path = folder(tmp_path, "sbu_jc", START) / "registry.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    case_col, source_col = header.index("Номер справи") + 1, header.index("Джерело") + 1
    ws.merge_cells(start_row=2, start_column=case_col, end_row=3, end_column=case_col)  # row 3 loses its key
    ws.merge_cells(start_row=4, start_column=source_col, end_row=5, end_column=source_col)
    wb.save(path)
    rows = ws.max_row - 1
    refresh_manifest(path.parent, path.name, rows)
    report = ingest_source(engine, "sbu_jc", START)
    assert (report.status, report.rows_loaded, report.rows_quarantined) == ("loaded", rows - 1, 1)
    with engine.connect() as conn:
        line, reasons = conn.execute(sa.text("SELECT line_no, reasons FROM quarantine.rejected_row")).one()
    assert line == 3 and any("record_key" in r for r in reasons)
    balanced(engine)


def test_own_6_a_snapshot_older_than_the_one_loaded_is_refused(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=250)
    path = copy_drop(tmp_path, "ombudsman", START, N2) / "civilians.csv"
    header, rows, newline = read_csv(path)
    write_csv(path, header, rows[:-1], newline)
    assert ingest_source(engine, "ombudsman", N2).status == "loaded"
    core = fingerprint(engine, ["core"])
    assert ingest_source(engine, "ombudsman", START).status == "rejected"  # the first night arrives late
    _refused(engine, "ombudsman", START, "would take the source back in time", core)


def test_own_7_a_manifest_listing_one_file_twice_is_refused(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=60)
    path, manifest = _manifest(tmp_path, "npu_appeals")
    manifest["files"].append(dict(manifest["files"][0]))
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert ingest_source(engine, "npu_appeals", START).status == "rejected"
    _refused(engine, "npu_appeals", START, "listed 2 times")


@pytest.mark.parametrize("rows", [True, "74", 74.0, -1])
def test_own_8_a_manifest_row_count_that_is_not_a_count_is_refused(
    night_env, fresh_warehouse, tmp_path, rows
):
    _, engine = fresh_warehouse
    night_env(persons=60)
    path, manifest = _manifest(tmp_path, "npu_appeals")
    manifest["files"][0]["rows"] = rows
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert ingest_source(engine, "npu_appeals", START).status == "rejected"
    _refused(engine, "npu_appeals", START, "manifest row count missing or not a non-negative integer")


@pytest.mark.parametrize("manifest", ["huge", "nested"])
def test_own_9_a_huge_or_deeply_nested_manifest_is_refused_unread(
    night_env, fresh_warehouse, tmp_path, manifest
):
    _, engine = fresh_warehouse
    night_env(persons=60)
    path, _ = _manifest(tmp_path, "npu_appeals")
    path.write_text(" " * (2 << 20) + "{}" if manifest == "huge" else "[" * 100_000 + "]" * 100_000)
    assert ingest_source(engine, "npu_appeals", START).status == "rejected"
    _refused(
        engine, "npu_appeals", START, "larger than" if manifest == "huge" else "unreadable: RecursionError"
    )


def test_own_10_a_trailing_unnamed_empty_column_still_loads(night_env, fresh_warehouse, tmp_path):
    """The counterpart of item 9: a trailing delimiter on every line (an empty column without a name) holds no data
    and the file loads."""
    _, engine = fresh_warehouse
    night_env(persons=60)
    path = folder(tmp_path, "npu_appeals", START) / "appeals.csv"
    header, rows, newline = read_csv(path, "utf-8", ";")
    write_csv(path, [*header, ""], [[*r, ""] for r in rows], newline, **NPU)
    report = ingest_source(engine, "npu_appeals", START)
    assert report.status == "loaded" and report.rows_loaded == len(rows)
    balanced(engine)


def test_own_11_a_file_replaced_by_a_link_after_it_was_archived_is_not_followed(
    night_env, fresh_warehouse, tmp_path
):
    """A drop loaded, then its data file replaced by a link to a host file with the same name: the next run sees
    a link and refuses that delivery; the loaded drop, the archive and core stay as they were."""
    _, engine = fresh_warehouse
    night_env(persons=60)
    assert ingest_source(engine, "npu_appeals", START).status == "loaded"
    core = fingerprint(engine, ["core"])
    path = folder(tmp_path, "npu_appeals", START) / "appeals.csv"
    path.unlink()
    path.symlink_to("/etc/passwd")
    assert ingest_source(engine, "npu_appeals", START).status == "rejected"
    _refused(engine, "npu_appeals", START, "1 symbolic link", core, page="loaded")  # the night's loaded drop
