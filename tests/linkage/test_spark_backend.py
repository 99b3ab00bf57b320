"""Linkage on Splink's Spark backend (local mode, ``local[2]``) against the DuckDB backend, in the real
warehouse: the same generated records give the same partition into persons on both engines.

Java 17 is installed by ``bin/install-java`` (called by ``bin/test``) when the machine has none.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from generated import START, ingested

from ridni.ingest.run import ingest_night
from ridni.linkage.run import resolve_persons

NIGHT2 = START + dt.timedelta(days=1)


def _partition(engine) -> set[frozenset[str]]:
    """The persons as sets of records (ids differ between runs; the sets must not)."""
    with engine.connect() as conn:
        links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
    keys = links["source_id"] + "/" + links["record_key"]
    return {frozenset(g) for g in keys.groupby(links["person_id"]).agg(list)}


def _model(engine) -> dict:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT settings FROM core.linkage_model ORDER BY model_id DESC LIMIT 1")).scalar()


def _levels(model: dict) -> list[tuple[str, str, float | None, float | None]]:
    return [(c["output_column_name"], level["sql_condition"], level.get("m_probability"), level.get("u_probability"))
            for c in model["comparisons"] for level in c["comparison_levels"]]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, make_database):
    # 600 persons: few enough records that the u estimate samples every pair, on both engines alike
    with ingested(tmp_path_factory, make_database, "spark", seed=7, persons=600, nights=2) as (engine, _, _, _):
        yield engine


def test_spark_and_duckdb_give_the_same_persons(warehouse, monkeypatch):
    from ridni.linkage import model

    monkeypatch.setenv("RIDNI_LINKAGE_BACKEND", "duckdb")
    on_duckdb = resolve_persons(warehouse, START, retrain=True)
    persons_duckdb, model_duckdb = _partition(warehouse), _model(warehouse)

    monkeypatch.setenv("RIDNI_LINKAGE_BACKEND", "spark")
    monkeypatch.setenv("RIDNI_SPARK_MASTER", "local[2]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        on_spark = resolve_persons(warehouse, START, retrain=True)
    # the records crossed into Spark through Arrow, not row by row (minutes at a million records)
    assert not [w for w in caught if "Arrow optimization" in str(w.message)], [str(w.message) for w in caught]
    assert model.spark_session().sparkContext.master == "local[2]"  # the run really went through Spark
    persons_spark, model_spark = _partition(warehouse), _model(warehouse)

    assert on_spark["mode"] == on_duckdb["mode"] == "full"
    assert on_duckdb["splink_links"] > 100 and on_duckdb["persons"] < on_duckdb["records"]
    assert on_spark["pairs_above_lower"] == on_duckdb["pairs_above_lower"]
    assert on_spark["splink_links"] == on_duckdb["splink_links"]
    assert persons_spark == persons_duckdb
    # the model is stored in one form whichever engine trained it: DuckDB's SQL, the code's comparisons,
    # and estimated by each engine (the values differ by the engines' random samples for u)
    spark_levels, duckdb_levels = _levels(model_spark), _levels(model_duckdb)
    assert model_spark["sql_dialect"] == model_duckdb["sql_dialect"] == "duckdb"
    assert [lv[:2] for lv in spark_levels] == [lv[:2] for lv in duckdb_levels]
    for levels in (spark_levels, duckdb_levels):
        assert sum(u is not None for *_, u in levels) > 20 and sum(m is not None for _, _, m, _ in levels) > 10


def test_an_incremental_night_on_spark_scores_with_the_stored_model_as_duckdb_does(warehouse, monkeypatch):
    """Night 2's changed records, scored on Spark with the stored model, give DuckDB's persons."""
    monkeypatch.setenv("RIDNI_LINKAGE_BACKEND", "spark")
    list(ingest_night(warehouse, NIGHT2))
    with warehouse.connect() as conn:
        models = conn.execute(sa.text("SELECT count(*) FROM core.linkage_model")).scalar()
    incremental = resolve_persons(warehouse, NIGHT2)
    assert incremental["mode"] == "incremental" and incremental["changed_records"] > 0
    with warehouse.connect() as conn:  # no retraining: the stored model scored on the other engine
        assert conn.execute(sa.text("SELECT count(*) FROM core.linkage_model")).scalar() == models
    on_spark = _partition(warehouse)

    monkeypatch.setenv("RIDNI_LINKAGE_BACKEND", "duckdb")
    full = resolve_persons(warehouse, NIGHT2, full=True)
    assert full["mode"] == "full"
    assert _partition(warehouse) == on_spark


def test_an_unknown_backend_is_refused(monkeypatch):
    from ridni.linkage import model

    monkeypatch.setenv("RIDNI_LINKAGE_BACKEND", "postgres")
    with pytest.raises(ValueError, match="RIDNI_LINKAGE_BACKEND"):
        model.backend()


def test_records_read_in_chunks_cross_into_spark_by_arrow():
    """Text read from the warehouse at scale comes in chunks; Spark takes only whole arrays through Arrow
    and otherwise converts row by row (a warning, and minutes at a million records)."""
    from splink.backends.spark import SparkAPI

    from ridni.linkage import model

    session = model.spark_session()
    part = pd.DataFrame({"surname_key": pd.array(["petrenko", None], dtype="str"),
                         "birth_year": pd.array([1990, None], dtype="Int64")})
    chunked = pd.concat([part, part], ignore_index=True)

    def arrow_fell_back(frame: pd.DataFrame) -> bool:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert session.createDataFrame(frame).count() == 4
        return any("Arrow optimization" in str(w.message) for w in caught)

    assert arrow_fell_back(chunked)  # what Spark does with the frame as read
    assert not arrow_fell_back(model._for_engine(SparkAPI(spark_session=session), chunked))
