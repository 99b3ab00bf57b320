"""Determinism, incrementality, nights without exchanges, the command line."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest
from synth_files import START, drop_dir

from ridni_dev.synth import FAULTS, SOURCE_IDS, generate, records_to_persons
from ridni_dev.synth import cli as synth_cli
from ridni_dev.synth.generate import RECORDS_PER_PERSON


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_drops_and_truth(tmp_path):
    a = generate(tmp_path / "a", seed=11, persons=300, nights=2, faults=["garbage_rows"])
    b = generate(tmp_path / "b", seed=11, persons=300, nights=2, faults=["garbage_rows"])
    files_a, files_b = _files(a.out_dir), _files(b.out_dir)
    assert files_a.keys() == files_b.keys()
    assert any(name.endswith("registry.xlsx") for name in files_a)
    different = [name for name in files_a if files_a[name] != files_b[name]]
    assert different == []
    c = generate(tmp_path / "c", seed=12, persons=300, nights=1)
    name = "landing/npu_appeals/2026-11-01/appeals.csv"
    assert _files(c.out_dir)[name] != files_a[name]


def test_more_nights_repeat_the_first_ones(tmp_path):
    short = generate(tmp_path / "short", seed=5, persons=300, nights=2, start_date=dt.date(2026, 11, 29))
    long = generate(tmp_path / "long", seed=5, persons=300, nights=3, start_date=dt.date(2026, 11, 29))
    files_short, files_long = _files(short.out_dir), _files(long.out_dir)
    assert set(files_short) <= set(files_long)
    assert [n for n in files_short if files_short[n] != files_long[n]] == []
    assert any("2026-12-01" in n for n in files_long)  # the third night crosses into a new month's cohort


def test_generating_again_into_the_same_folder_replaces_the_nights(tmp_path):
    generate(tmp_path, seed=1, persons=200, nights=1, faults=["missing_manifest"])
    r = generate(tmp_path, seed=1, persons=200, nights=1)
    assert (drop_dir(r, "coordhq_cases", START) / "manifest.json").exists()
    assert r.faults == []


def test_exchange_files_only_on_exchange_nights(tmp_path):
    r = generate(tmp_path, seed=1, persons=300, nights=6)
    exchange_nights = {d.night for d in r.drops if d.source_id == "exchange_returns"}
    assert START in exchange_nights  # the first night always carries the eve's exchange
    assert len(exchange_nights) < 6
    for night in r.nights:
        folder = drop_dir(r, "exchange_returns", night)
        assert folder.exists() == (night in exchange_nights)
        for sid in SOURCE_IDS:
            if sid != "exchange_returns":
                assert (drop_dir(r, sid, night) / "manifest.json").exists()


def test_records_option_scales_the_population():
    assert records_to_persons(1_000_000) == pytest.approx(1_000_000 / RECORDS_PER_PERSON, rel=0.01)
    assert records_to_persons(1) == 1


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ridni")
    sub = parser.add_subparsers(dest="command", required=True)
    synth_cli.add_parser(sub)
    return parser.parse_args(argv)


def test_command_line(tmp_path, capsys):
    args = _parse(["synth", "--out", str(tmp_path), "--records", "800", "--nights", "2", "--seed", "4",
                   "--start-date", "2026-11-01", "--fault", "garbage_rows", "--fault", "register_seq_gap"])
    assert args.func is synth_cli.run
    assert synth_cli.run(args) == 0
    out = capsys.readouterr().out
    assert "2026-11-02" in out and "fault register_seq_gap" in out
    assert (tmp_path / "landing" / "mvs_register" / "2026-11-02" / "register_000003.csv").exists()
    assert (tmp_path / "truth" / "2026-11-02" / "counts.json").exists()

    bad = _parse(["synth", "--out", str(tmp_path / "x"), "--persons", "50", "--fault", "no_such_fault"])
    assert synth_cli.run(bad) == 2
    gap = _parse(["synth", "--out", str(tmp_path / "y"), "--persons", "50", "--fault", "register_seq_gap"])
    assert synth_cli.run(gap) == 2  # a seq gap needs a second night


def test_fault_registry_names_every_fault():
    assert sorted(FAULTS) == sorted(["truncated_file", "wrong_encoding", "missing_manifest", "sha256_mismatch",
                                     "register_seq_gap", "renamed_column", "garbage_rows", "empty_file"])
    with pytest.raises(ValueError, match="unknown source"):
        generate(Path("/nonexistent"), persons=10, faults=["garbage_rows:nobody"])
    with pytest.raises(ValueError, match="not one of the generated nights"):
        generate(Path("/nonexistent"), persons=10, faults=["garbage_rows:npu_appeals:2030-01-01"])
    with pytest.raises(ValueError, match="same drop"):
        generate(Path("/nonexistent"), persons=10, faults=["garbage_rows", "empty_file:npu_appeals"])


def test_tiny_populations_still_make_complete_drops(tmp_path):
    for persons in (1, 2, 5):
        r = generate(tmp_path / str(persons), seed=3, persons=persons, nights=2)
        c = r.counts[START]
        assert sum(c["categories"].values()) + c["persons_without_standing_evidence"] == c["persons"]
        for d in r.drops:
            assert (d.folder / "manifest.json").exists()
