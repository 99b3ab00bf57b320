"""The review workbench as case officers use it: in a real browser, behind Airflow's own login.

Starts ``airflow api-server`` with the project's plugins and ``ridni.web.auth_manager.SimpleAuthManager``
(an officer with the User role, an analyst with the Viewer role) on a copy of the demo's first night
(``ridni synth``, its seed and size: some twenty pairs in the review band), and drives Debian's Chromium
through Playwright. A signed-out visitor and an analyst are refused. The officer opens the queue in
Ukrainian, decides "same" on the pair that would move a person out of missing (with a note, by mouse) and
"different" on a pair inside one person (by keyboard), and meets a stale view. The next night runs
(resolve, decide, publish; no source sent anything new): the person count, the change log on the
headquarters page and ``ridni explain`` show what the decisions did. Then the officer clears the rest of
the queue by keyboard, deciding each pair as the generator's ground truth says (decisions per minute in
tests/ui/output/review_keyboard.json). Category conflicts: the officer settles one by keyboard (the record
whose kind would change the count), meets a stale view on another, and after the next night the person's
kind, the change log's marker and ``ridni explain`` show it; clearing the queue settles the rest. Screenshots go to tests/ui/output/ (the queue and a pair to
docs/img/ with RIDNI_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import hq_server
import pandas as pd
import pytest
import sqlalchemy as sa
from hq_server import CHROMIUM, airflow_connection_json
from review_night import NEXT_NIGHT, NIGHT

from ridni import db
from ridni.review import decisions, queue

OUTPUT = Path(__file__).resolve().parent / "output"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
OFFICER, ANALYST = "officer", "analyst"
AUTH_MANAGER = "ridni.web.auth_manager.SimpleAuthManager"
NOTE = "Той самий номер звернення в обох справах"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: run bin/install-browser (Debian's chromium)")


@pytest.fixture(scope="module")
def server(review_warehouse, airflow_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("review-api-server")
    passwords = {OFFICER: uuid.uuid4().hex, ANALYST: uuid.uuid4().hex}
    (work / "passwords.json").write_text(json.dumps(passwords))
    env = hq_server.server_env(home=airflow_db, username=OFFICER, role="user", passwords_file=work / "passwords.json",
                               extra={
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{OFFICER}:user,{ANALYST}:viewer",
        "AIRFLOW_CONN_RIDNI_REVIEW": airflow_connection_json(review_warehouse.reviewer_url),
        "AIRFLOW_CONN_RIDNI_HQ_READONLY": airflow_connection_json(review_warehouse.reader_url),
        "RIDNI_DATA_DOCS": str(review_warehouse.root / "data_docs"),
    })
    env.pop("RIDNI_REVIEW_URL", None)
    running = hq_server.start_migrated(env, work)
    yield running, passwords
    hq_server.stop(running)


def _signed_in(browser, server, user: str):
    """A browser page signed in as ``user`` through Airflow's login page, which sends it to the review."""
    running, passwords = server
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())  # nothing external
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{running.base_url}/ridni-hq/review")
    assert "/auth/login" in page.url, "a signed-out visitor must land on Airflow's login page"
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", passwords[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ridni-hq/review.*"))
    return page


@pytest.fixture(scope="module")
def officer(browser, server):
    page = _signed_in(browser, server, OFFICER)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def persons_before(owner) -> int:
    with owner.connect() as conn:
        return conn.execute(sa.text("SELECT count(DISTINCT person_id) FROM core.person_link")).scalar()


@pytest.fixture(scope="module")
def chosen() -> dict:
    """What the tests decide, for the later ones to check."""
    return {}


def _url(server, path: str = "") -> str:
    return f"{server[0].base_url}/ridni-hq/review{path}"


def _queue(owner, kind: str | None = "pair") -> pd.DataFrame:
    """The queue of one kind (None: both kinds, as the page lists them)."""
    with owner.connect() as conn:
        return queue.queue_page(conn, queue.QueueFilter(kind=kind), 1, 1000).rows


def _shot(page, name: str, *, docs: bool = False) -> None:
    """The whole page, in a window as tall as the page (so the form that sticks to the bottom stays there)."""
    OUTPUT.mkdir(exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("document.body.scrollHeight")})
    page.screenshot(path=str(OUTPUT / name))
    page.set_viewport_size(size)
    if docs and os.environ.get("RIDNI_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OUTPUT / name, DOCS_IMG / name)


def _request(url: str, *, data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) without following redirects and without any cookie."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(urllib.request.Request(url, data=data, headers=headers or {}),
                                                          timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8", "replace")


def _decisions(owner) -> int:
    with owner.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM core.review_decision")).scalar()


# --- who may not -------------------------------------------------------------------------------------------

def test_signed_out_visitors_get_nothing(server, owner):
    first = _queue(owner).iloc[0]
    person = int(_queue(owner, "conflict")["person_id"].iloc[0])
    for path in ("", "/next", f"/pair/{first.pair_id}", f"/conflict/{person}", "/static/review.js"):
        status, headers, body = _request(_url(server, path), headers={"Accept": "application/json"})
        assert status == 401, (path, status)
        assert first.left_record_key not in body
        status, headers, body = _request(_url(server, path), headers={"Accept": "text/html"})
        assert status in (302, 303, 307) and headers["location"].startswith("/auth/login?next="), (path, status)
    before = _decisions(owner)
    status, _, _ = _request(_url(server, f"/pair/{first.pair_id}"), data=b"decision=same&version=x",
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": "_token=forged.jwt.value"})
    assert status in (401, 403)
    status, _, _ = _request(_url(server, f"/conflict/{person}"), data=b"decision=all_wrong&version=x",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (401, 403)
    assert _decisions(owner) == before


def test_an_analyst_sees_the_headquarters_page_but_not_the_review(browser, server, owner):
    running, passwords = server
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{running.base_url}/ridni-hq/")
    page.fill("input[name=username]", ANALYST)
    page.fill("input[name=password]", passwords[ANALYST])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ridni-hq/.*"))
    assert page.locator("h1").inner_text().startswith("Становище на")  # analysts keep their counts (in Ukrainian)
    first = _queue(owner).iloc[0]
    person = int(_queue(owner, "conflict")["person_id"].iloc[0])
    for path in ("", f"/pair/{first.pair_id}", f"/conflict/{person}"):
        response = page.goto(_url(server, path))
        assert response.status == 403, path
        assert "not allowed to read ridni_review" in page.content()
        assert first.left_record_key not in page.content()
    before = _decisions(owner)
    posted = page.request.post(_url(server, f"/pair/{first.pair_id}"), form={"decision": "same", "version": "x"},
                               headers={"Origin": running.base_url}, max_redirects=0)
    assert posted.status == 403 and "not allowed to decide in ridni_review" in posted.text()
    posted = page.request.post(_url(server, f"/conflict/{person}"), form={"decision": "all_wrong", "version": "x"},
                               headers={"Origin": running.base_url}, max_redirects=0)
    assert posted.status == 403
    assert _decisions(owner) == before
    context.close()


# --- the officer ------------------------------------------------------------------------------------------

def test_the_officer_sees_the_queue_by_impact_in_ukrainian(officer, server, owner):
    rows, everything = _queue(owner), _queue(owner, None)
    assert len(rows) >= 10
    officer.goto(_url(server))
    assert officer.locator("html").get_attribute("lang") == "uk"
    assert officer.locator("h1").inner_text() == "Черга перевірки"
    assert officer.locator("#size-pair b").inner_text() == str(len(rows))
    assert officer.locator("#size-conflict b").inner_text() == str((everything["kind"] == "conflict").sum())
    shown = officer.eval_on_selector_all(
        "table.queue tbody tr", "rows => rows.map(r => r.dataset.pair ? `pair ${r.dataset.pair}` "
                                ": `conflict ${r.dataset.conflict}`)")
    assert shown == [f"{k} {s}" for k, s in zip(everything["kind"], everything["subject_id"], strict=True)][
        :queue.PER_PAGE]
    assert "conflict" in " ".join(shown)
    impacts = officer.eval_on_selector_all("table.queue tbody tr", "rows => rows.map(r => r.dataset.impact)")
    assert impacts[0] == "out_of_missing" and impacts == sorted(impacts, key=list(queue.IMPACTS.values()).index)
    assert officer.locator("table.queue tbody tr").first.locator("td").nth(2).inner_text() == \
        "виводить особу зі зниклих безвісти"
    _shot(officer, "review_queue.png", docs=True)
    officer.get_by_role("link", name="English").click()
    assert officer.locator("h1").inner_text() == "Review queue"
    assert officer.locator("html").get_attribute("lang") == "en"
    officer.get_by_role("link", name="Українська").click()
    assert officer.locator("h1").inner_text() == "Черга перевірки"
    loaded = officer.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(server[0].base_url) for url in loaded), loaded


def test_the_review_in_the_airflow_navigation(officer, server):
    officer.goto(f"{server[0].base_url}/")
    officer.get_by_role("link", name=re.compile("^Review")).first.click()
    officer.wait_for_url(re.compile(r".*/plugin/ridni-review$"))
    assert officer.frame_locator("iframe").locator("h1").inner_text() == "Черга перевірки"
    officer.get_by_role("link", name=re.compile("^Headquarters")).first.wait_for()


def test_same_with_a_note_on_the_pair_that_moves_a_person_out_of_missing(officer, server, owner, chosen):
    first = _queue(owner).iloc[0]
    assert queue.IMPACTS[int(first.impact)] == "out_of_missing"
    officer.goto(_url(server))
    officer.locator("#start").click()
    officer.wait_for_url(re.compile(rf".*/review/pair/{first.pair_id}$"))
    assert officer.locator("h1").inner_text() == f"Пара {first.pair_id}"
    keys = officer.locator('tr[data-field="record_key"] td').all_inner_texts()
    assert keys == [first.left_record_key, first.right_record_key]
    same = officer.locator("#effect-same").inner_text()
    missing, confirmed = ((first.left_person, first.right_person) if first.left_category == "missing"
                          else (first.right_person, first.left_person))
    assert f"особа {missing} (зниклий безвісти)" in same.lower()
    assert "виходить зі зниклих безвісти" in same and "На одну особу менше" in same
    with owner.connect() as conn:  # a row for each comparison Splink made of the pair
        compared = conn.execute(sa.text("SELECT comparison FROM core.review_pair WHERE pair_id = :p"),
                                {"p": int(first.pair_id)}).scalar()
    assert officer.locator('table.levels tbody tr').count() == len(compared) > 0
    _shot(officer, "review_pair.png", docs=True)
    officer.fill("#note", NOTE)
    officer.get_by_role("button", name=re.compile("^Та сама особа")).click()
    officer.wait_for_url(re.compile(r".*/review/pair/\d+\?done=\d+$"))
    assert f"щодо пари {first.pair_id}: та сама особа" in officer.locator("#flash").inner_text()
    with owner.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT d.decision, d.decided_by, d.note, d.shown, p.decision AS standing FROM core.review_decision d "
            "JOIN core.review_pair p USING (pair_id) WHERE d.pair_id = :p"), {"p": int(first.pair_id)}).one()
    assert (row.decision, row.decided_by, row.note, row.standing) == ("same", OFFICER, NOTE, "same")
    assert row.shown["persons"] == [int(first.left_person), int(first.right_person)]
    assert row.shown["effect"]["same"] == "out_of_missing" and row.shown["lang"] == "uk"
    chosen["same"] = {"pair_id": int(first.pair_id), "persons": {int(missing), int(confirmed)}}


def test_different_by_keyboard_on_a_pair_inside_one_person(officer, server, owner, chosen):
    rows = _queue(owner)
    inside = rows[rows["left_person"] == rows["right_person"]]
    assert len(inside), "the demo's night has a pair whose two records the linkage put in one person"
    pair = inside.iloc[0]
    officer.goto(_url(server, f"/pair/{pair.pair_id}"))
    assert "буде розділено" in officer.locator("#effect-different").inner_text()
    officer.keyboard.press("d")
    officer.wait_for_url(re.compile(r".*\?done=\d+$"))
    with owner.connect() as conn:
        assert conn.execute(sa.text("SELECT decision FROM core.review_pair WHERE pair_id = :p"),
                            {"p": int(pair.pair_id)}).scalar() == "different"
    chosen["different"] = {"pair_id": int(pair.pair_id), "person": int(pair.left_person)}


def test_a_decision_on_a_stale_view_is_refused(officer, server, review_warehouse, owner):
    pair_id = int(_queue(owner)["pair_id"].iloc[0])
    officer.goto(_url(server, f"/pair/{pair_id}"))
    reviewer = db.make_engine(review_warehouse.reviewer_url)
    try:  # meanwhile another officer looks at the same pair and leaves it for later
        with reviewer.begin() as conn:
            decisions.record(conn, kind="pair", subject=pair_id, decision="not_sure", by="officer.two",
                             version=decisions.pair_version(conn, pair_id))
    finally:
        reviewer.dispose()
    before = _decisions(owner)
    with officer.expect_navigation():
        officer.keyboard.press("s")
    assert officer.locator("h1").inner_text() == "Пара змінилася"
    message = officer.locator("#message").inner_text()
    assert f"Пара {pair_id} змінилася після того, як ви її відкрили" in message
    assert "Ваше рішення не записано" in message
    assert _decisions(owner) == before
    _shot(officer, "review_stale.png")
    officer.locator("#again").click()
    assert "officer.two" in officer.locator("#history").inner_text()  # what changed it


def test_the_officer_settles_a_category_conflict_by_keyboard(officer, server, owner, chosen):
    conflicts = _queue(owner, "conflict")
    person = int(conflicts["person_id"].iloc[0])
    officer.goto(_url(server, "?kind=conflict"))
    officer.locator("#start").click()
    officer.wait_for_url(re.compile(rf".*/review/conflict/{person}\?kind=conflict$"))
    assert officer.locator("h1").inner_text() == f"Суперечність категорії особи {person}"
    assert "kind_conflict_to_review" in officer.locator("#competing").inner_text()
    records = officer.locator("table.competing tbody tr")
    assert records.count() >= 2
    refs = records.evaluate_all("rows => rows.map(r => [r.dataset.record, r.dataset.category, r.dataset.key])")
    effects = officer.locator("table.competing td.choice-effect").all_inner_texts()
    assert sum(e.startswith("лишається") for e in effects) == 1  # the kind counted now
    ref, category, key = next(r for r, e in zip(refs, effects, strict=True) if e.startswith("стає"))
    assert "лишається" in officer.locator("#effect-all-wrong").inner_text()  # both wrong: the kind by person type
    _shot(officer, "review_conflict.png", docs=True)
    officer.keyboard.press("/")
    officer.keyboard.type("вирок суду пізніший")
    officer.keyboard.press("Escape")
    with officer.expect_navigation():
        officer.keyboard.press(key)
    assert f"щодо доказів особи {person}: цей запис чинний" in officer.locator("#flash").inner_text()
    with owner.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT decision, evidence_source_id || '/' || evidence_record_key AS record, decided_by, note, shown "
            "FROM core.review_decision WHERE kind = 'evidence' AND person_id = :p"), {"p": person}).one()
    assert (row.decision, row.record, row.decided_by, row.note) == ("stands", ref, OFFICER, "вирок суду пізніший")
    assert row.shown["conflict"] == "kind" and row.shown["lang"] == "uk"
    assert person not in set(_queue(owner, "conflict")["person_id"])  # settled: the next night applies it
    chosen["conflict"] = {"person": person, "record": ref, "category": category}


def test_a_decision_on_a_stale_conflict_is_refused(officer, server, review_warehouse, owner):
    person = int(_queue(owner, "conflict")["person_id"].iloc[0])
    officer.goto(_url(server, f"/conflict/{person}"))
    reviewer = db.make_engine(review_warehouse.reviewer_url)
    try:  # meanwhile another officer looks at the same person and leaves it for later
        with reviewer.begin() as conn:
            version = conn.execute(sa.text("SELECT core.review_evidence_version(:p)"), {"p": person}).scalar()
            decisions.record(conn, kind="evidence", subject=person, decision="not_sure", by="officer.two",
                             version=version)
    finally:
        reviewer.dispose()
    before = _decisions(owner)
    with officer.expect_navigation():
        officer.keyboard.press("w")
    assert officer.locator("h1").inner_text() == "Докази змінилися"
    assert "Ваше рішення не записано" in officer.locator("#message").inner_text()
    assert _decisions(owner) == before


# --- the next night ---------------------------------------------------------------------------------------

def test_the_next_run_shows_what_the_decisions_did(officer, server, owner, review_warehouse, persons_before,
                                                   chosen, monkeypatch, capsys):
    assert review_warehouse.run_next_night()["resolve_persons"] == "success"
    with owner.connect() as conn:
        persons_after = conn.execute(sa.text("SELECT count(DISTINCT person_id) FROM core.person_link")).scalar()
        events = dict(conn.execute(sa.text("SELECT kind, count(*) FROM core.person_event WHERE night = :n "
                                           "GROUP BY kind"), {"n": NEXT_NIGHT}).all())
        joined = conn.execute(sa.text(
            "SELECT DISTINCT l.person_id FROM core.review_pair p JOIN core.person_link l "
            "ON (l.source_id, l.record_key) IN ((p.left_source_id, p.left_record_key), "
            "(p.right_source_id, p.right_record_key)) WHERE p.pair_id = :p"), {"p": chosen["same"]["pair_id"]}
        ).scalars().all()
        apart = conn.execute(sa.text(
            "SELECT count(DISTINCT l.person_id) FROM core.review_pair p JOIN core.person_link l "
            "ON (l.source_id, l.record_key) IN ((p.left_source_id, p.left_record_key), "
            "(p.right_source_id, p.right_record_key)) WHERE p.pair_id = :p"), {"p": chosen["different"]["pair_id"]}
        ).scalar()
        retired = conn.execute(sa.text("SELECT person_id, merged_into FROM core.person WHERE retired_on = :n"),
                               {"n": NEXT_NIGHT}).all()
        created = conn.execute(sa.text("SELECT person_id FROM core.person WHERE created_on = :n"),
                               {"n": NEXT_NIGHT}).scalars().all()
        log = pd.read_sql(sa.text("SELECT * FROM marts.change_log WHERE night = :n"), conn,
                          params={"n": NEXT_NIGHT})
        missing = dict(conn.execute(sa.text(
            "SELECT night, count_value FROM marts.headline WHERE grp = 'all missing'")).all())

    # the person count: the merge one person fewer, the split one more
    assert events == {"merge": 1, "split": 1}
    assert persons_after == persons_before - 1 + 1
    assert len(created) == 1 and len(retired) == 1
    # "same": the two records are one person now, the other person retired into it
    assert len(joined) == 1 and joined[0] in chosen["same"]["persons"]
    assert (next(iter(chosen["same"]["persons"] - set(joined))), joined[0]) in {tuple(r) for r in retired}
    # "different": the person that held both records is split
    assert apart == 2
    # nothing else moved tonight: every change in the log is a reviewer's, marked as such
    assert len(log) and set(log["review"]) == {"same", "different", "evidence"}, log[["change", "review"]]
    # the conflict: the person's kind is the record's the officer chose, and it moved once, marked
    settled = chosen["conflict"]
    with owner.connect() as conn:
        status = conn.execute(sa.text(
            "SELECT category, kind_rule, review FROM core.person_status WHERE person_id = :p AND valid_to IS NULL"),
            {"p": settled["person"]}).one()
    assert tuple(status) == (settled["category"], "reviewer_chose", None)
    by_evidence = log[log["review"] == "evidence"]
    assert by_evidence[["from_category", "to_category"]].values.tolist() == [["civilian_detained",
                                                                              settled["category"]]]
    out_of = (log["from_category"] == "missing") & (log["to_category"] != "missing")
    into = (log["to_category"] == "missing") & (log["from_category"] != "missing")
    assert (out_of & (log["review"] == "same")).sum() == 1  # the person the "same" moved out of missing
    assert missing[NEXT_NIGHT] == missing[NIGHT] - out_of.sum() + into.sum()

    # the headquarters page marks them
    officer.goto(f"{server[0].base_url}/ridni-hq/?night={NEXT_NIGHT}&lang=en")
    marks = officer.locator("table.change-log td.reviewed").all_inner_texts()
    labels = {"same": "reviewer: same person", "different": "reviewer: different persons",
              "evidence": "reviewer: which evidence stands"}
    assert sorted(marks) == sorted(labels[r] for r in log["review"])
    _shot(officer, "review_change_log.png")

    # explain: the decision that shaped the person, its officer and note
    from ridni.cli import main

    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", review_warehouse.url)
    assert main(["explain", str(joined[0])]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"#\d+ \S+ \S+ {OFFICER}: same on pair {chosen['same']['pair_id']} \(.*\) \[standing\], "
                     rf'note: "{NOTE}"', out), out
    assert main(["explain", str(settled["person"])]) == 0
    out = capsys.readouterr().out
    assert f"kind {settled['category']}: rule reviewer_chose" in out
    assert f"{OFFICER}: stands on evidence {settled['record']} [standing]" in out, out
    assert "shown: kind conflict of civilian_detained" in out and "the category follows evidence decision" in out


def test_clearing_the_queue_by_keyboard(officer, server, owner, review_warehouse):
    """The rest of the queue, after the next night, each pair and conflict as the generator's ground truth
    says: a pair "same" or "different"; a conflict the record whose kind is the person's, else both wrong."""
    truth, true_category = review_warehouse.truth(), review_warehouse.true_category()
    left = len(_queue(owner, None))
    assert (_queue(owner, None)["kind"] == "conflict").any()
    officer.goto(_url(server, "/next"))
    decided, seconds = {"pair": 0, "conflict": 0}, {"pair": 0.0, "conflict": 0.0}
    while found := re.search(r"/review/(pair|conflict)/", officer.url):
        kind, before, started = found.group(1), officer.url, time.perf_counter()
        if kind == "conflict":
            records = officer.locator("table.competing tbody tr").evaluate_all(
                "rows => rows.map(r => [r.dataset.record, r.dataset.category, r.dataset.key])")
            true = {true_category[tuple(ref.split("/", 1))] for ref, _, _ in records}
            key = next((k for _, category, k in records if category in true), "w")
        else:
            keys = officer.locator('tr[data-field="record_key"] td').all_inner_texts()
            sources = officer.locator('tr[data-field="source"] td').all_inner_texts()
            key = "s" if truth[(sources[0], keys[0])] == truth[(sources[1], keys[1])] else "d"
        officer.keyboard.press(key)
        officer.wait_for_url(lambda url, b=before: url != b)
        seconds[kind] += time.perf_counter() - started
        decided[kind] += 1
        assert sum(decided.values()) <= left, "the queue does not shrink"
    assert sum(decided.values()) == left and decided["conflict"] > 0
    assert officer.locator("#queue-empty").is_visible()
    assert officer.locator("#size-pair b").inner_text() == "0"
    assert officer.locator("#size-conflict b").inner_text() == "0"
    assert _queue(owner, None).empty
    # a measurement for README, not a verdict: the page's pace, page to page (a reviewer reads each one)
    total, elapsed = sum(decided.values()), sum(seconds.values())
    measured = {"decisions": total, "seconds": round(elapsed, 2), "decisions_per_minute": round(60 * total / elapsed),
                **{f"{kind}_decisions": n for kind, n in decided.items()},
                **{f"{kind}_per_minute": round(60 * n / seconds[kind]) for kind, n in decided.items() if n}}
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "review_keyboard.json").write_text(json.dumps(measured))
    print(f"{total} decisions by keyboard in {elapsed:.1f} s: {measured}")
