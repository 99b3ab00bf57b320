"""Alerts through Airflow: a notifier for the tasks' callbacks.

On a task's failure it records an alert naming the DAG, the task and the kind of error (never its
values). After every task, success or failure, it sends the run's alerts that have reached no channel
yet (the ones the task recorded with ``ridni.alerts.raise_alert``, and its own) through Airflow's Slack
and SMTP notifiers, and records in ``audit.alert.channels`` which ones each reached.

``ridni_slack`` (a Slack incoming-webhook connection) and ``ridni_smtp`` (an SMTP connection; recipients
in its extra ``{"to": "..."}``, the sender in ``from_email``) are optional: without them an alert is a
log line and an ``audit.alert`` row.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier, Connection
from airflow.sdk.exceptions import AirflowSensorTimeout

from ridni import alerts
from ridni.config import settings
from ridni.ingest import drops
from ridni.orchestration.schedule import night_of

log = logging.getLogger(__name__)
SLACK_CONN_ID = "ridni_slack"
SMTP_CONN_ID = "ridni_smtp"


def _connection(conn_id: str):
    try:
        return Connection.get(conn_id)
    except Exception:  # not configured
        return None


def configured() -> dict[str, object]:
    """The channels whose connections exist, with their connection."""
    found = {name: _connection(conn_id) for name, conn_id in (("slack", SLACK_CONN_ID), ("email", SMTP_CONN_ID))}
    return {name: conn for name, conn in found.items() if conn is not None}


def notifiers(alert: alerts.Alert, connections: dict[str, object]) -> list[tuple[str, BaseNotifier]]:
    """Airflow's notifiers for ``alert``, one per configured channel."""
    out: list[tuple[str, BaseNotifier]] = []
    if "slack" in connections:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        out.append(("slack", SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONN_ID, text=alert.text())))
    if "email" in connections:
        to = (connections["email"].extra_dejson or {}).get("to")
        if to:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            out.append(("email", SmtpNotifier(to=to, smtp_conn_id=SMTP_CONN_ID, html_content=alert.text(),
                                              subject=f"ridni {alert.severity}: {alert.kind}")))
        else:
            log.warning("connection %s has no 'to' in its extra; e-mail alert not sent", SMTP_CONN_ID)
    return out


def failure_alert(context) -> alerts.Alert:
    ti = context["ti"]
    exc = context.get("exception")
    late = ti.task_id == "wait_for_drop" and (isinstance(exc, AirflowSensorTimeout)
                                              or "Timeout" in type(exc).__name__)
    reason = exc.reason if isinstance(exc, drops.DropRejected) else type(exc).__name__
    return alerts.Alert(
        kind="late_drop" if late else "task_failed",
        severity="error",
        message=(f"no drop by {settings().late_drop_hour:02d}:00 UTC" if late
                 else f"task {ti.task_id} failed after {ti.try_number} tries: {reason}"),
        source_id=(context.get("params") or {}).get("source_id"),
        extract_date=night_of(context),
        dag_id=ti.dag_id, dag_run_id=context["run_id"],
    )


class AlertNotifier(BaseNotifier):
    """A task callback: records a failed task as an alert (``task_failed=True``), then sends the run's
    unsent alerts to every channel whose connection exists."""

    def __init__(self, *, task_failed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.task_failed = task_failed

    def notify(self, context) -> None:
        from ridni.orchestration.warehouse import engine

        connections = configured()
        if not (self.task_failed or connections):
            return
        try:
            with engine().begin() as conn:
                if self.task_failed:
                    alerts.raise_alert(conn, failure_alert(context))
                if connections:
                    send_unsent(conn, context, connections)
        except Exception as err:  # the warehouse itself may be what failed; the task's log still says so
            log.error("could not record or send the run's alerts: %s", type(err).__name__)


def send_unsent(conn, context, connections: dict[str, object]) -> None:
    """Send every alert of the run that has reached no channel yet; record the channels each reached."""
    for alert_id, alert in alerts.unsent(conn, context["ti"].dag_id, context["run_id"]):
        reached = []
        for name, notifier in notifiers(alert, connections):
            try:
                notifier.notify(context)  # the text is final: no templates to render
            except Exception as exc:  # a broken channel must not hide the alert, nor stop the others
                log.error("alert channel %s failed: %s", name, type(exc).__name__)
            else:
                reached.append(name)
        if reached:
            alerts.mark_sent(conn, alert_id, reached)
