"""The review page's routes, under ``/review`` of the headquarters app, and its database login.

- ``GET /review``: the queue (filters ``source``, ``region``, ``kind``, ``min_nights``; ``page``);
- ``GET /review/next``: the pair or conflict at the head of the queue under the filter;
- ``GET /review/pair/<id>``: one pair side by side, with the decision form;
- ``POST /review/pair/<id>``: record a decision (``decision``, ``version``, ``note``), then on to the
  next in the queue; a decision on a stale view is refused (409) and nothing is recorded;
- ``GET /review/conflict/<person>``: a person's category conflict, with the decision form;
- ``POST /review/conflict/<person>``: record which record stands (``decision`` ``stands:<source>/<key>``),
  ``all_wrong`` or ``not_sure``, as for a pair;
- ``GET /review/static/review.js``: the keyboard shortcuts.

Every route needs a case officer (``ridni.web.auth.case_officer``). The page connects as the login of the
Airflow connection ``ridni_review`` (else ``RIDNI_REVIEW_URL``): a role in ``case_officer_reviewer``,
which reads ``core`` and may execute ``core.record_review_decision`` and nothing else that writes; the
page refuses to serve as a superuser, a member of ``ridni_writer`` or of the decisions table's owner.
Its responses allow scripts from this server only (``script-src 'self'``); the headquarters page none.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Connection, Engine

from ridni.review import decisions, queue
from ridni.review.conflict import load_conflict
from ridni.review.pair import load_pair
from ridni.web import data, i18n
from ridni.web.review_page import (
    Context,
    QueueView,
    decision_label,
    render_conflict,
    render_message,
    render_pair,
    render_queue,
)

log = logging.getLogger(__name__)

CONN_ID = "ridni_review"
URL_ENV = "RIDNI_REVIEW_URL"
REVIEWER_ROLE = "case_officer_reviewer"
STATIC = Path(__file__).with_name("static")
NOTE_LIMIT = 2000


def configured_url() -> str:
    """The review login's URL: Airflow connection ``ridni_review``, else ``RIDNI_REVIEW_URL``."""
    return data.configured_url(CONN_ID, URL_ENV, REVIEWER_ROLE, "the review page")


def check_reviewer(engine: Engine) -> str:
    """The role the engine logs in as, when it can record decisions and write nothing else."""
    missing = data.NotConfigured("the warehouse has no review decisions: run the migrations (0014)")
    try:
        with engine.connect() as conn:
            who, superuser, writer, reviewer = conn.execute(sa.text(
                "SELECT current_user, rolsuper, pg_has_role(current_user, :w, 'MEMBER'), "
                "       pg_has_role(current_user, :v, 'USAGE') FROM pg_roles WHERE rolname = current_user"),
                {"w": data.WRITER_ROLE, "v": REVIEWER_ROLE}).one()
            owner = conn.execute(sa.text(  # (a role that cannot see core gets NULL)
                "SELECT pg_has_role(current_user, c.relowner, 'MEMBER') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'core' "
                "AND c.relname = 'review_decision'")).scalar()
    except sa.exc.ProgrammingError:  # no such role yet
        raise missing from None
    if superuser or writer or owner:
        raise data.NotReadOnly(f"role {who} can write more than decisions (superuser, {data.WRITER_ROLE} or the "
                               f"owner); the review page records decisions only through a login role in "
                               f"{REVIEWER_ROLE}")
    if not reviewer:
        raise data.NotReadOnly(f"role {who} is not a member of {REVIEWER_ROLE}")
    if owner is None:
        raise missing
    return who


def review_desk() -> data.Reader:
    """The review page's engine: checked on first use; reads are read-only transactions, decisions not."""
    return data.Reader(configured_url, check=check_reviewer, readonly=False)


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction on one snapshot."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        yield conn


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _filter(source: str | None, region: str | None, kind: str | None, min_nights: str | None) -> queue.QueueFilter:
    return queue.QueueFilter(source=source or None, region=region or None, kind=kind if kind in queue.KINDS else None,
                             min_nights=_int(min_nights))


def _same_origin(request: Request) -> bool:
    """A browser's POST comes from this server's own page (a forged cross-site form does not)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def item_path(item: tuple[str, int]) -> str:
    """The page of a queue item: (``pair``, id) or (``conflict``, person id)."""
    kind, subject = item
    return f"/{kind}/{subject}"


def router(desk: data.Reader, officer, csp: str) -> APIRouter:
    """The review routes; ``officer`` is the dependency that names the signed-in case officer."""
    r = APIRouter(prefix="/review")
    user_dep = Depends(officer)

    def context(request: Request, user: str, flt: queue.QueueFilter, lang: str | None) -> Context:
        language = i18n.choose(lang, request.cookies.get(i18n.COOKIE))
        base = request.scope.get("root_path", "") + "/review"
        return Context(language, user, base, flt)

    def respond(ctx: Context, html: str, status: int = 200, lang: str | None = None) -> HTMLResponse:
        response = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": csp})
        if lang in i18n.LANGUAGES:  # the reader chose: keep it for the next pages
            response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    def checked_engine(ctx: Context) -> tuple[Engine | None, HTMLResponse | None]:
        """The desk's engine, or the page saying why there is none (503)."""
        try:
            return desk.engine(), None
        except (data.NotConfigured, data.NotReadOnly) as exc:
            log.error("review page unavailable: %s", exc)
            title = ctx.lang.gettext("Review page unavailable")
            return None, respond(ctx, render_message(ctx, title, str(exc)), 503)

    def done_note(conn: Connection, ctx: Context, done: str | None) -> str:
        decision_id = _int(done)
        if decision_id is None:
            return ""
        row = conn.execute(sa.text(
            "SELECT pair_id, person_id, decision FROM core.review_decision WHERE decision_id = :d"),
            {"d": decision_id}).first()
        if row is None:
            return ""
        if row.pair_id is None:
            return ctx.lang.gettext("Recorded decision no. %(id)s on the evidence of person %(person)s: "
                                    "%(decision)s.") % {
                "id": decision_id, "person": row.person_id, "decision": decision_label(row.decision, ctx.lang)}
        return ctx.lang.gettext("Recorded decision no. %(id)s on pair %(pair)s: %(decision)s.") % {
            "id": decision_id, "pair": row.pair_id, "decision": decision_label(row.decision, ctx.lang)}

    @r.get("", response_class=HTMLResponse)
    def queue_view(request: Request, source: str | None = None, region: str | None = None, kind: str | None = None,
                   min_nights: str | None = None, page: str | None = None, lang: str | None = None,
                   done: str | None = None, user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), lang)
        engine, error = checked_engine(ctx)
        if error:
            return error
        with reading(engine) as conn:
            view = QueueView(page=queue.queue_page(conn, ctx.flt, _int(page) or 1), sizes=queue.sizes(conn),
                             per_day=decisions.decisions_per_day(conn), choices=queue.filter_choices(conn),
                             mine=decisions.recent(conn, by=user))
            note = done_note(conn, ctx, done)
        return respond(ctx, render_queue(ctx, view, done=note), lang=lang)

    @r.get("/next")
    def next_view(request: Request, source: str | None = None, region: str | None = None, kind: str | None = None,
                  min_nights: str | None = None, user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), None)
        engine, error = checked_engine(ctx)
        if error:
            return error
        with reading(engine) as conn:
            head = queue.next_item(conn, ctx.flt)
        return RedirectResponse(ctx.url() if head is None else ctx.url(item_path(head)), status_code=303)

    @r.get("/pair/{pair_id}", response_class=HTMLResponse)
    def pair_view(request: Request, pair_id: int, source: str | None = None, region: str | None = None,
                  kind: str | None = None, min_nights: str | None = None, lang: str | None = None,
                  done: str | None = None, user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), lang)
        _ = ctx.lang.gettext
        engine, error = checked_engine(ctx)
        if error:
            return error
        with reading(engine) as conn:
            view = load_pair(conn, pair_id)
            note = done_note(conn, ctx, done)
        if view is None:
            return respond(ctx, render_message(ctx, _("No such pair"), _("There is no pair %(id)s.") % {"id": pair_id},
                                               (ctx.url(), _("Back to the queue"))), 404, lang)
        return respond(ctx, render_pair(ctx, view, done=note), lang=lang)

    @r.post("/pair/{pair_id}", response_class=HTMLResponse)
    def decide(request: Request, pair_id: int, decision: str = Form(...), version: str = Form(...),
               note: str = Form(""), source: str = Form(""), region: str = Form(""), kind: str = Form(""),
               min_nights: str = Form(""), user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), None)
        _ = ctx.lang.gettext
        if not _same_origin(request):
            return respond(ctx, render_message(ctx, _("Not recorded"), _("The form did not come from this page.")), 403)
        if decision not in decisions.DECISIONS["pair"] or len(note) > NOTE_LIMIT:
            return respond(ctx, render_message(ctx, _("Not recorded"), _("That is not a decision this page offers.")),
                           400)
        engine, error = checked_engine(ctx)
        if error:
            return error
        again = (ctx.url(f"/pair/{pair_id}"), _("Open pair %(id)s again") % {"id": pair_id})
        try:
            with engine.begin() as conn:
                view = load_pair(conn, pair_id)
                if view is None:
                    raise decisions.NoSuchSubject(pair_id)
                recorded = decisions.record(conn, kind="pair", subject=pair_id, decision=decision, version=version,
                                            by=user, shown={**view.shown(), "version": version, "lang": ctx.lang.code},
                                            note=note or None)
        except decisions.StaleView:
            text = _("Pair %(id)s changed after you opened it: a night's linkage ran, or another officer decided it. "
                     "Your decision was not recorded. Open the pair again and decide on what it shows now.") % {
                "id": pair_id}
            return respond(ctx, render_message(ctx, _("The pair changed"), text, again), 409)
        except decisions.NoSuchSubject:
            return respond(ctx, render_message(ctx, _("No such pair"), _("There is no pair %(id)s.") % {"id": pair_id},
                                               (ctx.url(), _("Back to the queue"))), 404)
        log.info("review decision %s recorded on pair %s", recorded, pair_id)
        return on_to_next(ctx, engine, recorded)

    def on_to_next(ctx: Context, engine: Engine, recorded: int) -> Response:
        with reading(engine) as conn:
            following = queue.next_item(conn, ctx.flt)
        target = ctx.url(done=recorded) if following is None else ctx.url(item_path(following), done=recorded)
        return RedirectResponse(target, status_code=303)

    @r.get("/conflict/{person_id}", response_class=HTMLResponse)
    def conflict_view(request: Request, person_id: int, source: str | None = None, region: str | None = None,
                      kind: str | None = None, min_nights: str | None = None, lang: str | None = None,
                      done: str | None = None, user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), lang)
        _ = ctx.lang.gettext
        engine, error = checked_engine(ctx)
        if error:
            return error
        with reading(engine) as conn:
            view = load_conflict(conn, person_id)
            note = done_note(conn, ctx, done)
        if view is None:
            return respond(ctx, render_message(ctx, _("No such person"), _(
                "There is no person %(id)s with evidence.") % {"id": person_id}, (ctx.url(), _("Back to the queue"))),
                404, lang)
        return respond(ctx, render_conflict(ctx, view, done=note), lang=lang)

    @r.post("/conflict/{person_id}", response_class=HTMLResponse)
    def decide_conflict(request: Request, person_id: int, decision: str = Form(...), version: str = Form(...),
                        note: str = Form(""), source: str = Form(""), region: str = Form(""), kind: str = Form(""),
                        min_nights: str = Form(""), user: str = user_dep) -> Response:
        ctx = context(request, user, _filter(source, region, kind, min_nights), None)
        _ = ctx.lang.gettext
        if not _same_origin(request):
            return respond(ctx, render_message(ctx, _("Not recorded"), _("The form did not come from this page.")), 403)
        choice, _sep, ref = decision.partition(":")
        if choice not in decisions.DECISIONS["evidence"] or bool(ref) != (choice == "stands") \
                or len(note) > NOTE_LIMIT:
            return respond(ctx, render_message(ctx, _("Not recorded"), _("That is not a decision this page offers.")),
                           400)
        engine, error = checked_engine(ctx)
        if error:
            return error
        again = (ctx.url(f"/conflict/{person_id}"), _("Open person %(id)s again") % {"id": person_id})
        missing = render_message(ctx, _("No such person"), _("There is no person %(id)s with evidence.") % {
            "id": person_id}, (ctx.url(), _("Back to the queue")))
        try:
            with engine.begin() as conn:
                view = load_conflict(conn, person_id)
                if view is None:
                    raise decisions.NoSuchSubject(person_id)
                chosen = view.choice(ref) if ref else None
                if ref and chosen is None:  # the record is not (or no longer) one of the conflict's
                    raise decisions.StaleView(person_id)
                recorded = decisions.record(
                    conn, kind="evidence", subject=person_id, decision=choice, version=version, by=user,
                    shown={**view.shown(), "version": version, "lang": ctx.lang.code}, note=note or None,
                    evidence=(chosen.source_id, chosen.record_key) if chosen else None)
        except decisions.StaleView:
            text = _("The evidence of person %(id)s changed after you opened it: a night brought new evidence, or "
                     "another officer decided it. Your decision was not recorded. Open the person again and decide "
                     "on what it shows now.") % {"id": person_id}
            return respond(ctx, render_message(ctx, _("The evidence changed"), text, again), 409)
        except decisions.NoSuchSubject:
            return respond(ctx, missing, 404)
        log.info("review decision %s recorded on the evidence of person %s", recorded, person_id)
        return on_to_next(ctx, engine, recorded)

    @r.get("/static/review.js")
    def script(user: str = user_dep) -> Response:
        return FileResponse(STATIC / "review.js", media_type="text/javascript",
                            headers={"Content-Security-Policy": csp})

    return r
