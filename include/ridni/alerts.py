"""Alerts: a structured log line and an ``audit.alert`` row, always; Slack or e-mail when configured.

This module runs without Airflow; the DAGs' notifier (``ridni.orchestration.notify``) sends the recorded
alerts on through Airflow's Slack and SMTP notifiers.

Alert texts name the source, the night, what failed, how many rows and where
the quarantine is. They never carry personal data: callers pass counts, file
names, line numbers and expectation names only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger("ridni.alerts")


@dataclass
class Alert:
    kind: str  # drop_rejected, rows_quarantined, seq_gap, late_drop, task_failed, ...
    severity: str  # info | warning | error
    message: str
    source_id: str | None = None
    extract_date: dt.date | None = None
    rows_affected: int | None = None
    quarantine_ref: str | None = None
    dag_id: str | None = None
    dag_run_id: str | None = None
    channels: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"[ridni {self.severity}] {self.kind}"]
        if self.source_id:
            parts.append(f"source={self.source_id}")
        if self.extract_date:
            parts.append(f"night={self.extract_date.isoformat()}")
        parts.append(self.message)
        if self.rows_affected is not None:
            parts.append(f"rows={self.rows_affected}")
        if self.quarantine_ref:
            parts.append(f"quarantine: {self.quarantine_ref}")
        return " | ".join(parts)


def raise_alert(conn: Connection, alert: Alert) -> Alert:
    """Log ``alert`` (one structured line) and record it in ``audit.alert``.

    Under Airflow, the task's callback (``ridni.orchestration.notify.AlertNotifier``) then sends it on to
    Slack and e-mail and records the channels it reached.
    """
    log.warning("ALERT %s", json.dumps(asdict(alert), default=str, ensure_ascii=False))
    conn.execute(
        sa.text(
            """INSERT INTO audit.alert (kind, severity, source_id, extract_date, message, rows_affected,
                                        quarantine_ref, channels, dag_id, dag_run_id)
               VALUES (:kind, :severity, :source_id, :extract_date, :message, :rows_affected,
                       :quarantine_ref, :channels, :dag_id, :dag_run_id)"""
        ),
        asdict(alert),
    )
    return alert


def unsent(conn: Connection, dag_id: str, dag_run_id: str) -> list[tuple[int, Alert]]:
    """The alerts a DAG run recorded that have reached no channel yet, oldest first, with their ids."""
    rows = conn.execute(sa.text(
        "SELECT id, kind, severity, message, source_id, extract_date, rows_affected, quarantine_ref "
        "FROM audit.alert WHERE dag_id = :d AND dag_run_id = :r AND channels = '{}' ORDER BY id"),
        {"d": dag_id, "r": dag_run_id}).mappings().all()
    return [(r["id"], Alert(**{k: v for k, v in r.items() if k != "id"}, dag_id=dag_id, dag_run_id=dag_run_id))
            for r in rows]


def mark_sent(conn: Connection, alert_id: int, channels: list[str]) -> None:
    conn.execute(sa.text("UPDATE audit.alert SET channels = :c WHERE id = :i"), {"c": channels, "i": alert_id})
