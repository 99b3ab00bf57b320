"""The ``ridni`` command: the package's entry points for operators, the demo and CI."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys

from ridni import db


def _db(args) -> int:
    url, where = db.resolve_url()
    if args.action == "upgrade":
        db.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        db.downgrade(url, args.revision or "base")
    elif args.action == "enable-login":
        db.enable_login(url, args.revision, os.environ[args.password_env])
    print(f"warehouse: {db.redacted(url)} ({where})")
    return 0


def _ingest(args) -> int:
    from ridni.ingest.run import ingest_night

    url, _ = db.resolve_url()
    engine = db.make_engine(url)
    night = dt.date.fromisoformat(args.night)
    sources = args.source or None
    failed = 0
    for report in ingest_night(engine, night, sources):
        print(f"{report.source_id:20} {report.status:9} loaded={report.rows_loaded} "
              f"quarantined={report.rows_quarantined} withdrawn={report.withdrawn}"
              + (f"  reason: {report.reason}" if report.reason else ""))
        failed += report.status in ("rejected", "held")
    return 1 if failed else 0


def _demo(args) -> int:
    from ridni.demo import run_demo

    return run_demo(persons=args.persons, nights=args.nights, seed=args.seed)


def _explain(args) -> int:
    """Why a person is in their category: the records, how each was linked, which one decided."""
    import pandas as pd
    import sqlalchemy as sa

    from ridni.review.decisions import explain_lines

    url, _ = db.resolve_url()
    with db.make_engine(url).connect() as conn:
        rows = pd.read_sql(sa.text("SELECT * FROM core.person_explanation WHERE person_id = :p "
                                   "ORDER BY decisive DESC, effective_date DESC NULLS LAST"),
                           conn, params={"p": args.person_id})
        reviewed = explain_lines(conn, args.person_id)  # the reviewers' decisions that shaped the person
    if rows.empty:
        print(f"no current status for person {args.person_id}")
        return 1
    head = rows.iloc[0]
    print(f"person {args.person_id}: {head.category} ({head.person_type}), rule {head.decision_rule}, "
          f"decided {head.decided_on}, ICRC-confirmed {head.icrc_confirmed}"
          + (", ON THE REVIEW LIST" if head.needs_review else ""))
    cols = ["decisive", "source_id", "record_key", "source_status", "evidence_category", "effective_date",
            "withdrawn_on", "link_rule", "match_probability"]
    print(rows[cols].to_string(index=False))
    print("\n".join(reviewed))
    return 0


def _docs(args) -> int:
    from ridni.contracts.docs import write_sources_doc

    print(write_sources_doc())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ridni", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("db", help="migrate the warehouse (RIDNI_WAREHOUSE_URL, else the embedded PostgreSQL)")
    p.add_argument("action", choices=["upgrade", "downgrade", "url", "enable-login"])
    p.add_argument("revision", nargs="?", help="a revision, or for enable-login the role")
    p.add_argument("--password-env", default="RIDNI_ROLE_PASSWORD",
                   help="enable-login: the environment variable holding the password")
    p.set_defaults(func=_db)

    p = sub.add_parser("ingest", help="ingest a night's drops without Airflow (same code as the DAGs)")
    p.add_argument("--night", required=True, help="YYYY-MM-DD")
    p.add_argument("--source", action="append", help="a source_id (repeatable); default all")
    p.set_defaults(func=_ingest)

    p = sub.add_parser("demo", help="generate a night of extracts and run the nightly DAGs end to end")
    p.add_argument("--persons", type=int, default=3000)
    p.add_argument("--nights", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_demo)

    p = sub.add_parser("explain", help="explain a person's current category (records, links, rule)")
    p.add_argument("person_id", type=int)
    p.set_defaults(func=_explain)

    p = sub.add_parser("docs", help="regenerate docs/sources.md from the source contracts")
    p.set_defaults(func=_docs)

    from ridni import bench
    from ridni.linkage import accuracy
    from ridni.review import cli as review_cli

    accuracy.add_parser(sub)
    bench.add_parser(sub)
    review_cli.add_parser(sub)

    try:
        from ridni.synth import cli as synth_cli
    except ImportError:  # pragma: no cover - the generator is optional in a production image
        pass
    else:
        synth_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "synth":
        from ridni.synth import cli as synth_cli

        return synth_cli.run(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
