"""The warehouse engine inside a task: from the Airflow connection ``ridni_warehouse``."""

from __future__ import annotations

import functools
import logging

from sqlalchemy.engine import URL, Engine

from ridni import db
from ridni.config import settings

log = logging.getLogger(__name__)
CONN_ID = "ridni_warehouse"


def url_from_connection(conn) -> str:
    """Build the SQLAlchemy URL from a connection's fields (a socket folder as host works too)."""
    extra = conn.extra_dejson or {}
    query = {k: str(v) for k, v in extra.items() if k in {"sslmode", "sslrootcert", "application_name"}}
    host = conn.host or None
    if host and host.startswith("/"):  # a Unix socket folder goes in the query, as libpq expects
        query["host"], host = host, None
    return URL.create(
        "postgresql+psycopg2",
        username=conn.login or None,
        password=conn.password or None,
        host=host,
        port=conn.port or None,
        database=conn.schema or None,
        query=query,
    ).render_as_string(hide_password=False)


@functools.cache
def _engine_for(url: str) -> Engine:
    return db.make_engine(url)


def engine() -> Engine:
    """The warehouse: connection ``ridni_warehouse`` if defined, else ``RIDNI_WAREHOUSE_URL``.

    The connection is read on every call (it may change while a worker runs); engines are pooled per URL.
    """
    from airflow.sdk import Connection

    try:
        url = url_from_connection(Connection.get(CONN_ID))
    except Exception:  # the connection is not defined: fall back to the plain setting
        url = settings().warehouse_url
        if not url:
            raise RuntimeError(
                f"no warehouse: define the Airflow connection {CONN_ID!r} or set RIDNI_WAREHOUSE_URL"
            ) from None
    return _engine_for(url)
