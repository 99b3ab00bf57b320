"""One source's night from drop to core, in-process: what the ingest DAG's tasks do, in order.

The DAGs call the same functions task by task; this runner serves the CLI and tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from sqlalchemy.engine import Engine

from ridni.config import settings
from ridni.contracts import all_contracts, load
from ridni.ingest import drops
from ridni.ingest.load import DropReport, load_drop, reject_drop


def ingest_source(engine: Engine, source_id: str, night: dt.date, *, dag_id: str | None = None,
                  dag_run_id: str | None = None, confirm_withdrawals: bool = False) -> DropReport:
    """Receive, verify and load the source's drop of the night; ``confirm_withdrawals``: an operator's
    confirmation of the withdrawals the snapshot held (see :func:`ridni.ingest.load.load_drop`)."""
    s = settings()
    contract = load(source_id)
    if not drops.drop_exists(s.landing, source_id, night):
        return DropReport(source_id, night, "no_drop", reason="no drop tonight")
    with engine.begin() as conn:
        drop = drops.receive(conn, landing=s.landing, archive=s.archive, source_id=source_id, night=night)
        try:
            drops.verify(drop, contract.file_pattern)
        except drops.DropRejected as exc:
            return reject_drop(conn, drop, exc, dag_id=dag_id, dag_run_id=dag_run_id)
    return load_drop(engine, contract, drop, max_bad_row_share=s.max_bad_row_share,
                     max_volume_change=s.max_volume_change, dag_id=dag_id, dag_run_id=dag_run_id,
                     confirm_withdrawals_held=confirm_withdrawals)


def ingest_night(engine: Engine, night: dt.date, sources: Iterable[str] | None = None) -> Iterator[DropReport]:
    for contract in all_contracts():
        if sources is None or contract.source_id in sources:
            yield ingest_source(engine, contract.source_id, night)


def reject_incomplete(engine: Engine, source_id: str, night: dt.date, *, dag_id: str | None = None,
                      dag_run_id: str | None = None) -> DropReport | None:
    """At the late hour: archive whatever a manifest-less drop holds, and reject it as incomplete."""
    s = settings()
    if not drops.drop_exists(s.landing, source_id, night) or drops.manifest_present(s.landing, source_id, night):
        return None
    with engine.begin() as conn:
        drop = drops.receive(conn, landing=s.landing, archive=s.archive, source_id=source_id, night=night)
        return reject_drop(conn, drop, drops.DropRejected("incomplete drop: manifest.json missing", "manifest.json"),
                           dag_id=dag_id, dag_run_id=dag_run_id)


def build_data_docs_for_night(conn, source_id: str, night: dt.date, docs_dir: str) -> str:
    """Data Docs for a source's validations of the night, from the values-free summaries kept in ``audit``:
    GX's site (only these validations' pages and its index) and the pages the headquarters page serves
    (:mod:`ridni.ingest.docs`). Each validation's ``data_docs_uri`` becomes its served page; returns the
    night's index of served pages ("" when the source has no validation that night)."""
    import json

    import sqlalchemy as sa

    from ridni.ingest import docs
    from ridni.ingest.validate import ValidationOutcome, build_data_docs

    # The sources' docs steps of one night run side by side (one per ingest DAG) and share the night's
    # index: one at a time, each reading the validations the others committed before it.
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ridni.data_docs'), :day)"),
                 {"day": night.toordinal()})
    rows = conn.execute(sa.text(
        "SELECT id, source_id, file_name, success, summary FROM audit.validation WHERE extract_date = :n "
        "ORDER BY id"), {"n": night}).all()
    summaries = [(r, r.summary if isinstance(r.summary, dict) else json.loads(r.summary)) for r in rows]
    mine = [summary for r, summary in summaries if r.source_id == source_id]
    if not mine:
        return ""
    build_data_docs([ValidationOutcome.from_summary(s) for s in mine], docs_dir)
    validations = [docs.Validation(r.id, r.source_id, night, r.file_name, r.success, summary)
                   for r, summary in summaries]
    for validation_id, page in docs.write_night(docs_dir, night, validations, source_id).items():
        conn.execute(sa.text("UPDATE audit.validation SET data_docs_uri = :u WHERE id = :id"),
                     {"u": str(page.resolve()), "id": validation_id})
    return str(docs.night_index(docs_dir, night).resolve())
