"""The headline groups ridni publishes on `ridni synth` drops, beside the generator's truth (not a test).

    .venv/bin/python tests/decide/measure_headline.py OUT_DIR PERSONS NIGHTS {true|resolved}

Generates the drops (seed 1) into OUT_DIR, loads them into a database of its own on the test server
(RIDNI_TEST_SERVER_URL, else postgres on 127.0.0.1:5432; dropped at the end), links them (the
generator's true links, or ridni's own linkage), decides, builds the marts (no suppression) and prints
per night: marts.headline, the truth's headline (counts.json: the rules applied to the delivered
evidence) and the latent headline (what was really the case, known or not), and how many persons wait
for a review.
"""

import os
import sys
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

out, persons, nights, links = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for name, sub in (("RIDNI_DATA_DIR", ""), ("RIDNI_LANDING", "landing"), ("RIDNI_ARCHIVE", "archive"),
                  ("RIDNI_EXPORTS", "exports"), ("RIDNI_DATA_DOCS", "data_docs")):
    os.environ[name] = str(out / sub)
os.environ.setdefault("RIDNI_PSEUDONYM_KEY", "measure-not-secret")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_counts_against_truth import _true_links  # noqa: E402

from ridni import db  # noqa: E402
from ridni.decide.run import decide_night  # noqa: E402
from ridni.ingest.run import ingest_night  # noqa: E402
from ridni.linkage.run import resolve_persons  # noqa: E402
from ridni.publish.marts import build_marts  # noqa: E402
from ridni_dev.synth import generate  # noqa: E402
from ridni_dev.synth.truth import HEADLINE  # noqa: E402

synth = generate(out, seed=1, persons=persons, nights=nights)
server = os.environ.get("RIDNI_TEST_SERVER_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
name = f"ridni_test_measure_{uuid.uuid4().hex[:8]}"
admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
engine = None
try:
    db.upgrade(url)
    engine = db.make_engine(url)
    for night in synth.nights:
        list(ingest_night(engine, night))
        if links == "true":
            _true_links(engine, synth.truth, night)
        else:
            resolve_persons(engine, night)
        decide_night(engine, night)
        build_marts(engine, night, threshold=0)
        with engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT grp, count_value FROM marts.headline WHERE night = :n"),
                                    {"n": night}).all())
            review = dict(conn.execute(sa.text(
                "SELECT review, count(*) FROM core.person_status WHERE valid_to IS NULL AND review IS NOT NULL "
                "GROUP BY review")).all())
        truth = synth.counts[night]["headline"]
        latent = pd.read_csv(synth.truth / night.isoformat() / "persons.csv", dtype=str)["latent_category"]
        latent = latent.value_counts()
        print(f"night {night}  waiting for a review: {review or 'nobody'}")
        print(f"  {'group':42} {'ridni':>7} {'truth':>7} {'latent':>7}")
        for group, categories in HEADLINE:
            real = "" if categories is None else int(latent.reindex(categories).fillna(0).sum())
            print(f"  {group:42} {got.get(group)!s:>7} {truth[group]:>7} {real!s:>7}")
finally:
    if engine is not None:
        engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
