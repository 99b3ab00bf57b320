"""What the headquarters page reads, through a read-only login role in ``hq_analyst`` (schema ``marts`` only).

The connection is the Airflow connection ``ridni_hq_readonly`` when it is defined, else the
environment variable ``RIDNI_HQ_READONLY_URL``; never the pipeline's writer. Before the first read the
page checks who it is connected as and refuses to serve as a superuser, as a member of
``ridni_writer`` or as a role outside ``hq_analyst``; every read runs in a read-only transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import threading
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ridni import db
from ridni.publish.chart import CHART_DAYS
from ridni.publish.suppression import published_reconciliation_sql

log = logging.getLogger(__name__)

CONN_ID = "ridni_hq_readonly"
URL_ENV = "RIDNI_HQ_READONLY_URL"
READER_ROLE = "hq_analyst"
WRITER_ROLE = "ridni_writer"
CHANGE_LOG_ROWS = 1000  # rows of the change log shown on the page; the CSV has all of them

class NotReadOnly(RuntimeError):
    """The configured connection could write, or is not an hq_analyst reader: the page refuses to serve."""


class NotConfigured(RuntimeError):
    """Neither the Airflow connection nor the environment variable names the read-only warehouse."""


def configured_url(conn_id: str = CONN_ID, env: str = URL_ENV, role: str = READER_ROLE,
                   page: str = "the headquarters page") -> str:
    """The read-only warehouse URL: Airflow connection ``ridni_hq_readonly``, else ``RIDNI_HQ_READONLY_URL``
    (another page's: its own connection and variable)."""
    try:
        from airflow.models.connection import Connection

        from ridni.orchestration.warehouse import url_from_connection

        return url_from_connection(Connection.get_connection_from_secrets(conn_id))
    except Exception:  # no Airflow here, or the connection is not defined
        url = os.environ.get(env)
        if not url:
            raise NotConfigured(
                f"{page} has no warehouse: define the Airflow connection {conn_id!r} "
                f"(a login role IN {role}) or set {env}") from None
        return url


def check_reader(engine: Engine) -> str:
    """The role the engine logs in as, when it is a plain hq_analyst reader; else :class:`NotReadOnly`."""
    with engine.connect() as conn:
        who, superuser, writer, reader = conn.execute(sa.text(
            "SELECT current_user, r.rolsuper, "
            "       pg_has_role(current_user, oid_w, 'MEMBER'), pg_has_role(current_user, oid_r, 'USAGE') "
            "FROM pg_roles r, "
            "     (SELECT oid AS oid_w FROM pg_roles WHERE rolname = :w) w, "
            "     (SELECT oid AS oid_r FROM pg_roles WHERE rolname = :r) a "
            "WHERE r.rolname = current_user"), {"w": WRITER_ROLE, "r": READER_ROLE}).one()
    if superuser or writer:
        raise NotReadOnly(f"role {who} can write the warehouse (superuser or {WRITER_ROLE}); "
                          f"the headquarters page reads only through a login role in {READER_ROLE}")
    if not reader:
        raise NotReadOnly(f"role {who} is not a member of {READER_ROLE}")
    return who


class Reader:
    """A checked engine on the warehouse (read-only unless ``readonly=False``), made on first use and kept.

    ``check`` refuses a login that may do more than the page needs (:func:`check_reader` for this page).
    """

    def __init__(self, url_factory=configured_url, check=check_reader, readonly: bool = True):
        self._url_factory = url_factory
        self._check = check
        self._readonly = readonly
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = db.make_engine(self._url_factory())
                if self._readonly:
                    engine = engine.execution_options(postgresql_readonly=True)
                try:
                    role = self._check(engine)
                except Exception:
                    engine.dispose()
                    raise
                log.info("%s: reads the warehouse as role %s", self._check.__name__, role)
                self._engine = engine
            return self._engine

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


@dataclass(frozen=True)
class NightView:
    night: dt.date
    nights: list[dt.date]  # every night with a headline, oldest first
    headline: pd.DataFrame  # ord, grp, count_value, previous_value, change, kind_review, situation_review
    history: pd.DataFrame  # night, ord, grp, count_value (all nights)
    regions: pd.DataFrame  # category, region, count_value, suppressed (marts.region_category_counts)
    totals: pd.DataFrame  # category, count_value, suppressed
    change_log: pd.DataFrame  # moves out of missing first
    change_log_total: int
    reconciliation: pd.DataFrame  # counts below the suppression threshold are NULL
    quality: pd.DataFrame | None  # source_id, drop_status, rows_*, validation_success, data_docs_uri, late
    review_queue: dict | None  # linkage_pairs, category_conflicts
    alerts: pd.DataFrame  # kind, severity, source_id, alerts, rows_affected (marts.alert_summary)


CHANGE_LOG_SQL = """
    SELECT pseudo_id, change, from_category, to_category, effective_date, evidence_source, evidence_record, rule,
           review
    FROM marts.change_log WHERE night = :n
    ORDER BY (from_category = 'missing' AND to_category IS NOT NULL AND to_category <> 'missing') DESC NULLS LAST,
             change, pseudo_id
"""


def nights(engine: Engine) -> list[dt.date]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT DISTINCT night FROM marts.headline ORDER BY night")).scalars())


def load_night(engine: Engine, night: dt.date, *, change_log_rows: int = CHANGE_LOG_ROWS) -> NightView:
    """Everything the page shows for ``night``, read in one read-only transaction (one snapshot)."""
    p = {"n": night}
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        known = list(conn.execute(sa.text("SELECT DISTINCT night FROM marts.headline ORDER BY night")).scalars())

        def frame(sql: str, **params) -> pd.DataFrame:
            return pd.read_sql(sa.text(sql), conn, params=params or p)

        headline = frame("SELECT ord, grp, count_value, previous_value, change, kind_review, situation_review "
                         "FROM marts.headline WHERE night = :n ORDER BY ord")
        history = frame("SELECT night, ord, grp, count_value FROM marts.headline WHERE night > :start "
                        "ORDER BY night, ord", start=night - dt.timedelta(days=CHART_DAYS))
        regions = frame("SELECT category, region, count_value, suppressed FROM marts.region_category_counts "
                        "WHERE night = :n ORDER BY category, region")
        alerts = frame("SELECT kind, severity, source_id, alerts, rows_affected FROM marts.alert_summary "
                       "WHERE night = :n ORDER BY severity = 'error' DESC, severity = 'warning' DESC, kind, "
                       "source_id")
        totals = frame("SELECT category, count_value, suppressed FROM marts.category_totals WHERE night = :n")
        total_changes = conn.execute(sa.text("SELECT count(*) FROM marts.change_log WHERE night = :n"), p).scalar()
        change_log = frame(CHANGE_LOG_SQL + " LIMIT :lim", n=night, lim=change_log_rows)
        # small counts are read as NULL (shown "<5" at the default threshold): the page never receives them
        reconciliation = frame(published_reconciliation_sql())
        quality = None  # None: the view is missing (its migration has not run)
        if conn.execute(sa.text("SELECT to_regclass('marts.source_quality')")).scalar() is not None:
            quality = frame(
                "SELECT source_id, drop_status, rows_received, rows_loaded, rows_quarantined, validation_success, "
                "data_docs_uri, late FROM marts.source_quality WHERE night = :n ORDER BY source_id")
        queue = conn.execute(sa.text(
            "SELECT linkage_pairs, category_conflicts FROM marts.review_queue_size WHERE night = :n"), p).mappings().first()
    return NightView(night=night, nights=known, headline=headline, history=history, regions=regions,
                     totals=totals, change_log=change_log, change_log_total=int(total_changes or 0),
                     reconciliation=reconciliation, quality=quality, review_queue=dict(queue) if queue else None,
                     alerts=alerts)


def change_log_csv(engine: Engine, night: dt.date) -> str:
    """The night's whole change log as CSV (text a spreadsheet would run as a formula is neutralised)."""
    from ridni.privacy import neutralise_formulas

    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(CHANGE_LOG_SQL), conn, params={"n": night})
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\n")


@functools.cache
def source_titles() -> dict[str, tuple[str, str]]:
    """source_id -> (provider, cadence), from the contracts (no database needed)."""
    try:
        from ridni.contracts import all_contracts

        return {c.source_id: (c.provider, c.cadence) for c in all_contracts()}
    except Exception:  # the page still works without the contract files
        log.warning("contracts unreadable; the page lists sources by id only")
        return {}
