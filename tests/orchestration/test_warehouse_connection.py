import json

import pytest
from sqlalchemy.engine import make_url

from ridni.orchestration.warehouse import url_from_connection


@pytest.mark.parametrize(
    ("conn", "host", "query_host"),
    [
        ({"conn_type": "postgres", "host": "db.internal", "port": 5432, "login": "w", "password": "p;'x",
          "schema": "ridni"}, "db.internal", None),
        ({"conn_type": "postgres", "host": "/srv/pgdata", "login": "postgres", "schema": "ridni"}, None,
         "/srv/pgdata"),
    ],
)
def test_connection_fields_become_a_psycopg2_url(conn, host, query_host):
    from airflow.models.connection import Connection

    c = Connection.from_json(json.dumps(conn), conn_id="ridni_warehouse")
    url = make_url(url_from_connection(c))
    assert url.drivername == "postgresql+psycopg2"
    assert url.host == host
    assert url.query.get("host") == query_host
    assert url.database == "ridni"
    assert url.password == conn.get("password")
