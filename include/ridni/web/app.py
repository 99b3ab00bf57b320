"""The headquarters page as a small FastAPI app; ``plugins/ridni_hq.py`` mounts it in Airflow's api-server.

Routes (all behind the user dependency, Airflow's authentication in production):

- ``GET /`` the page for the latest night, ``GET /?night=YYYY-MM-DD`` for a past one;
- ``GET /change_log.csv?night=YYYY-MM-DD`` the night's whole change log (pseudonymous ids);
- ``GET /counts.{csv,xlsx}``, ``GET /region_counts.{csv,xlsx}`` (``?night=``) the night's full breakdown and
  its region x category table, as the exports write them (suppressed counts as "<5");
- ``?lang=uk|en`` on any page: its language (Ukrainian by default), kept in a cookie;
- ``GET /data-docs/<path>`` the Data Docs pages (``RIDNI_DATA_DOCS/pages/<lang>``, :mod:`ridni.ingest.docs`) in
  the reader's language: each night's validations with their marks and counts, plain HTML with a local
  stylesheet and no script, so they work under this policy; a source's Data Docs link on the page opens its validation of the night;
- ``/review...`` the case officers' review page (``ridni.web.review``, behind its own dependency).

Every response forbids loading anything from elsewhere (Content-Security-Policy ``default-src 'self'``;
no script, except the review page's own file), is not cached, and may be framed only by Airflow's own UI.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from ridni.config import settings
from ridni.ingest import docs
from ridni.publish import exports
from ridni.web import data, i18n, page, review
from ridni.web.auth import LoginRequired, NotAllowed, airflow_user, case_officer, wants_html

log = logging.getLogger(__name__)


def content_security_policy(script_src: str = "'none'") -> str:
    return (f"default-src 'self'; script-src {script_src}; object-src 'none'; base-uri 'none'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
            "form-action 'self'; frame-ancestors 'self'")


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def data_docs_site() -> Path | None:
    """The local folder of served Data Docs pages, or None when Data Docs live elsewhere (an object store URL)."""
    root = settings().data_docs
    if "://" in root and not root.startswith("file://"):
        return None
    return docs.pages_dir(root.removeprefix("file://")).resolve()


def docs_link(source_id: str, uri: str, night: dt.date) -> str | None:
    """The page's link for a source's Data Docs: the validation page ``uri`` names, when it is a served page."""
    if uri.startswith(("https://", "http://")):
        return uri
    site = data_docs_site()
    if site is None:
        return None
    target = Path(uri.removeprefix("file://")).resolve()
    if not target.is_relative_to(site):
        return None  # not a served page (e.g. GX's own site): shown as text
    served = target.relative_to(site).parts
    if served and served[0] in i18n.LANGUAGES:  # a language's copy: the route serves the reader's language
        served = served[1:]
    return "data-docs/" + quote("/".join(served))


def create_app(user_dependency=airflow_user, reader: data.Reader | None = None, officer_dependency=case_officer,
               desk: data.Reader | None = None) -> FastAPI:
    """The app; ``user_dependency`` / ``officer_dependency`` return the signed-in user's name for the
    headquarters page / the review page (tests may replace them); ``desk`` is the review page's login."""
    reader = reader or data.Reader()
    app = FastAPI(title="ridni headquarters page", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.reader = reader
    user_dep = Depends(user_dependency)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if wants_html(request):
            return RedirectResponse(exc.login_url, status_code=303)
        return JSONResponse({"detail": "Not authenticated"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed):
        if wants_html(request):
            return html(request, page.render_message(page.N_("Not allowed"), str(exc.detail), lang=language(request)),
                        exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    def language(request: Request) -> i18n.Language:
        return i18n.choose(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))

    def html(request: Request, body: str, code: int = 200) -> HTMLResponse:
        response = HTMLResponse(body, status_code=code)
        chosen = request.query_params.get("lang")
        if chosen in i18n.LANGUAGES:  # the reader chose: keep it for the next pages
            response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    def message(request: Request, title: str, text: str, code: int, nights=()) -> HTMLResponse:
        return html(request, page.render_message(title, text, nights=nights, lang=language(request)), code)

    def published(request: Request, night: str | None):
        """The reader's engine, the night asked for (None: the latest), the published nights; or the
        page saying why there is nothing to show."""
        try:
            engine = reader.engine()
        except (data.NotConfigured, data.NotReadOnly) as exc:
            log.error("headquarters page unavailable: %s", exc)
            return None, None, [], message(request, page.N_("Headquarters page unavailable"), str(exc), 503)
        try:
            wanted = dt.date.fromisoformat(night) if night else None
        except ValueError:
            return None, None, [], message(request, page.N_("Not a night"),
                                           page.N_("The night must be a date written YYYY-MM-DD."), 400)
        return engine, wanted, data.nights(engine), None

    def chosen_night(request: Request, night: str | None):
        """(engine, the published night asked for, None) or (None, None, the page saying why not)."""
        engine, wanted, known, error = published(request, night)
        if error:
            return None, None, error
        chosen = wanted or (known[-1] if known else None)
        if chosen is None or chosen not in known:
            return None, None, message(request, page.N_("Night not published"),
                                       page.N_("No figures were published for that night."), 404, nights=known)
        return engine, chosen, None

    @app.get("/", response_class=HTMLResponse)
    def hq_page(request: Request, night: str | None = None, user: str = user_dep) -> Response:
        engine, wanted, known, error = published(request, night)
        if error:
            return error
        if not known:
            return message(request, page.N_("Nothing published yet"),
                           page.N_("No night has been published to the marts yet."), 200)
        engine, chosen, error = chosen_night(request, night)
        if error:
            return error
        view = data.load_night(engine, chosen)
        return html(request, page.render_page(view, docs_link=docs_link, user=user, lang=language(request)))

    @app.get("/change_log.csv")
    def change_log_csv(request: Request, night: str | None = None, user: str = user_dep) -> Response:
        engine, chosen, error = chosen_night(request, night)
        if error:
            return error
        return Response(data.change_log_csv(engine, chosen), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="change_log_{chosen.isoformat()}.csv"'})

    media = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

    @app.get("/{name}.{fmt}")
    def download(request: Request, name: str, fmt: str, night: str | None = None, user: str = user_dep) -> Response:
        if name not in exports.DOWNLOADS or fmt not in media:
            return message(request, page.N_("Not found"), page.N_("No such download."), 404)
        engine, chosen, error = chosen_night(request, night)
        if error:
            return error
        return Response(exports.download(engine, name, chosen, fmt), media_type=media[fmt], headers={
            "Content-Disposition": f'attachment; filename="{name}_{chosen.isoformat()}.{fmt}"'})

    @app.get("/data-docs/{path:path}")
    def data_docs(request: Request, path: str, user: str = user_dep) -> Response:
        site = data_docs_site()
        if site is None:
            return message(request, page.N_("No Data Docs here"), page.N_("Data Docs are kept outside this server."),
                           404)
        home = (site / language(request).code).resolve()  # the pages in the reader's language
        target = (home / (path or "index.html")).resolve()
        if not target.is_relative_to(home) or not target.is_file():
            return message(request, page.N_("Not found"), page.N_("No such Data Docs page."), 404)
        response = FileResponse(target)
        chosen = request.query_params.get("lang")
        if chosen in i18n.LANGUAGES:  # the page's language switch: kept for the next pages, as on the HQ page
            response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    app.include_router(review.router(desk or review.review_desk(), officer_dependency,
                                     content_security_policy("'self'")))
    return app
