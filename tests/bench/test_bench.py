"""The benchmark command runs end to end at a tiny scale and writes a complete report.

A smoke test of the instrument, never of the speed: nothing here looks at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ridni.contracts import all_contracts
from ridni_dev import bench


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def runs(root, server_url) -> dict[int, dict]:
    """The same tiny benchmark with the sources one after another (1 worker) and side by side (2 workers)."""
    return {workers: bench.bench(records=800, seed=3, report_path=root / f"report-{workers}.json",
                                 work=root / "work",  # the second run reuses the extracts
                                 server_url=server_url, compare_rows=200, workers=workers,
                                 blocking=workers == 1)
            for workers in (1, 2)}


def test_bench_smoke(runs, root, server_url):
    report = runs[1]
    assert json.loads((root / "report-1.json").read_text())["nights"][0]["night"] == "2026-11-01"
    full, incremental = report["nights"]
    assert (full["kind"], incremental["kind"]) == ("full", "incremental")
    for night in (full, incremental):
        assert [s["stage"] for s in night["stages"]] == bench.STAGES
        assert all(s["peak_rss_mb"] > 0 for s in night["stages"] if s["rows"])
        assert {"verify_archive", "parse", "validate", "load"} <= set(night["per_source_seconds"]["npu_appeals"])
        assert night["ingest_phase"]["workers"] == 1 and not any(s["parallel"] for s in night["stages"])
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
    text = bench.render(report)
    assert "full night" in text and "in this process, one after another" in text

    # its database is gone, and the pipeline's functions are its own again
    name = report["database"].rsplit("/", 1)[1]
    with sa.create_engine(server_url).connect() as conn:
        assert not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first()
    import ridni.ingest.load as load
    from ridni import timing

    assert not hasattr(load.parse_file, "__wrapped__") and not timing._timers
    # parts of the load are timed through the hook the package marks them with (no private function patched)
    assert {"load/row_hash", "load/merge_into_core", "load/withdraw_absent"} <= set(full["substages"])


def test_bench_ingests_in_worker_processes(runs, server_url):
    """--workers 2: the ingest phase ran in two worker processes and loaded exactly what one process loads."""
    serial, parallel = runs[1], runs[2]
    sources = sorted(c.source_id for c in all_contracts())
    pids = parallel["pool"]["pids"]
    assert parallel["workers"] == 2 and len(set(pids)) == 2 and os.getpid() not in pids
    for one, two in zip(serial["nights"], parallel["nights"], strict=True):
        phase = two["ingest_phase"]
        assert phase["workers"] == 2 and phase["pids"] == pids  # the same long-lived workers every night
        assert phase["sources"] == len(sources) and sorted(phase["order"]) == sources
        # submitted largest drop first
        assert [phase["manifest_rows"][s] for s in phase["order"]] == sorted(phase["manifest_rows"].values(),
                                                                             reverse=True)
        assert set(phase["per_worker"]) <= {str(p) for p in phase["pids"]}
        assert sorted(s for w in phase["per_worker"].values() for s in w["sources"]) == sources
        assert [s["stage"] for s in two["stages"] if s["parallel"]] == bench.INGEST_STAGES
        assert "wall time" in two["total_is"] and "workers" in two["peak_rss_is"]
        # the same rows loaded, the same records in core. (Not the persons: linkage trains its model on
        # the records in the order they sit in core, and side by side the sources arrive interleaved.)
        assert two["results"]["ingest"] == one["results"]["ingest"]
        rows = ("verify_archive", "parse", "validate", "load", "standardise", "link")
        assert ({s["stage"]: s["rows"] for s in two["stages"] if s["stage"] in rows}
                == {s["stage"]: s["rows"] for s in one["stages"] if s["stage"] in rows})
        records = ("record_versions", "records_changed", "source_records", "current_source_records", "rows_staged")
        assert {k: two["change"][k] for k in records} == {k: one["change"][k] for k in records}
        # and the workers' writes reached the table statistics (their connections closed after the phase)
        assert loading_writes(two) == loading_writes(one) and loading_writes(two)
        # the workers' per-source stats came back
        assert {"verify_archive", "parse", "validate", "load"} <= set(two["per_source_seconds"]["npu_appeals"])
        # memory: this process and its workers summed; the night's peak is at least the phase's
        assert phase["peak_rss_mb"] > phase["rss_at_start_mb"]["this_process"] > 0
        assert two["peak_rss_with_idle_workers_mb"] >= two["peak_rss_mb"] >= phase["peak_rss_mb"]
        assert all(s["peak_rss_mb"] > 0 for s in two["stages"] if s["rows"])
    full = parallel["nights"][0]
    assert sorted(full["results"]["ingest"]) == sorted(c.source_id for c in all_contracts())
    assert all(r["status"] == "loaded" for r in full["results"]["ingest"].values())
    # the COPY vs to_sql sample came back from the worker that made the largest staging COPY
    cmp_, cmp1 = parallel["copy_vs_to_sql"], serial["copy_vs_to_sql"]
    assert cmp_["rows"] == cmp_["rows_copied"] == cmp_["rows_to_sql"] == 200 and cmp_["rows_differing"] == 0
    assert (cmp_["source"], cmp_["largest_load_rows"]) == (cmp1["source"], cmp1["largest_load_rows"])
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)  # the pool is gone
    text = bench.render(parallel)
    assert f"ingest phase: {len(all_contracts())} sources in 2 workers" in text and "worker-seconds" in text
    name = parallel["database"].rsplit("/", 1)[1]
    with sa.create_engine(server_url).connect() as conn:
        assert not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first()


def loading_writes(night: dict) -> dict:
    return {t: n for t, n in night["rows_written"].items()
            if t.split(".")[0] in ("raw", "staging", "quarantine") or t.startswith("core.source_record")}


def test_recorder_counts_the_other_processes_memory():
    """The sampled resident set is this process's plus the extra processes' (a child holding ~100 MB)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; b = bytearray(100 * 2**20); "
                              "print('ok', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    rec = bench.Recorder()
    try:
        assert child.stdout.readline().strip() == "ok"
        assert rec.rss() - bench.rss_bytes() < 50 * bench.MB  # nothing extra yet
        rec.extra_pids.append(child.pid)
        assert rec.rss() - bench.rss_bytes() > 90 * bench.MB
    finally:
        rec.close()
        child.kill()
        child.wait()


def test_bench_is_a_subcommand():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    bench.add_parser(sub)
    args = parser.parse_args(["bench", "--records", "12000", "--no-incremental"])
    assert (args.records, args.no_incremental, args.func, args.workers) == (12000, True, bench.run, None)
    assert parser.parse_args(["bench", "--workers", "2"]).workers == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--workers", "0"])
