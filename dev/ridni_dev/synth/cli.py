"""``ridni synth``: write synthetic nightly extracts and their ground truth.

    ridni synth --out var --nights 3                  # ~3,000 persons, three nights
    ridni synth --records 1000000                      # scale: ~1,000,000 rows in the first night's drops
    ridni synth --fault garbage_rows --fault missing_manifest:npu_appeals:2026-11-02 --nights 2
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    from ridni_dev.synth.faults import DEFAULT_SOURCE, FAULTS
    from ridni_dev.synth.generate import DEFAULT_START

    p = subparsers.add_parser(
        "synth", help="generate synthetic nightly extracts (landing zone) with ground truth",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder: <out>/landing and <out>/truth (default: RIDNI_DATA_DIR, i.e. var/)")
    p.add_argument("--seed", type=int, default=1)
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--persons", type=int, default=3000, help="persons disappeared before the first night")
    scale.add_argument("--records", type=int, default=None,
                       help="target number of source records in the first night's drops (sets --persons)")
    p.add_argument("--nights", type=int, default=1)
    p.add_argument("--start-date", type=dt.date.fromisoformat, default=DEFAULT_START, help="first night, YYYY-MM-DD")
    p.add_argument("--fault", action="append", default=[], metavar="NAME[:SOURCE[:YYYY-MM-DD]]",
                   help="inject a fault (repeatable): " + ", ".join(f"{n} (default {DEFAULT_SOURCE[n]})"
                                                                     for n in FAULTS))
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ridni_dev.synth.generate import generate, records_to_persons

    out = args.out
    if out is None:
        from ridni.config import settings

        out = settings().data_dir
    persons = records_to_persons(args.records) if args.records else args.persons
    try:
        result = generate(out, seed=args.seed, persons=persons, nights=args.nights, start_date=args.start_date,
                          faults=args.fault)
    except ValueError as exc:
        print(f"ridni synth: {exc}")
        return 2
    for night in result.nights:
        drops = [d for d in result.drops if d.night == night]
        counts = result.counts[night]
        print(f"{night}: {result.rows(night)} rows in {len(drops)} drops; "
              + ", ".join(f"{d.source_id}={sum(d.files.values())}" for d in drops))
        print("  headline: " + "; ".join(f"{k} {v}" for k, v in counts["headline"].items()))
    for f in result.faults:
        print(f"fault {f.fault}: {f.source_id} {f.night} {f.file} -> {f.expect}")
    print(f"{result.persons_simulated} persons simulated; landing zone {result.landing}; "
          f"ground truth {result.truth}; {result.seconds:.1f}s")
    return 0
