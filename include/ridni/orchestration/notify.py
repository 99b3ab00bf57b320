"""Alert channels through Airflow's providers, used when their connections are configured.

``ridni_slack`` (a Slack incoming-webhook connection) and ``ridni_smtp`` (an SMTP
connection; recipients in its extra ``{"to": "..."}``) are optional: without
them an alert is still a log line and an ``audit.alert`` row.
"""

from __future__ import annotations

import logging

from ridni import alerts

log = logging.getLogger(__name__)
SLACK_CONN_ID = "ridni_slack"
SMTP_CONN_ID = "ridni_smtp"


def _connection(conn_id: str):
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception:  # not configured
        return None


def slack_channel(alert: alerts.Alert) -> str | None:
    if _connection(SLACK_CONN_ID) is None:
        return None
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=SLACK_CONN_ID).send(text=alert.text())
    return "slack"


def email_channel(alert: alerts.Alert) -> str | None:
    conn = _connection(SMTP_CONN_ID)
    if conn is None:
        return None
    to = (conn.extra_dejson or {}).get("to")
    if not to:
        log.warning("connection %s has no 'to' in its extra; e-mail alert not sent", SMTP_CONN_ID)
        return None
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
        hook.send_email_smtp(to=to, subject=f"ridni {alert.severity}: {alert.kind}", html_content=alert.text())
    return "email"


def register_airflow_channels() -> None:
    alerts.register_channel(slack_channel)
    alerts.register_channel(email_channel)
