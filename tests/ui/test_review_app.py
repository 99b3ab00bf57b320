"""The review workbench without a browser: the decisions' door, the queue, the page's texts and refusals.

A copy of the demo's first night (``ridni synth``, its seed and size) with its uncertain pairs; the page's
app runs with a fixed case officer in place of Airflow's login (the browser test runs the real one) and
reads through a login in ``case_officer_reviewer``, as in production.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import uuid
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from review_night import NIGHT

from ridni import db
from ridni.review import decisions, queue
from ridni.review.pair import load_pair
from ridni.web import data, i18n, review
from ridni.web.app import create_app

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OFFICER = "officer.kovalenko"


def _client(url: str, officer: str = OFFICER) -> TestClient:
    desk = data.Reader(lambda: url, check=review.check_reviewer, readonly=False)
    return TestClient(create_app(user_dependency=lambda: "analyst", officer_dependency=lambda: officer, desk=desk),
                      follow_redirects=False)


@pytest.fixture(scope="module")
def client(review_warehouse):
    with _client(review_warehouse.reviewer_url) as c:
        yield c


@contextlib.contextmanager
def login_in(server_url: str, url: str, groups: str):
    """An engine logged in as a new role in ``groups``; role dropped after."""
    role = f"rv_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN IN ROLE {groups}"))
    engine = sa.create_engine(sa.engine.make_url(db.normalise_url(url)).set(username=role, password=None))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def _queue(engine, **flt) -> pd.DataFrame:
    """The pairs' queue (category conflicts have tests/ui/test_review_conflicts.py)."""
    flt.setdefault("kind", "pair")
    with engine.connect() as conn:
        return queue.queue_page(conn, queue.QueueFilter(**flt), 1, 10_000).rows


def _decide(engine, pair_id: int, decision: str, note: str | None = None) -> int:
    with engine.begin() as conn:
        return decisions.record(conn, kind="pair", subject=pair_id, decision=decision,
                                version=decisions.pair_version(conn, pair_id), by=OFFICER, note=note)


# --- the queue (first: later tests decide pairs) -------------------------------------------------------

def test_the_night_has_uncertain_pairs_of_every_impact(reviewer):
    rows = _queue(reviewer)
    assert len(rows) >= 10, "the demo's first night puts some twenty pairs in the review band"
    assert set(rows["impact"]) >= {queue.OUT_OF_MISSING, queue.OTHER}


def test_queue_is_ordered_by_impact_then_uncertainty(reviewer):
    rows = _queue(reviewer)
    assert list(rows["impact"]) == sorted(rows["impact"])
    missing = (rows["left_category"] == "missing") != (rows["right_category"] == "missing")
    one_person = rows["left_person"] == rows["right_person"]
    assert (rows["impact"] == queue.OUT_OF_MISSING).eq(missing & ~one_person).all()
    middle = queue.band_middle()
    for _, group in rows.groupby("impact"):
        distance = (group["match_probability"] - middle).abs()
        assert distance.is_monotonic_increasing, group[["pair_id", "match_probability"]]


def test_queue_filters_and_pages(reviewer):
    rows = _queue(reviewer)
    source = rows["right_source_id"].iloc[-1]
    with_source = rows[(rows["left_source_id"] == source) | (rows["right_source_id"] == source)]
    assert 0 < len(with_source) < len(rows)
    assert _queue(reviewer, source=source)["pair_id"].tolist() == with_source["pair_id"].tolist()
    region = rows["left_region"].dropna().iloc[0]
    in_region = rows[(rows["left_region"] == region) | (rows["right_region"] == region)]
    assert 0 < len(in_region) < len(rows)
    assert _queue(reviewer, region=region)["pair_id"].tolist() == in_region["pair_id"].tolist()
    assert _queue(reviewer, min_nights=0)["pair_id"].tolist() == rows["pair_id"].tolist()
    assert _queue(reviewer, min_nights=1).empty  # every pair was queued tonight
    with reviewer.connect() as conn:
        second = queue.queue_page(conn, queue.QueueFilter(kind="pair"), 2, 5)
    assert second.total == len(rows) and second.pages == -(-len(rows) // 5)
    assert second.rows["pair_id"].tolist() == rows["pair_id"].iloc[5:10].tolist()


# --- the door ------------------------------------------------------------------------------------------

def test_the_reviewer_login_records_decisions_and_writes_nothing_else(reviewer, owner, review_warehouse):
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    recorded = _decide(reviewer, pair_id, "same", note="the same appeal in both files")
    with owner.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM core.review_decision WHERE decision_id = :d"), {"d": recorded}).one()
        pair = conn.execute(sa.text("SELECT decision, decided_by FROM core.review_pair WHERE pair_id = :p"),
                            {"p": pair_id}).one()
    assert (row.kind, row.pair_id, row.decision, row.decided_by, row.note) == (
        "pair", pair_id, "same", OFFICER, "the same appeal in both files")
    assert row.login == sa.engine.make_url(review_warehouse.reviewer_url).username
    assert row.supersedes is None and re.fullmatch(r"[0-9a-f]{32}", row.version)
    assert tuple(pair) == ("same", OFFICER)  # what the linkage reads
    for sql in ("INSERT INTO core.review_decision (decision_id, kind, pair_id, decision, version, decided_by) "
                "VALUES (1000000, 'pair', (SELECT min(pair_id) FROM core.review_pair), 'same', 'x', 'me')",
                "UPDATE core.review_decision SET decision = 'different'",
                "DELETE FROM core.review_decision",
                "UPDATE core.review_pair SET decision = 'different'",
                "DELETE FROM core.person_link",
                "UPDATE core.person_status SET category = 'returned'"):
        with reviewer.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(sql))


@pytest.mark.parametrize("groups", ["ridni_writer", "case_officer", "hq_analyst"])
def test_no_other_role_may_record_or_change_a_decision(groups, server_url, review_warehouse):
    with login_in(server_url, review_warehouse.url, groups) as engine:
        for sql in ("SELECT core.record_review_decision('pair', 1, 'same', 'x', 'me')",
                    "UPDATE core.review_decision SET note = 'changed'",
                    "DELETE FROM core.review_decision"):
            with engine.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(sql))
        with engine.connect() as conn:
            if groups == "hq_analyst":
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text("SELECT count(*) FROM core.review_decision"))
            else:  # the pipeline and case officers read the decisions
                assert conn.execute(sa.text("SELECT count(*) FROM core.review_decision")).scalar() >= 0


def test_a_newer_decision_supersedes_and_both_stay(reviewer, owner):
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    first = _decide(reviewer, pair_id, "same")
    second = _decide(reviewer, pair_id, "different", note="different fathers' names in the files")
    third = _decide(reviewer, pair_id, "not_sure")
    with owner.connect() as conn:
        history = conn.execute(sa.text("SELECT decision_id, decision, supersedes FROM core.review_decision "
                                       "WHERE pair_id = :p ORDER BY decision_id"), {"p": pair_id}).all()
        standing = conn.execute(sa.text("SELECT decision FROM core.review_pair WHERE pair_id = :p"),
                                {"p": pair_id}).scalar()
    assert [tuple(h) for h in history] == [(first, "same", None), (second, "different", first),
                                           (third, "not_sure", second)]
    assert standing is None  # "not sure" leaves the pair undecided: back in the queue, behind the others
    rows = _queue(reviewer)
    assert rows["pair_id"].iloc[-1] == pair_id and rows["skipped_at"].notna().iloc[-1]


def test_a_decision_on_a_stale_view_is_refused_and_nothing_is_recorded(reviewer, owner):
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    with reviewer.connect() as conn:
        shown = decisions.pair_version(conn, pair_id)
    with owner.begin() as conn:  # a night scores the pair again
        conn.execute(sa.text("UPDATE core.review_pair SET match_probability = match_probability + 0.001 "
                             "WHERE pair_id = :p"), {"p": pair_id})
    count = "SELECT count(*) FROM core.review_decision"
    with owner.connect() as conn:
        before = conn.execute(sa.text(count)).scalar()
    with reviewer.begin() as conn, pytest.raises(decisions.StaleView):
        decisions.record(conn, kind="pair", subject=pair_id, decision="same", version=shown, by=OFFICER)
    with reviewer.begin() as conn, pytest.raises(decisions.NoSuchSubject):
        decisions.record(conn, kind="pair", subject=10**9, decision="same", version=shown, by=OFFICER)
    with owner.connect() as conn:
        assert conn.execute(sa.text(count)).scalar() == before
    with pytest.raises(ValueError, match="not a pair decision"):
        with reviewer.begin() as conn:
            decisions.record(conn, kind="pair", subject=pair_id, decision="stands", version=shown, by=OFFICER)


def test_evidence_decisions_go_through_the_same_door(reviewer, owner):
    """Which of a person's conflicting records stands: the same table, function and stale check."""
    with owner.connect() as conn:
        person, source_id, record_key = conn.execute(sa.text(
            "SELECT person_id, source_id, record_key FROM core.evidence WHERE person_id = (SELECT person_id "
            "FROM core.evidence GROUP BY person_id HAVING count(*) > 1 ORDER BY person_id LIMIT 1) "
            "ORDER BY source_id, record_key LIMIT 1")).one()
    with reviewer.begin() as conn:
        version = conn.execute(sa.text("SELECT core.review_evidence_version(:p)"), {"p": person}).scalar()
        recorded = decisions.record(conn, kind="evidence", subject=person, decision="stands", version=version,
                                    by=OFFICER, evidence=(source_id, record_key))
    with reviewer.begin() as conn, pytest.raises(decisions.StaleView):  # the decision itself changed the view
        decisions.record(conn, kind="evidence", subject=person, decision="all_wrong", version=version, by=OFFICER)
    with reviewer.begin() as conn, pytest.raises(sa.exc.IntegrityError):  # "stands" names the record
        version = conn.execute(sa.text("SELECT core.review_evidence_version(:p)"), {"p": person}).scalar()
        decisions.record(conn, kind="evidence", subject=person, decision="stands", version=version, by=OFFICER)
    with reviewer.begin() as conn, pytest.raises(decisions.NoSuchSubject):
        decisions.record(conn, kind="evidence", subject=10**9, decision="all_wrong", version="x", by=OFFICER)
    with owner.connect() as conn:
        row = conn.execute(sa.text("SELECT kind, person_id, evidence_source_id, evidence_record_key, pair_id "
                                   "FROM core.review_decision WHERE decision_id = :d"), {"d": recorded}).one()
    assert tuple(row) == ("evidence", person, source_id, record_key, None)


# --- the page ------------------------------------------------------------------------------------------

def test_queue_page_is_ukrainian_by_default_and_english_on_request(client, reviewer):
    sizes = _queue(reviewer)
    page = client.get("/review")
    assert page.status_code == 200
    assert '<html lang="uk">' in page.text and "<h1>Черга перевірки</h1>" in page.text
    assert re.search(rf'id="size-pair"><b>{len(sizes)}</b>пар записів', page.text)
    english = client.get("/review", params={"lang": "en"})
    assert '<html lang="en">' in english.text and "<h1>Review queue</h1>" in english.text
    assert english.cookies.get(i18n.COOKIE) == "en"
    assert "<h1>Review queue</h1>" in client.get("/review").text  # the cookie keeps the choice
    assert "<h1>Черга перевірки</h1>" in client.get("/review", params={"lang": "uk"}).text


def test_numbers_and_dates_in_each_language():
    uk, en = i18n.language("uk"), i18n.language("en")
    assert uk.number(20000) == "20\u00a0000" and en.number(20000) == "20,000"
    assert uk.number(0.7305, 2) == "0,73" and en.number(0.7305, 2) == "0.73"
    assert uk.date(NIGHT) == "1 лист. 2026\u202fр." and en.date(NIGHT) == "Nov 1, 2026"
    assert uk.ngettext("%(n)s night or more", "%(n)s nights or more", 7) % {"n": 7} == "7 ночей або більше"
    assert uk.ngettext("%(n)s night or more", "%(n)s nights or more", 2) % {"n": 2} == "2 ночі або більше"
    assert i18n.language("de").code == "uk"


def _extracted() -> set:
    from babel.messages.extract import extract_from_dir, extract_from_file

    found = []
    for source in i18n.TEXT_SOURCES:
        found += (extract_from_dir(str(source), method_map=[("**.py", "python")]) if source.is_dir()
                  else ((source.name, *m) for m in extract_from_file("python", str(source))))
    return {m[2] if isinstance(m[2], str) else tuple(m[2]) for m in found}


def test_every_text_has_its_ukrainian_translation():
    from babel.messages.pofile import read_po

    with i18n.catalog_path("uk").open("rb") as po:
        catalog = read_po(po, locale="uk")
    translated = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    extracted = _extracted()
    assert extracted - set(translated) == set(), "texts without a translation: run pybabel update (docs/review.md)"
    assert set(translated) - extracted == set(), "translations of texts no longer in the code"
    for key, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, key
    assert [errors for _, errors in catalog.check() if errors] == []  # placeholders agree


def test_every_text_the_pages_show_was_extracted(client, reviewer, monkeypatch):
    """A text looked up where the extractor cannot see it (inside an f-string) would stay English."""
    asked = set()
    original = i18n.Language.gettext

    def recording(self, message):
        asked.add(message)
        return original(self, message)

    monkeypatch.setattr(i18n.Language, "gettext", recording)
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    person = int(_queue(reviewer, kind="conflict")["person_id"].iloc[0])
    for path, params in (("/review", {}), ("/review", {"min_nights": 999}), (f"/review/pair/{pair_id}", {}),
                         ("/review/pair/999999999", {}), (f"/review/conflict/{person}", {}),
                         ("/review/conflict/999999999", {})):
        client.get(path, params={"lang": "uk", **params})
    client.post(f"/review/pair/{pair_id}", data={"decision": "same", "version": "stale"})
    client.post(f"/review/conflict/{person}", data={"decision": "all_wrong", "version": "stale"})
    assert len(asked) > 60
    assert asked - _extracted() == set()


def test_no_text_is_looked_up_inside_an_f_string():
    """The extractor does not look inside f-strings (Python 3.11): a text there would never be translated."""
    import ast

    lookups = {"_", "gettext", "ngettext"}
    hidden = []
    for path in sorted(p for source in i18n.TEXT_SOURCES for p in (source.glob("*.py") if source.is_dir()
                                                                     else [source])):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
                    if name in lookups:
                        hidden.append(f"{path.name}:{call.lineno}")
    assert hidden == []


def test_pair_page_shows_both_records_with_identifiers_masked(client, reviewer, owner):
    with owner.connect() as conn:
        pair_id, rnokpp = conn.execute(sa.text(
            "SELECT p.pair_id, r.rnokpp FROM core.review_pair p JOIN core.source_record r "
            "ON (r.source_id, r.record_key) IN ((p.left_source_id, p.left_record_key), "
            "(p.right_source_id, p.right_record_key)) WHERE r.rnokpp IS NOT NULL ORDER BY p.pair_id LIMIT 1")).one()
        with reviewer.connect() as rconn:
            view = load_pair(rconn, pair_id)
    page = client.get(f"/review/pair/{pair_id}", params={"lang": "en"}).text
    assert rnokpp not in page and rnokpp[-4:] in page
    assert "\u2022" * 6 + rnokpp[-4:] in page
    for side in (view.left, view.right):
        assert side["record_key"] in page and side["surname_key"] in page
        assert html.escape((side["surname"] or side["full_name"] or "").split()[0]) in page
    assert page.count('<tr data-field="') == 20 + len(view.levels)
    assert f'name="version" value="{view.version}"' in page
    assert "What the decision would change" in page and 'id="effect-same"' in page


def test_values_from_the_warehouse_are_escaped(client, reviewer, owner):
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    with owner.begin() as conn:
        conn.execute(sa.text(
            "UPDATE core.source_record r SET surname = '<script>alert(1)</script>' FROM core.review_pair p "
            "WHERE p.pair_id = :p AND r.source_id = p.left_source_id AND r.record_key = p.left_record_key"),
            {"p": pair_id})
    page = client.get(f"/review/pair/{pair_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_only_the_review_page_may_run_its_own_script(client):
    queue_page, hq = client.get("/review"), client.get("/")
    assert "script-src 'self'" in queue_page.headers["content-security-policy"]
    assert "script-src 'none'" in hq.headers["content-security-policy"]
    script = client.get("/review/static/review.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "requestSubmit" in script.text
    assert "http" not in script.text  # loads nothing from anywhere


def test_deciding_through_the_page_moves_on_and_a_stale_form_is_refused(client, reviewer, owner):
    rows = _queue(reviewer)
    pair_id, following = int(rows["pair_id"].iloc[0]), int(rows["pair_id"].iloc[1])
    form = client.get(f"/review/pair/{pair_id}", params={"lang": "uk"}).text
    version = re.search(r'name="version" value="([0-9a-f]+)"', form).group(1)
    done = client.post(f"/review/pair/{pair_id}", data={"decision": "different", "version": version, "note": "x"})
    assert done.status_code == 303
    assert re.fullmatch(rf"/review/pair/{following}\?done=\d+", done.headers["location"])
    shown = client.get(done.headers["location"]).text
    assert re.search(rf"Записано рішення № \d+ щодо пари {pair_id}: різні особи\.", shown)
    stale = client.post(f"/review/pair/{pair_id}", data={"decision": "same", "version": version})
    assert stale.status_code == 409
    assert f"Пара {pair_id} змінилася після того, як ви її відкрили" in stale.text
    assert "Ваше рішення не записано" in stale.text
    with owner.connect() as conn:
        assert conn.execute(sa.text("SELECT decision FROM core.review_pair WHERE pair_id = :p"),
                            {"p": pair_id}).scalar() == "different"
        recorded = conn.execute(sa.text("SELECT shown, decided_by FROM core.review_decision WHERE pair_id = :p "
                                        "ORDER BY decision_id DESC LIMIT 1"), {"p": pair_id}).one()
    assert recorded.decided_by == OFFICER and recorded.shown["lang"] == "uk"
    assert set(recorded.shown) >= {"version", "records", "persons", "categories", "comparison", "effect"}
    with reviewer.connect() as conn:
        view = load_pair(conn, pair_id)
    names = [side[k] for side in (view.left, view.right) for k in ("surname", "first_name", "birth_date")
             if side.get(k)]
    assert names and not [n for n in names if n in json.dumps(recorded.shown, ensure_ascii=False)]  # no names


def test_a_form_from_elsewhere_and_a_made_up_decision_are_refused(client, reviewer):
    pair_id = int(_queue(reviewer)["pair_id"].iloc[0])
    with reviewer.connect() as conn:
        version = decisions.pair_version(conn, pair_id)
    forged = client.post(f"/review/pair/{pair_id}", data={"decision": "same", "version": version},
                         headers={"Origin": "https://attacker.example"})
    assert forged.status_code == 403
    cross = client.post(f"/review/pair/{pair_id}", data={"decision": "same", "version": version},
                        headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    made_up = client.post(f"/review/pair/{pair_id}", data={"decision": "merge", "version": version})
    assert made_up.status_code == 400
    with reviewer.connect() as conn:
        assert decisions.pair_version(conn, pair_id) == version  # nothing recorded


def test_the_page_refuses_a_login_that_can_write_more(review_warehouse, server_url):
    with _client(review_warehouse.url) as c:  # the owner: a superuser here
        response = c.get("/review")
    assert response.status_code == 503 and "can write more than decisions" in response.text
    with _client(review_warehouse.reader_url) as c:  # the analysts' reader
        response = c.get("/review")
    assert response.status_code == 503 and "not a member of case_officer_reviewer" in response.text
    with login_in(server_url, review_warehouse.url, "case_officer_reviewer, ridni_writer") as engine:
        with _client(engine.url.render_as_string(hide_password=False)) as c:
            response = c.get("/review/pair/1")
    assert response.status_code == 503 and "ridni_writer" in response.text


def test_cli_lists_shows_and_decides(review_warehouse, reviewer, monkeypatch, capsys):
    from ridni.cli import main

    monkeypatch.setenv("RIDNI_REVIEW_URL", review_warehouse.reviewer_url)
    assert main(["review", "list"]) == 0
    listing = capsys.readouterr().out
    rows = _queue(reviewer)
    assert listing.startswith(f"waiting: {len(rows)} pairs")
    pair_id = int(rows["pair_id"].iloc[0])
    assert re.search(rf"^\s+{pair_id}\s+{queue.IMPACTS[int(rows['impact'].iloc[0])]}", listing, re.M)
    assert main(["review", "show", str(pair_id)]) == 0
    shown = capsys.readouterr().out
    version = re.search(r"^version ([0-9a-f]{32})$", shown, re.M).group(1)
    assert "same: " in shown and "different: " in shown and "level surname" in shown
    assert main(["review", "decide", str(pair_id), "same", "--by", "cli.officer", "--version", version]) == 0
    assert re.search(rf"recorded decision \d+: pair {pair_id} same", capsys.readouterr().out)
    assert main(["review", "decide", str(pair_id), "different", "--by", "cli.officer", "--version", version]) == 1
    assert "not recorded" in capsys.readouterr().out


def test_the_auth_manager_keeps_viewers_out_of_the_review():
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager as Airflows
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    from ridni.web.auth import RESOURCE_NAME, REVIEW_RESOURCE, tells_custom_views_apart
    from ridni.web.auth_manager import SimpleAuthManager

    manager = SimpleAuthManager()
    allowed = {role: {(view, method): manager.is_authorized_custom_view(
                   method=method, resource_name=view, user=SimpleAuthManagerUser(username="u", role=role))
                   for view in (RESOURCE_NAME, REVIEW_RESOURCE) for method in ("GET", "POST")}
               for role in ("viewer", "user", "op", "admin")}
    assert allowed["viewer"] == {(RESOURCE_NAME, "GET"): True, (RESOURCE_NAME, "POST"): True,
                                 (REVIEW_RESOURCE, "GET"): False, (REVIEW_RESOURCE, "POST"): False}
    for role in ("user", "op", "admin"):
        assert all(allowed[role].values()), role
    assert tells_custom_views_apart(manager) and not tells_custom_views_apart(Airflows())
