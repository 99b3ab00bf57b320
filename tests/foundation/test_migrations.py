import sqlalchemy as sa

from ridni import db

LAYERS = {"raw", "staging", "quarantine", "core", "marts", "audit"}


def _schemas(engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata"))}


def test_upgrade_from_empty_then_downgrade_to_empty(make_database):
    url = make_database()
    engine = db.make_engine(url)
    try:
        db.upgrade(url)
        assert LAYERS <= _schemas(engine)
        with engine.connect() as conn:
            tables = {
                f"{s}.{t}"
                for s, t in conn.execute(
                    sa.text("SELECT table_schema, table_name FROM information_schema.tables")
                )
            }
        assert {"raw.drop", "raw.file", "staging.record", "core.source_record", "audit.alert",
                "core.link_record", "core.link_edge", "core.linkage_model"} <= tables

        db.downgrade(url)
        assert not (LAYERS & _schemas(engine))
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT count(*) FROM public.alembic_version")).scalar()
        assert version == 0

        db.upgrade(url)  # and up again: downgrade left nothing behind that blocks it
        assert LAYERS <= _schemas(engine)
    finally:
        engine.dispose()


def test_normalise_url_adds_the_psycopg2_driver():
    assert db.normalise_url("postgres://u:p@h:5432/d").startswith("postgresql+psycopg2://u:p@h:5432/d")
    assert db.normalise_url("postgresql://u@h/d") == "postgresql+psycopg2://u@h/d"
