"""The writer builds the bulk-loaded tables' indexes after a load through the owner's two functions,
for those tables only, and can neither plant DDL for the owner nor commit a table left without its indexes."""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from secutil import START
from sqlalchemy.engine import make_url

from ridni import db
from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_night
from ridni.linkage.run import resolve_persons

BULK_LOADED = ("core.link_record", "core.link_edge", "core.person_link", "core.evidence")
SCHEMA_OF_TABLES = """
    SELECT 'index' AS kind, indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
    FROM pg_index WHERE indrelid = ANY(CAST(:t AS regclass[]))
    UNION ALL
    SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = ANY(CAST(:t AS regclass[]))
    ORDER BY 1, 2
"""


@pytest.fixture
def writer(fresh_warehouse):
    """The fresh warehouse's URL, its admin engine and an engine logged in as a member of ridni_writer."""
    url, admin = fresh_warehouse
    user = f"t_writer_{uuid.uuid4().hex[:6]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD 'pw' IN ROLE ridni_writer"))
        conn.execute(sa.text(f"ALTER ROLE {user} SET track_functions = 'pl'"))  # count the functions' calls
    engine = sa.create_engine(make_url(db.normalise_url(url)).set(username=user, password="pw"))
    yield admin, engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {user}"))
        conn.execute(sa.text(f"DROP ROLE {user}"))


def _schema(engine, tables=BULK_LOADED) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(SCHEMA_OF_TABLES), {"t": list(tables)})]


def _partition(engine) -> set[frozenset]:
    with engine.connect() as conn:
        links = pd.read_sql(
            sa.text("SELECT source_id || '/' || record_key AS rec, person_id FROM core.person_link"), conn
        )
    return {frozenset(g["rec"]) for _, g in links.groupby("person_id")}


def test_a_full_night_as_the_writer_builds_indexes_after_the_load_and_keeps_every_one(
    writer, night_env, monkeypatch
):
    admin, engine = writer
    night_env(persons=300)
    list(ingest_night(admin, START))
    before = _schema(admin)
    assert len([k for k, *_ in before if k == "index"]) >= 12

    monkeypatch.setattr(db, "BULK_LOAD_ROWS", 1)  # every load of this small night counts as bulk
    with admin.begin() as conn:
        conn.execute(sa.text("SELECT pg_stat_reset()"))
    resolve_persons(engine, START)
    decide_night(engine, START)
    engine.dispose()  # the writer's sessions end and report their function calls
    time.sleep(0.7)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        calls = dict(
            conn.execute(
                sa.text("SELECT funcname, calls FROM pg_stat_user_functions WHERE schemaname = 'core'")
            ).all()
        )
        saved = conn.execute(sa.text("SELECT count(*) FROM core.deferred_ddl")).scalar()
        evidence = conn.execute(sa.text("SELECT count(*) FROM core.evidence")).scalar()
    # features, links, person links, evidence: each loaded with its indexes built after
    assert calls.get("defer_indexes") == calls.get("restore_indexes") == 4, calls
    assert _schema(admin) == before  # every index, key and foreign key as the migrations made it
    assert saved == 0
    assert evidence > 0
    deferred_partition = _partition(admin)

    # the same night again in full, indexes maintained row by row: the same persons
    monkeypatch.setattr(db, "BULK_LOAD_ROWS", 10**9)
    resolve_persons(engine, START, full=True)
    assert _partition(admin) == deferred_partition


def test_the_writer_may_defer_only_the_bulk_loaded_tables_and_never_touch_the_saved_ddl(writer):
    admin, engine = writer
    with engine.connect() as conn:
        with pytest.raises(sa.exc.InternalError, match="not a bulk-loaded table"):
            conn.execute(sa.text("SELECT core.defer_indexes('core.source_record')"))
        conn.rollback()
        for sql in (
            "SELECT * FROM core.deferred_ddl",
            "INSERT INTO core.deferred_ddl VALUES ('core.evidence', 'x', 'index', 'DROP TABLE core.person')",
        ):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(sql))
            conn.rollback()


def test_a_commit_that_leaves_a_table_without_its_indexes_is_refused(writer):
    admin, engine = writer
    before = _schema(admin)
    with pytest.raises(sa.exc.DBAPIError, match="deferred but not restored"), engine.begin() as conn:
        conn.execute(sa.text("SELECT core.defer_indexes('core.link_record')"))
    assert _schema(admin) == before


def test_a_night_that_fails_after_deferring_leaves_every_index(writer, monkeypatch):
    admin, engine = writer
    before = _schema(admin)

    class Boom(Exception):
        pass

    with (
        pytest.raises(Boom),
        engine.begin() as conn,
        db.indexes_after_load(conn, "core.evidence", 10**6) as deferred,
    ):
        assert deferred
        raise Boom
    assert _schema(admin) == before
