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
              + (f" withdrawals_held={report.withdrawals_held}" if report.withdrawals_held else "")
              + (f"  reason: {report.reason}" if report.reason else ""))
        failed += report.status in ("rejected", "held")
    return 1 if failed else 0


def _night(args) -> int:
    """Every step of a night, in the DAGs' order, one status line per step; 1 when a step failed."""
    from ridni.night import run_night

    url, _ = db.resolve_url()
    engine = db.make_engine(url)
    ok = True
    for result in run_night(engine, dt.date.fromisoformat(args.night), with_data_docs=not args.no_data_docs):
        print(result.line(), flush=True)
        ok = ok and result.ok
    return 0 if ok else 1


def _confirm_withdrawals(args) -> int:
    """An operator's confirmation of the withdrawals a snapshot held (more absent records than its contract allows)."""
    from ridni.ingest.load import confirm_withdrawals

    url, _ = db.resolve_url()
    night = dt.date.fromisoformat(args.night) if args.night else None
    withdrawn = confirm_withdrawals(db.make_engine(url), args.source, night,
                                    confirmed_by=f"ridni confirm-withdrawals ({os.environ.get('USER', 'operator')})")
    if not withdrawn:
        print(f"{args.source}: no withdrawals held" + (f" for {night}" if night else ""))
        return 1
    print(f"{args.source}: {withdrawn} held withdrawal(s) applied; rerun the night's person resolution and "
          "publication to show them")
    return 0


def _explain(args) -> int:
    """Why a person is in their category: the records, how each was linked, which decided the situation
    and which the kind, and the records a review waits on."""
    import pandas as pd
    import sqlalchemy as sa

    from ridni.review.decisions import explain_lines

    url, _ = db.resolve_url()
    with db.make_engine(url).connect() as conn:
        rows = pd.read_sql(sa.text("SELECT * FROM core.person_explanation WHERE person_id = :p "
                                   "ORDER BY decisive DESC, decides_kind DESC, effective_date DESC NULLS LAST"),
                           conn, params={"p": args.person_id})
        reviewed = explain_lines(conn, args.person_id)  # the reviewers' decisions that shaped the person
    if rows.empty:
        print(f"no current status for person {args.person_id}")
        return 1
    print(explanation_text(args.person_id, rows))
    _print_quality_flags(args.person_id)
    print("\n".join(reviewed))
    return 0


def _print_quality_flags(person_id: int) -> None:
    """The disagreements flagged inside the person's records (loaded all the same; ridni.ingest.validate)."""
    import sqlalchemy as sa

    url, _ = db.resolve_url()
    with db.make_engine(url).connect() as conn:
        flagged = conn.execute(sa.text(
            "SELECT l.source_id, l.record_key, array_to_string(s.quality_flags, ', ') FROM core.person_link l "
            "JOIN core.source_record s USING (source_id, record_key) "
            "WHERE l.person_id = :p AND s.quality_flags <> '{}' ORDER BY 1, 2"), {"p": person_id}).all()
    for source_id, record_key, flags in flagged:
        print(f"flagged: {source_id} {record_key}: {flags}")


def explanation_text(person_id: int, rows) -> str:
    """``ridni explain``'s text from the person's rows of ``core.person_explanation``."""
    import pandas as pd

    head = rows.iloc[0]

    def record(flag: str) -> str:
        hit = rows[rows[flag]]
        if hit.empty:
            return "no single record"
        r = hit.iloc[0]
        date = "" if pd.isna(r.effective_date) else f" of {r.effective_date}"
        return f"{r.source_id} record {r.record_key} ({r.source_status}{date})"

    lines = [f"person {person_id}: {head.category} ({head.person_type}), decided {head.decided_on}, "
             f"ICRC-confirmed {head.icrc_confirmed}"]
    lines.append(f"  situation {head.situation}: rule {head.decision_rule}, on {record('decisive')}")
    if head.kind_rule:
        lines.append(f"  kind {head.category}: rule {head.kind_rule}, on {record('decides_kind')}")
    if head.review:
        conflict = rows[rows["in_conflict"]]
        between = " and ".join(f"{r.source_id} record {r.record_key} ({r.source_status})"
                               for r in conflict.itertuples(index=False))
        lines.append(f"  ON THE REVIEW LIST: its {head.review} (the records that disagree: {between})")
    rows = rows.assign(generic=rows["generic"].map({True: "generic", False: ""}).fillna(""))
    cols = ["decisive", "decides_kind", "in_conflict", "source_id", "record_key", "source_status",
            "evidence_category", "generic", "effective_date", "withdrawn_on", "link_rule", "match_probability"]
    lines.append(rows[cols].to_string(index=False))
    return "\n".join(lines)


def _docs(args) -> int:
    from ridni.contracts.docs import write

    print(write())
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

    p = sub.add_parser("night", help="run a whole night without Airflow: every ingest, then resolve, decide, "
                                     "publish (the DAGs' steps); exit code 1 when a step fails")
    p.add_argument("night", help="YYYY-MM-DD")
    p.add_argument("--no-data-docs", action="store_true", help="skip building the Data Docs")
    p.set_defaults(func=_night)

    p = sub.add_parser("confirm-withdrawals",
                       help="apply the withdrawals a snapshot held because it left out too many records")
    p.add_argument("--source", required=True, help="a snapshot source_id")
    p.add_argument("--night", help="YYYY-MM-DD: only the hold of this night (default: the source's pending hold)")
    p.set_defaults(func=_confirm_withdrawals)

    p = sub.add_parser("explain", help="explain a person's current category (records, links, rule)")
    p.add_argument("person_id", type=int)
    p.set_defaults(func=_explain)

    p = sub.add_parser("docs", help="regenerate docs/sources.md from the source contracts")
    p.set_defaults(func=_docs)

    from ridni.review import cli as review_cli

    review_cli.add_parser(sub)
    try:  # the development commands (demo, synth, bench, accuracy): not in the production image
        from ridni_dev.cli import add_parsers
    except ImportError:
        pass
    else:
        add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
