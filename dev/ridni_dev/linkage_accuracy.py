"""Linkage accuracy on a generated population: generate, ingest, resolve, score against the truth.

``ridni linkage-accuracy`` (default: the demo's 3,000 persons) and ``--febrl4`` for the FEBRL4 benchmark.
Prints precision, recall and F1 of pairwise links, overall and for cross-script pairs.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa

from ridni_dev.evaluate import score

NIGHT = dt.date(2026, 11, 1)


def synthetic(persons: int = 3000, seed: int = 1) -> dict:
    from ridni.ingest.run import ingest_night
    from ridni.linkage.run import resolve_persons
    from ridni_dev.accuracy import scratch_warehouse
    from ridni_dev.synth import generate

    with scratch_warehouse() as (engine, work):
        synth = generate(work, seed=seed, persons=persons, nights=1, start_date=NIGHT)
        list(ingest_night(engine, NIGHT))
        resolve_persons(engine, NIGHT)
        with engine.connect() as conn:
            links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
        truth = pd.read_csv(synth.truth / NIGHT.isoformat() / "records.csv", dtype=str)
    m = links.merge(truth, on=["source_id", "record_key"], suffixes=("", "_true"))
    result = score(m["person_id"], m["person_id_true"], m["source_id"] == "icrc_confirmations")
    return {"records": len(m), "persons_found": int(m["person_id"].nunique()),
            "persons_true": int(m["person_id_true"].nunique()),
            **{k: v.as_dict() for k, v in result.items()}}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("linkage-accuracy", help="precision/recall/F1 of linkage on generated data or FEBRL4")
    p.add_argument("--persons", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--febrl4", action="store_true", help="the FEBRL4 benchmark instead")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.febrl4:
        from ridni_dev import febrl

        print(json.dumps(febrl.run(), indent=2))
    else:
        print(json.dumps(synthetic(args.persons, args.seed), indent=2))
    return 0
