"""Alerts: a structured log line and an ``audit.alert`` row, always; Slack or e-mail when configured.

Alert texts name the source, the night, what failed, how many rows and where
the quarantine is. They never carry personal data: callers pass counts, file
names, line numbers and expectation names only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
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


# External channels (Slack, e-mail) register here; the Airflow layer adds them
# when their connections exist. Each takes the alert and returns its channel name.
Channel = Callable[[Alert], str | None]
_channels: list[Channel] = []


def register_channel(channel: Channel) -> None:
    if channel not in _channels:
        _channels.append(channel)


def raise_alert(conn: Connection, alert: Alert) -> Alert:
    """Send ``alert`` to every configured channel, log it and record it in ``audit.alert``."""
    for channel in _channels:
        try:
            name = channel(alert)
        except Exception as exc:  # a broken channel must not hide the alert itself
            log.error("alert channel %s failed: %s", getattr(channel, "__name__", channel), type(exc).__name__)
            continue
        if name:
            alert.channels.append(name)
    log.warning("ALERT %s", json.dumps(asdict(alert), default=str, ensure_ascii=False))
    conn.execute(
        sa.text(
            """INSERT INTO audit.alert (kind, severity, source_id, extract_date, message, rows_affected,
                                        quarantine_ref, channels, dag_id, dag_run_id)
               VALUES (:kind, :severity, :source_id, :extract_date, :message, :rows_affected,
                       :quarantine_ref, :channels, :dag_id, :dag_run_id)"""
        ),
        {k: v for k, v in asdict(alert).items()},
    )
    return alert
