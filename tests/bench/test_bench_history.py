"""The benchmark's history, DAG and backend modes at a tiny scale: what each adds to the report.

Smoke tests of the instrument, never of the speed: nothing here judges a time.
"""

from __future__ import annotations

import argparse
import json

import pytest

from ridni_dev import bench


def test_history_records_each_night_and_what_grows(tmp_path, server_url):
    """Three nights: a point per night with its stages and sizes, the sizes measured from the warehouse and
    the disk, a summary projecting ten years; the linkage backends compared on the first night."""
    path = tmp_path / "report.json"
    report = bench.bench(persons=200, history=3, seed=5, report_path=path, work=tmp_path / "work",
                         server_url=server_url, compare_rows=100, workers=1, blocking=False,
                         backends=["duckdb", "spark"])
    points = report["history"]
    assert [p["n"] for p in points] == [1, 2, 3]
    assert [p["kind"] for p in points] == ["full", "incremental", "incremental"]
    assert json.loads(path.read_text())["history"] == points
    assert len(report["nights"]) == 2  # the full and the first incremental night in full detail
    for p in points:
        assert set(p["stage_seconds"]) == set(bench.STAGES)
        assert p["stage_seconds"]["data_docs"] > 0  # Data Docs are built and timed every night
    # what grows only grows, and every size is there
    for key in (k for k in bench.GROWING if k != "database_bytes"):  # (a database's files may shrink)
        values = [p[key] for p in points]
        assert values[0] > 0 and values == sorted(values), (key, values)
    assert points[-1]["archive_bytes"] > points[0]["archive_bytes"]  # each night's drops are archived
    assert points[-1]["audit_rows"] > points[0]["audit_rows"]
    assert points[0]["source_record_version_rows"] == points[0]["records_changed"]
    assert points[-1]["source_record_version_rows"] == sum(p["records_changed"] for p in points)
    assert points[-1]["data_docs_bytes"] > 0 and (tmp_path / "work" / "data_docs").is_dir()

    summary = report["history_summary"]
    assert summary["nights"] == 3
    assert summary["last_vs_night_2"] == pytest.approx(points[2]["total_seconds"] / points[1]["total_seconds"],
                                                       abs=1e-3)
    growth = summary["growth"]["source_record_version_rows"]
    assert growth["after_night_1"] == points[0]["source_record_version_rows"]
    assert growth["projected_at_ten_years"] >= growth["last"]
    assert "history_last_night_vs_night_2" in report["verdict"]

    backends = report["backends"]
    assert set(backends["runs"]) == {"duckdb", "spark"}
    assert backends["spark_session"]["master"] == "local[2]"
    assert backends["same_persons_as_duckdb"] == {"spark": True}
    assert backends["runs"]["spark"]["pairs_above_lower"] == backends["runs"]["duckdb"]["pairs_above_lower"] > 0
    text = bench.render(report)
    assert "history: 3 nights" in text and "source_record_version_rows" in text and "spark" in text


def test_a_night_through_the_dags_measures_the_orchestration(tmp_path, server_url):
    report = bench.bench(persons=150, incremental=False, seed=6, report_path=tmp_path / "report.json",
                         work=tmp_path / "work", server_url=server_url, compare_rows=100, blocking=False,
                         dags=True)
    assert report["workers"] == 1 and "dag.test()" in report["runner"]
    night = report["nights"][0]
    assert set(night["results"]["dag_states"].values()) == {"success"}
    assert {"resolve_persons", "publish_hq"} <= set(night["results"]["dag_states"])
    o = night["orchestration"]
    # the tasks ran the same steps: every stage saw its rows (publish's are counted by ridni.night.publish,
    # which the publish_hq DAG runs as two tasks, marts and exports), and the runs took longer than the stages
    assert all(s["rows"] > 0 for s in night["stages"] if s["stage"] != "publish")
    assert {s["stage"]: s["seconds"] > 0 for s in night["stages"]} == {s: True for s in bench.STAGES}
    assert o["dags_wall_seconds"] == pytest.approx(night["total_seconds"], abs=0.01)
    assert o["dags_wall_seconds"] > o["stage_seconds"] > 0
    assert o["overhead_seconds"] == pytest.approx(o["dags_wall_seconds"] - o["stage_seconds"], abs=1e-2)
    assert "orchestration overhead" in bench.render(report)


def test_the_new_options_parse():
    parser = argparse.ArgumentParser()
    bench.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--history", "365", "--dags", "--backends", "duckdb,spark"])
    assert (args.history, args.dags, args.backends, args.persons) == (365, True, ["duckdb", "spark"], None)
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--backends", "duckdb,postgres"])
