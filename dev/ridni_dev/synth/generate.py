"""The generator's entry point: simulate, then write every night's drops and ground truth."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ridni_dev.synth import faults as faults_mod
from ridni_dev.synth import sources, truth, writers
from ridni_dev.synth.population import simulate
from ridni_dev.synth.rng import Rand
from ridni_dev.synth.vocab import load

log = logging.getLogger(__name__)

DEFAULT_START = dt.date(2026, 11, 1)
# Rows in the first night's drops per simulated person at the default mix (measured: 11,442 rows from 3,030 persons).
RECORDS_PER_PERSON = 3.78


def records_to_persons(records: int) -> int:
    """The population whose first night delivers about ``records`` source records in all."""
    return max(1, round(records / RECORDS_PER_PERSON))


@dataclass
class DropInfo:
    source_id: str
    night: dt.date
    folder: Path
    files: dict[str, int]          # file name -> data rows
    seq: int | None = None
    complete: bool = True          # manifest.json present


@dataclass
class SynthResult:
    out_dir: Path
    landing: Path
    truth: Path
    seed: int
    nights: list[dt.date]
    persons_simulated: int
    drops: list[DropInfo] = field(default_factory=list)
    faults: list[faults_mod.InjectedFault] = field(default_factory=list)
    counts: dict[dt.date, dict] = field(default_factory=dict)
    seconds: float = 0.0

    def rows(self, night: dt.date | None = None) -> int:
        return sum(sum(d.files.values()) for d in self.drops if night is None or d.night == night)


def generate(out_dir: Path, *, seed: int = 1, persons: int = 3000, nights: int = 1,
             start_date: dt.date = DEFAULT_START, faults: Collection[str] = ()) -> SynthResult:
    """Write ``nights`` consecutive nights of drops from ``start_date`` under ``out_dir/landing`` and
    their ground truth under ``out_dir/truth``. Same arguments, same bytes; ``nights=N+1`` repeats
    the ``nights=N`` output and adds one night. Existing folders of the generated nights are replaced.
    """
    if nights < 1:
        raise ValueError("nights must be at least 1")
    if persons < 1:
        raise ValueError("persons must be at least 1")
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    landing, truth_dir = out_dir / "landing", out_dir / "truth"
    night_list = [start_date + dt.timedelta(days=i) for i in range(nights)]
    plan = faults_mod.parse(faults, night_list)

    rng, vocab = Rand(seed), load()
    pop = simulate(rng, vocab, persons=persons, start_date=start_date, last_night=night_list[-1])
    tables = sources.build(rng, vocab, pop, start_date, night_list[-1])
    log.info("simulated %d persons in %.1fs", pop.size, time.perf_counter() - t0)

    result = SynthResult(out_dir, landing, truth_dir, seed, night_list, pop.size)
    seq_shift = 0
    churn = writers.Churn(rng, tables)
    for i, night in enumerate(night_list):
        churn.advance(night)
        night_faults = []
        rows: dict[str, int] = {}
        for sid in sources.SOURCE_IDS:
            folder = landing / sid / night.isoformat()
            if folder.exists():
                shutil.rmtree(folder)
            seq = 1 + i + seq_shift if sid == "mvs_register" else None
            frames = writers.frames(tables, sid, night, seq, first_night=i == 0, churn=churn)
            if not frames:
                continue  # exchange_returns on a night without an exchange: no folder at all
            drop = writers.write_drop(folder, sid, night, frames, seq)
            for spec in plan:
                if spec.source_id == sid and spec.night == night:
                    night_faults.append(faults_mod.FAULTS[spec.name](drop))
                    if spec.name == "register_seq_gap":
                        seq_shift += 1
            rows[sid] = sum(drop.rows.values())
            result.drops.append(DropInfo(sid, night, folder, dict(drop.rows), drop.manifest.get("seq"),
                                         (folder / writers.MANIFEST).exists()))
        t = truth.night_truth(tables, pop, night, start_date)
        c = truth.counts(t["persons"], night, rows, t["conflicts"])
        truth_folder = truth_dir / night.isoformat()
        if truth_folder.exists():
            shutil.rmtree(truth_folder)
        truth.write(truth_folder, t, c, night_faults)
        result.counts[night] = c
        result.faults.extend(night_faults)
        log.info("%s: %d rows in %d drops", night, sum(rows.values()), len(rows))
    result.seconds = time.perf_counter() - t0
    return result
