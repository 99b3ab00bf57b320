"""Each role, connected for real, can read and write exactly what it should."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ridni import db

TABLES = {
    "marts": "marts.headline",
    "core": "core.source_record",
    "audit": "audit.alert",
    "raw": "raw.file",
    "quarantine": "quarantine.rejected_row",
}
CAN_READ = {
    "hq_analyst": {"marts"},
    "case_officer": {"core"},
    "auditor": {"audit"},
    "ridni_writer": set(TABLES),
}


@pytest.fixture(scope="module")
def login_as(warehouse_url):
    admin = db.make_engine(warehouse_url)
    made = []

    def login(group: str) -> sa.Engine:
        user = f"t_{group}_{uuid.uuid4().hex[:6]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD 'pw' IN ROLE {group}"))
        made.append(user)
        url = make_url(warehouse_url).set(username=user, password="pw")
        return sa.create_engine(url)

    yield login
    with admin.begin() as conn:
        for user in made:
            conn.execute(sa.text(f"DROP OWNED BY {user}"))
            conn.execute(sa.text(f"DROP ROLE {user}"))
    admin.dispose()


@pytest.mark.parametrize("role", sorted(CAN_READ))
def test_role_reads_only_its_layers(login_as, role):
    engine = login_as(role)
    try:
        for layer, table in TABLES.items():
            with engine.connect() as conn:
                if layer in CAN_READ[role]:
                    conn.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                else:
                    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                        conn.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
    finally:
        engine.dispose()


@pytest.mark.parametrize("role", ["hq_analyst", "case_officer", "auditor"])
def test_readers_cannot_write(login_as, role):
    engine = login_as(role)
    try:
        layer = next(iter(CAN_READ[role]))
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(f"DELETE FROM {TABLES[layer]}"))  # noqa: S608
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(f"CREATE TABLE {layer}.intruder (x int)"))
    finally:
        engine.dispose()


def test_writer_writes_and_new_tables_follow_the_default_privileges(login_as, warehouse_url):
    writer = login_as("ridni_writer")
    analyst = login_as("hq_analyst")
    admin = db.make_engine(warehouse_url)
    try:
        with writer.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO audit.alert (kind, severity, message) VALUES ('test', 'info', 'x')")
            )
            conn.execute(sa.text("DELETE FROM audit.alert WHERE kind = 'test'"))
        with admin.begin() as conn:  # as a later migration would
            conn.execute(sa.text("CREATE TABLE marts.later_table (x int)"))
        with analyst.connect() as conn:
            conn.execute(sa.text("SELECT * FROM marts.later_table"))
        with writer.begin() as conn:
            conn.execute(sa.text("INSERT INTO marts.later_table VALUES (1)"))
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS marts.later_table"))
        for e in (writer, analyst, admin):
            e.dispose()


def test_public_has_nothing(engine):
    with engine.connect() as conn:
        granted = conn.execute(
            sa.text(
                "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' "
                "AND table_schema IN ('raw', 'staging', 'quarantine', 'core', 'marts', 'audit')"
            )
        ).scalar()
    assert granted == 0
