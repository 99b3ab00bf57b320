"""The benchmark command runs end to end at a tiny scale and writes a complete report.

A smoke test of the instrument, never of the speed: nothing here looks at a time.
"""

from __future__ import annotations

import argparse
import json

import sqlalchemy as sa

from ridni import bench


def test_bench_smoke(tmp_path, server_url):
    report_path = tmp_path / "report.json"
    report = bench.bench(records=800, seed=3, report_path=report_path, work=tmp_path / "work",
                         server_url=server_url, compare_rows=200)

    assert json.loads(report_path.read_text())["nights"][0]["night"] == "2026-11-01"
    full, incremental = report["nights"]
    assert (full["kind"], incremental["kind"]) == ("full", "incremental")
    for night in (full, incremental):
        assert [s["stage"] for s in night["stages"]] == bench.STAGES
        assert all(s["peak_rss_mb"] > 0 for s in night["stages"] if s["rows"])
        assert {"verify_archive", "parse", "validate", "load"} <= set(night["per_source_seconds"]["npu_appeals"])
    # every stage of the full night saw rows; the records loaded are the records linked
    assert all(s["rows"] > 0 for s in full["stages"])
    rows = {s["stage"]: s["rows"] for s in full["stages"]}
    assert rows["parse"] == rows["validate"] == sum(report["generation"]["rows_per_night"]["2026-11-01"].values())
    assert rows["standardise"] == rows["link"] == full["change"]["source_records"]
    # the second night changes a small part of the records
    assert 0 < incremental["change"]["changed_share"] < 0.1

    cmp_ = report["copy_vs_to_sql"]
    assert cmp_["rows"] == cmp_["rows_copied"] == cmp_["rows_to_sql"] == 200 and cmp_["rows_differing"] == 0
    b = report["blocking"]
    assert 0 < b["blocked_comparisons"] < b["all_pairs"] and 0 < b["blocking_recall"] <= 1
    assert report["machine"]["postgresql"] and report["machine"]["logical_cpus"]
    assert set(report["verdict"]) >= {"full_night_seconds", "full_night_peak_rss_mb", "incremental_night_seconds"}
    assert "full night" in bench.render(report)

    # its database is gone, and the pipeline's functions are its own again
    name = report["database"].rsplit("/", 1)[1]
    with sa.create_engine(server_url).connect() as conn:
        assert not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first()
    import ridni.ingest.load as load

    assert not hasattr(load.parse_file, "__wrapped__")


def test_bench_is_a_subcommand():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    bench.add_parser(sub)
    args = parser.parse_args(["bench", "--records", "12000", "--no-incremental"])
    assert (args.records, args.no_incremental, args.func) == (12000, True, bench.run)
