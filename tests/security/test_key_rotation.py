"""Rotating the pseudonymisation key (docs/security.md, "Rotating the pseudonymisation key").

A night is published with the old key; the key is replaced and the night's marts and exports are rebuilt.
Every pseudonymous id changes, consistently (one person, one new id, in the marts and in every exported
format), and the old -> new mapping is produced from ``core`` by whoever holds both keys, exactly as the
procedure says; since the mapping is a function of the person id, it holds for every night alike.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml
from secutil import PSEUDONYM_KEY

from ridni.config import PROJECT_ROOT
from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_night
from ridni.linkage.run import resolve_persons
from ridni.privacy import pseudonym_key, pseudonymise
from ridni.publish.exports import publish_night
from ridni.publish.marts import build_marts

NEW_KEY = "the-new-key-also-not-secret"
COLUMNS = [
    "night",
    "pseudo_id",
    "change",
    "from_category",
    "to_category",
    "effective_date",
    "evidence_source",
    "evidence_record",
    "rule",
]


def rotation_map(engine: sa.Engine, old_key: bytes, new_key: bytes) -> tuple[dict, dict]:
    """The procedure's mapping: every person id and every record reference under both keys."""
    with engine.connect() as conn:
        persons = pd.read_sql(sa.text("SELECT person_id FROM core.person"), conn)["person_id"].astype("int64")
        records = pd.read_sql(
            sa.text("SELECT source_id || '/' || record_key AS ref FROM core.source_record"), conn
        )["ref"]
    people = dict(zip(pseudonymise(persons, old_key), pseudonymise(persons, new_key), strict=True))
    refs = dict(
        zip(
            pseudonymise(records, old_key, prefix="R-"),
            pseudonymise(records, new_key, prefix="R-"),
            strict=True,
        )
    )
    return people, refs


def _change_log(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT {', '.join(COLUMNS)} FROM marts.change_log"), conn)  # noqa: S608


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return set(frame[COLUMNS].astype("string").fillna("").itertuples(index=False, name=None))


def test_rotating_the_key_changes_every_pseudonym_consistently_and_both_keys_give_the_mapping(
    night_env, fresh_warehouse, tmp_path, monkeypatch
):
    _, engine = fresh_warehouse
    synth = night_env(persons=80, nights=1)
    exports = tmp_path / "exports"
    for night in synth.nights:
        list(ingest_night(engine, night))
        resolve_persons(engine, night)
        decide_night(engine, night)
        build_marts(engine, night)
        publish_night(engine, night, exports)
    old_key = pseudonym_key()
    assert old_key == PSEUDONYM_KEY.encode()
    before = _change_log(engine)
    old_files = {n: (exports / n.isoformat() / "change_log.csv").read_text() for n in synth.nights}
    assert before["pseudo_id"].nunique() > 50

    # the rotation: a new key in the secret store, every night's marts and exports rebuilt (core is untouched)
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", NEW_KEY)
    for night in synth.nights:
        build_marts(engine, night)
        publish_night(engine, night, exports)
    after = _change_log(engine)

    # every pseudonymous id changed: none of the old ones is left, in the marts or in any exported file
    old_ids = set(before["pseudo_id"]) | set(before["evidence_record"].dropna())
    new_ids = set(after["pseudo_id"]) | set(after["evidence_record"].dropna())
    assert old_ids and not old_ids & new_ids
    for path in Path(exports).rglob("*.csv"):
        text = path.read_text()
        assert not [i for i in old_ids if i in text], path

    # whoever holds both keys maps old to new; the mapping turns the old change log into the new one exactly
    people, refs = rotation_map(engine, old_key, NEW_KEY.encode())
    assert len(set(people.values())) == len(people), "one new id per person"
    translated = before.assign(
        pseudo_id=before["pseudo_id"].map(people), evidence_record=before["evidence_record"].map(refs)
    )
    assert translated["pseudo_id"].notna().all()
    assert _rows(translated) == _rows(after)
    # and every exported format says the same as the marts
    for night in synth.nights:
        folder = exports / night.isoformat()
        want = set(after.loc[after["night"] == night, "pseudo_id"])
        assert set(pd.read_csv(folder / "change_log.csv", dtype=str)["pseudo_id"]) == want
        assert set(pd.read_parquet(folder / "change_log.parquet")["pseudo_id"]) == want
        assert set(pd.read_excel(folder / "change_log.xlsx", dtype=str)["pseudo_id"]) == want
        old_exported = pd.read_csv(io.StringIO(old_files[night]), dtype=str)
        assert set(old_exported["pseudo_id"].map(people)) == want

    # without the key there is no way back: every person id tried with a wrong key matches nothing published
    wrong, _ = rotation_map(engine, b"a-guessed-key", b"a-guessed-key")
    assert not set(wrong) & new_ids


def test_production_gives_the_pipeline_a_pseudonymisation_key_from_its_secrets():
    """docker-compose.yml must hand the workers the key (an Airflow connection from .env or a secrets backend);
    without it the pipeline falls back to a random key file generated inside each container, so every
    redeployment (and every second worker) silently publishes different pseudonyms."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    env = compose["x-airflow-common"]["environment"]
    given = {k: v for k, v in env.items() if k in ("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY", "RIDNI_PSEUDONYM_KEY")}
    backend = any(k.startswith("AIRFLOW__SECRETS__BACKEND") for k in env)
    assert given or backend, "no pseudonymisation key for the Airflow containers"
    example = (PROJECT_ROOT / ".env.example").read_text()
    for name, value in given.items():
        assert str(value).startswith("${"), f"{name} must come from .env, not be written in the compose file"
        assert str(value).strip("${}") + "=" in example, f"{name} is missing from .env.example"
