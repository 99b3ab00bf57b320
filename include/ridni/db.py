"""The warehouse connection: a SQLAlchemy engine on PostgreSQL through psycopg2.

When no warehouse URL is configured, :func:`embedded_url` starts a private
PostgreSQL from the ``pgserver`` package in a data folder of the project, so the
demo runs on a machine with nothing but Python.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from ridni.config import settings

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Give a PostgreSQL URL the explicit psycopg2 driver (``postgres://`` too)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"the warehouse must be PostgreSQL, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    return sa.create_engine(normalise_url(url), pool_pre_ping=True, future=True)


def embedded_url(pgdata: Path | None = None, database: str = "ridni") -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL to ``database`` on it."""
    import pgserver  # imported here: production never needs it

    pgdata = pgdata or settings().embedded_pgdata
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # keep running for later processes
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise ValueError(f"not a plain database name: {database!r}")
    admin = sa.create_engine(normalise_url(server.get_uri("postgres")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        known = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).scalar()
        if not known:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return normalise_url(server.get_uri(database))


def resolve_url() -> tuple[str, str]:
    """The warehouse URL and where it came from: RIDNI_WAREHOUSE_URL, else the embedded server."""
    configured = settings().warehouse_url
    if configured:
        return normalise_url(configured), "RIDNI_WAREHOUSE_URL"
    return embedded_url(), f"embedded PostgreSQL in {settings().embedded_pgdata}"


def redacted(url: str) -> str:
    """The URL without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


def _csv(frame: pd.DataFrame) -> io.IOBase:
    """The frame as COPY-ready CSV, NULL (and, as ever here, an empty string) an unquoted blank.

    Arrow's C++ writer does this about eight times faster than ``DataFrame.to_csv``; a frame Arrow
    cannot type (mixed Python objects in a column) takes the pandas path, which writes the same.
    The table is combined into one chunk per column first: pyarrow 26's CSV writer, handed a column
    whose first chunk is empty (``pd.concat([empty, frame])``), writes kilobytes of uninitialised
    memory before the rows.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        texts = frame.select_dtypes(include=["object", "string"]).columns
        blanked = frame.assign(**{c: frame[c].mask(frame[c].eq("").fillna(False).astype(bool)) for c in texts})
        table = pa.Table.from_pandas(blanked, preserve_index=False).combine_chunks()
        buf: io.IOBase = io.BytesIO()
        pa_csv.write_csv(table, buf, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False, quoting=csv.QUOTE_MINIMAL, na_rep="")
    buf.seek(0)
    return buf


def read_text_frame(conn: Connection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """A query's result, every column as text (NULL stays missing), read with COPY ... TO STDOUT.

    For large reads of keys and hashes: several times faster than ``pd.read_sql``, which builds a
    Python row per result row. ``sql`` takes psycopg2 parameters (``%(name)s``).
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    cursor = conn.connection.driver_connection.cursor()
    query = cursor.mogrify(sql, params or {}).decode()
    buf = io.BytesIO()
    cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buf)
    buf.seek(0)
    header = buf.readline().decode().rstrip("\r\n")
    names = next(csv.reader([header])) if header else []
    if not names:
        return pd.DataFrame()
    if not buf.read(1):  # no rows
        return pd.DataFrame({n: pd.Series(dtype="string") for n in names})
    buf.seek(buf.tell() - 1)
    table = pa_csv.read_csv(
        buf,
        read_options=pa_csv.ReadOptions(column_names=names),
        convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                              strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    return table.to_pandas()


def copy_frame(conn: Connection, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """Bulk-load a frame with PostgreSQL COPY (CSV, NULL as an unquoted empty field)."""
    if frame.empty:
        return
    cols = ", ".join(columns)
    cursor = conn.connection.driver_connection.cursor()
    cursor.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", _csv(frame[columns]))


# Below this many rows, maintaining the indexes row by row costs less than building them again.
BULK_LOAD_ROWS = 50_000


@contextmanager
def indexes_after_load(conn: Connection, table: str, rows: int) -> Iterator[bool]:
    """Load ``rows`` rows into ``table`` inside the block, with its indexes and keys built once after.

    Worth it when the load is large and at least the size of what the table holds (a first or a full
    night): PostgreSQL then builds each index by one sort and checks each foreign key by one join,
    instead of row by row. The owner lends this through ``core.defer_indexes`` and
    ``core.restore_indexes`` (migration 0008), for the bulk-loaded tables only. Yields whether it deferred.
    """
    no_larger = conn.execute(sa.text(
        "SELECT pg_relation_size(oid) = 0 OR GREATEST(reltuples, 0) <= :rows FROM pg_class "
        "WHERE oid = CAST(:t AS regclass)"), {"t": table, "rows": rows}).scalar()
    if rows < BULK_LOAD_ROWS or not no_larger:
        yield False
        return
    conn.execute(sa.text("SELECT core.defer_indexes(CAST(:t AS regclass))"), {"t": table})
    yield True
    conn.execute(sa.text("SELECT core.restore_indexes(CAST(:t AS regclass))"), {"t": table})


def enable_login(url: str, role: str, password: str) -> None:
    """Let one of the migration's group roles log in (deployment step; the password never enters the repo)."""
    if role not in {"ridni_writer", "hq_analyst", "case_officer", "auditor"}:
        raise ValueError(f"not a ridni role: {role}")
    engine = make_engine(url)
    with engine.begin() as conn:
        quoted = conn.execute(sa.text("SELECT quote_literal(:p)"), {"p": password}).scalar()
        conn.execute(sa.text(f"ALTER ROLE {role} LOGIN PASSWORD {quoted}"))
    engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the warehouse schema to ``revision`` (Alembic)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
