"""Fixtures of the headquarters page's tests: warehouses with published marts, each with a reader login role.

- ``demo_warehouse``: the demo's nights of generated extracts run through the pipeline (``hq_demo.py``);
  the browser test reads it.
- ``hq_warehouse``: hand-written marts (``hq_marts.py``) with the cases the demo's nights do not produce
  (a rejected and a late source, a headline group suppressed on one night only, ...); the app's tests.
- ``bad_night_warehouse``: the same marts and a fourth night on which six nightly sources sent nothing and one
  drop was rejected (``hq_marts.fill_bad_night``); the bad-night browser test.
- ``review_warehouse``: a copy of one generated night with uncertain pairs (``review_night.py``), with a
  case officers' review login and an analysts' reader login; each review test module gets its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hq_demo import fill_with_demo_nights
from hq_marts import BAD_NIGHT, NIGHTS, create_source_quality_view, fill_bad_night, fill_marts
from review_night import ReviewWarehouse, copy_database, fill_first_night

from ridni import db


@dataclass(frozen=True)
class HQWarehouse:
    writer_url: str  # the owner (tests only)
    reader_url: str  # the login role in hq_analyst
    reader_role: str
    reader_password: str
    data_docs: Path  # RIDNI_DATA_DOCS for the server
    nights: tuple[dt.date, ...]  # the published nights, oldest first
    exports: Path | None = None  # RIDNI_EXPORTS of the nights, when the pipeline wrote them

    @property
    def last(self) -> dt.date:
        return self.nights[-1]


@contextlib.contextmanager
def _reader_role(server_url: str, url: str, group: str = "hq_analyst"):
    """A login role in ``group`` on the database at ``url``: (its URL, role, password); dropped after."""
    role = f"hq_ui_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE {group}"))
    try:
        yield (sa.engine.make_url(url).set(username=role, password=password).render_as_string(hide_password=False),
               role, password)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role})
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


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
    with _reader_role(server_url, url) as (reader_url, role, password):
        yield HQWarehouse(url, reader_url, role, password, data_docs, tuple(NIGHTS))


@pytest.fixture(scope="session")
def bad_night_warehouse(make_database, tmp_path_factory, server_url) -> HQWarehouse:
    url = make_database()
    db.upgrade(url)
    data_docs = tmp_path_factory.mktemp("bad_night_data_docs")
    writer = db.make_engine(url)
    with writer.begin() as conn:
        fill_marts(conn, data_docs)
        fill_bad_night(conn)
    writer.dispose()
    with _reader_role(server_url, url) as (reader_url, role, password):
        yield HQWarehouse(url, reader_url, role, password, data_docs, (*NIGHTS, BAD_NIGHT))


@pytest.fixture(scope="session")
def demo_warehouse(make_database, tmp_path_factory, server_url) -> HQWarehouse:
    url = make_database()
    db.upgrade(url)
    root = tmp_path_factory.mktemp("demo")
    nights = fill_with_demo_nights(url, root)
    with _reader_role(server_url, url) as (reader_url, role, password):
        yield HQWarehouse(url, reader_url, role, password, root / "data_docs", tuple(nights), root / "exports")


@pytest.fixture(scope="session")
def review_template(make_database, tmp_path_factory) -> tuple[str, Path]:
    """The demo's first night run into a warehouse (never used directly: ``review_warehouse`` copies it)."""
    url = make_database()
    db.upgrade(url)
    root = tmp_path_factory.mktemp("review")
    fill_first_night(url, root)
    return url, root


@pytest.fixture(scope="module")
def review_warehouse(review_template, server_url, tmp_path_factory) -> ReviewWarehouse:
    template, root = review_template
    with copy_database(server_url, template) as url, \
            _reader_role(server_url, url, "case_officer_reviewer") as (reviewer_url, _, _), \
            _reader_role(server_url, url) as (reader_url, _, _):
        yield ReviewWarehouse(url, reviewer_url, reader_url, root, tmp_path_factory.mktemp("review_exports"))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (``playwright install`` is not needed)."""
    from hq_server import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def owner(review_warehouse):
    """The review warehouse as its owner (the pipeline's role): for setting up and reading back."""
    engine = db.make_engine(review_warehouse.url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def reviewer(review_warehouse):
    """The review warehouse as the review page's login: it may only record decisions."""
    engine = db.make_engine(review_warehouse.reviewer_url)
    yield engine
    engine.dispose()
