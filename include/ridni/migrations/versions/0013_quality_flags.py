"""Records loaded with their disagreements flagged; the features linkage gained.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03

A typo is not a reason to lose a person: a record whose RNOKPP is malformed, fails its check digit,
or encodes another birth date or sex than the record states is loaded, and ``quality_flags`` names
the disagreements (``ridni.ingest.validate.FLAGS``) on the staged row, the source record and each of
its versions. ``marts.source_quality`` counts the flagged rows of each source's night (a column added
to the view the latest earlier migration defined).

Linkage compares the birth date the RNOKPP encodes and who the source says the person is
(``core.link_record.rnokpp_birth_date``, ``person_type``), weighs exact name matches by the
names' frequencies at training (``core.linkage_model.term_frequencies``), and blocks records without
a patronymic on surname and birth year (an index of its own). The link tables are derived
data: emptied here, they are rebuilt in full by the next night, whose model is trained anew (a model
without the new comparisons is not used).
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FLAGGED_TABLES = ("staging.record", "core.source_record", "core.source_record_version")


def _previous_view() -> str:
    """marts.source_quality as the latest earlier migration that defines it made it (its
    ``SOURCE_QUALITY_VIEW``): this migration adds a column to whatever that view shows."""
    import importlib.util
    from pathlib import Path

    here = Path(__file__)
    earlier = sorted(p for p in here.parent.glob("[0-9][0-9][0-9][0-9]_*.py")
                     if p.name < here.name and "SOURCE_QUALITY_VIEW =" in p.read_text(encoding="utf-8"))
    spec = importlib.util.spec_from_file_location(f"ridni_migration_{earlier[-1].stem}", earlier[-1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SOURCE_QUALITY_VIEW


def _with_rows_flagged(view: str) -> str:
    """The view with rows_flagged: the night's rows loaded with a flag, from the validation summaries."""
    out = view.replace("CREATE VIEW marts.source_quality", "CREATE OR REPLACE VIEW marts.source_quality", 1)
    out = out.replace(
        "max(data_docs_uri) AS data_docs_uri\n",
        "max(data_docs_uri) AS data_docs_uri,\n"
        "           sum(COALESCE((summary ->> 'rows_flagged')::integer, 0)) AS rows_flagged\n", 1)
    out = out.replace("\nFROM nights n\n", ",\n       CASE WHEN ld.drop_id IS NOT NULL THEN v.rows_flagged::integer END"
                      " AS rows_flagged\nFROM nights n\n", 1)
    if out.count("rows_flagged") != 4:
        raise RuntimeError("marts.source_quality is not shaped as this migration expects")
    return out


def upgrade() -> None:
    for table in FLAGGED_TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN quality_flags text[] NOT NULL DEFAULT '{{}}'")
    op.execute(_with_rows_flagged(_previous_view()))
    op.execute("TRUNCATE core.link_record, core.link_edge")
    op.execute("ALTER TABLE core.link_record ADD COLUMN rnokpp_birth_date text, ADD COLUMN person_type text")
    # the blocking rule for records without a patronymic (ridni.linkage.model.BLOCKING_KEYS_IF_MISSING)
    op.execute("CREATE INDEX link_record_surname_birth_year ON core.link_record (surname_key, birth_year)")
    op.execute("ALTER TABLE core.linkage_model ADD COLUMN term_frequencies jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE core.linkage_model DROP COLUMN term_frequencies")
    op.execute("TRUNCATE core.link_record, core.link_edge")
    op.execute("DROP INDEX core.link_record_surname_birth_year")
    op.execute("ALTER TABLE core.link_record DROP COLUMN rnokpp_birth_date, DROP COLUMN person_type")
    # a view loses a column only by being made again
    op.execute("DROP VIEW marts.source_quality")
    op.execute(_previous_view())
    for table in FLAGGED_TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN quality_flags")

