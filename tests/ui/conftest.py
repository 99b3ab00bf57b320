"""Fixtures of the headquarters page's tests: a warehouse with published marts and a reader login role."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from hq_marts import HQWarehouse, create_source_quality_view, fill_marts

from ridni import db


@pytest.fixture(scope="session")
def hq_warehouse(make_database, tmp_path_factory, server_url) -> HQWarehouse:
    url = make_database()
    db.upgrade(url)
    data_docs = tmp_path_factory.mktemp("data_docs")
    writer = db.make_engine(url)
    with writer.begin() as conn:
        create_source_quality_view(conn)
        fill_marts(conn, data_docs)
    writer.dispose()

    role = f"hq_ui_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE hq_analyst"))
    reader_url = sa.engine.make_url(url).set(username=role, password=password).render_as_string(hide_password=False)
    yield HQWarehouse(url, reader_url, role, password, data_docs)
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role})
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()
