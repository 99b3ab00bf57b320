"""A night, step by step: every source's ingest, then person resolution, the decision, publishing.

Each step is a function that returns a :class:`StepResult`. The DAGs run them task by task (an ingest
DAG per source, ``resolve_persons``, ``publish_hq``); :func:`run_night` runs them in one process, in
the same order (``ridni night``, the demo's quick path, tests); the benchmark times them through the
stages they mark (:mod:`ridni.timing`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ridni import timing
from ridni.config import settings

log = logging.getLogger(__name__)
REFUSED = ("rejected", "held")  # a drop refused as a whole: its DAG fails, the night goes on without it


@dataclass(frozen=True)
class StepResult:
    step: str  # ingest_<source_id>, resolve_persons, decide, publish
    status: str  # success | failed, or a drop's status: loaded | skipped | no_drop | rejected | held
    ok: bool
    counts: dict = field(default_factory=dict)
    reason: str | None = None  # names a file, line, rule or error type; never a delivered value

    def line(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"{self.step:28} {self.status:9} {counts}" + (f"  reason: {self.reason}" if self.reason else "")


def ingest(engine: Engine, source_id: str, night: dt.date, *, dag_id: str | None = None,
           dag_run_id: str | None = None, confirm_withdrawals: bool = False) -> StepResult:
    """Receive and archive the source's drop, verify its manifest, parse, validate and load it.

    Not ok when the drop is refused, or when a source that drops every night has none.
    """
    from ridni.contracts import load
    from ridni.ingest.run import ingest_source

    with timing.stage("verify_archive", group=source_id):
        report = ingest_source(engine, source_id, night, dag_id=dag_id, dag_run_id=dag_run_id,
                               confirm_withdrawals=confirm_withdrawals)
    missing = report.status == "no_drop" and load(source_id).cadence != "event"
    return StepResult(f"ingest_{source_id}", report.status, ok=report.status not in REFUSED and not missing,
                      counts={"loaded": report.rows_loaded, "quarantined": report.rows_quarantined,
                              "withdrawn": report.withdrawn},
                      reason=report.reason if report.status != "loaded" else None)


def data_docs(engine: Engine, source_id: str, night: dt.date) -> str:
    """Data Docs of the source's validations of the night; returns the index's location ("" without any)."""
    from ridni.ingest.run import build_data_docs_for_night

    with engine.begin() as conn:
        return build_data_docs_for_night(conn, source_id, night, settings().data_docs)


def resolve(engine: Engine, night: dt.date, *, full: bool = False, retrain: bool = False,
            dag_run_id: str | None = None) -> StepResult:
    """Link the records to persons (incremental unless ``full``/``retrain``)."""
    from ridni.linkage.run import resolve_persons

    with timing.stage("link"):
        result = resolve_persons(engine, night, dag_run_id=dag_run_id, full=full, retrain=retrain)
    timing.add_rows("link", result["records"])
    return StepResult("resolve_persons", "success", ok=True, counts=dict(result))


def decide(engine: Engine, night: dt.date, *, dag_run_id: str | None = None) -> StepResult:
    """Every person's category as of the night (SCD2 in ``core.person_status``)."""
    from ridni.decide.run import decide_night

    with timing.stage("decide"):
        result = decide_night(engine, night, dag_run_id=dag_run_id)
    return StepResult("decide", "success", ok=True, counts=dict(result))


def marts(engine: Engine, night: dt.date, *, dag_run_id: str | None = None) -> dict:
    """The night's marts, small counts suppressed at ``RIDNI_SUPPRESSION_THRESHOLD``."""
    from ridni.publish.marts import build_marts

    with timing.stage("publish/marts"):
        return build_marts(engine, night, dag_run_id=dag_run_id)


def exports(engine: Engine, night: dt.date) -> str:
    """The night's export files, swapped into ``RIDNI_EXPORTS/<night>/`` at once; returns the folder."""
    from ridni.publish.exports import publish_night

    with timing.stage("publish/exports"):
        return str(publish_night(engine, night, settings().exports))


def publish(engine: Engine, night: dt.date, *, dag_run_id: str | None = None) -> StepResult:
    """The marts, then the exports."""
    with timing.stage("publish"):
        result = marts(engine, night, dag_run_id=dag_run_id)
        folder = exports(engine, night)
    timing.add_rows("publish", result["persons"])
    return StepResult("publish", "success", ok=True, counts={**result, "exports": folder})


def run_night(engine: Engine, night: dt.date, sources: Iterable[str] | None = None, *,
              with_data_docs: bool = True) -> Iterator[StepResult]:
    """Every step of the night in the DAGs' order: each source's ingest (and its Data Docs when the drop
    was not refused), then resolve, decide and publish. Yields each step's result as it finishes.

    A refused drop does not stop the night (the DAGs go on without it too); a step that raises ends it,
    with a failed result naming the error's type (its traceback goes to the debug log).
    """
    from ridni.contracts import all_contracts

    def failed(step: str, exc: Exception) -> StepResult:
        log.debug("step %s failed", step, exc_info=True)
        return StepResult(step, "failed", ok=False, reason=type(exc).__name__)

    for contract in all_contracts():
        if sources is not None and contract.source_id not in sources:
            continue
        step = f"ingest_{contract.source_id}"
        try:
            result = ingest(engine, contract.source_id, night)
            if with_data_docs and result.status not in ("no_drop", *REFUSED):
                data_docs(engine, contract.source_id, night)
        except Exception as exc:
            yield failed(step, exc)
            return
        yield result
    for name, run in (("resolve_persons", resolve), ("decide", decide), ("publish", publish)):
        try:
            result = run(engine, night)
        except Exception as exc:
            yield failed(name, exc)
            return
        yield result
