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
    """Data Docs for a source's validations of the night, from the stripped results kept in ``audit``."""
    import json

    import sqlalchemy as sa

    from ridni.ingest.validate import ValidationOutcome, build_data_docs

    summaries = conn.execute(sa.text(
        "SELECT summary FROM audit.validation WHERE source_id = :s AND extract_date = :n ORDER BY id"),
        {"s": source_id, "n": night}).scalars().all()
    outcomes = [ValidationOutcome.from_summary(s if isinstance(s, dict) else json.loads(s)) for s in summaries]
    if not outcomes:
        return ""
    index = build_data_docs(outcomes, docs_dir)
    conn.execute(sa.text("UPDATE audit.validation SET data_docs_uri = :u WHERE source_id = :s AND extract_date = :n"),
                 {"u": index, "s": source_id, "n": night})
    return index
