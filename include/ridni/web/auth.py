"""Airflow's own authentication in front of the headquarters page and the review page.

Airflow mounts a plugin's FastAPI app without any protection of its own, so every route depends on
:func:`airflow_user` (the headquarters page) or :func:`case_officer` (the review page), which do what
Airflow's API routes do: the user comes from the JWT that Airflow's login put in the ``_token`` cookie
(or an ``Authorization: Bearer`` header), resolved and verified by the configured auth manager
(``get_user`` of ``airflow.api_fastapi.core_api.security``), and the auth manager is asked whether that
user may use the page's custom view (``is_authorized_custom_view``):

- ``ridni_hq`` (read): the Viewer role and up with the SimpleAuthManager; with the FAB auth manager,
  the permission "can read on ridni_hq";
- ``ridni_review`` (GET to read, POST to record a decision): case officers only. Airflow's
  SimpleAuthManager lets every Viewer open every custom view, so the review page refuses to work with
  it; ``ridni.web.auth_manager.SimpleAuthManager`` asks for the User role and up for this view. With
  the FAB auth manager: "can read on ridni_review" and "can create on ridni_review".

Without a valid token a browser is sent to Airflow's login page (which returns it here afterwards);
any other client gets 401. An authenticated user without the permission gets 403.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status

RESOURCE_NAME = "ridni_hq"
REVIEW_RESOURCE = "ridni_review"


class LoginRequired(Exception):
    """No valid Airflow session: a browser goes to the login page, an API client gets 401."""

    def __init__(self, login_url: str):
        super().__init__("login required")
        self.login_url = login_url


class NotAllowed(HTTPException):
    """Signed in, but the auth manager does not allow this user the page (403)."""

    def __init__(self, detail: str):
        super().__init__(status_code=status.HTTP_403_FORBIDDEN, detail=detail)


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _signed_in(request: Request):
    """The Airflow user of the request's token, else :class:`LoginRequired`."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    credentials = await bearer_scheme(request)
    try:
        return await get_user(request=request, _oauth_token=None, bearer_credentials=credentials)
    except HTTPException as exc:
        if exc.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            raise LoginRequired(get_auth_manager().get_url_login(next_url=str(request.url))) from None
        raise


async def airflow_user(request: Request) -> str:
    """FastAPI dependency: the signed-in Airflow user allowed to read the page (their name), else no page."""
    from airflow.api_fastapi.app import get_auth_manager

    user = await _signed_in(request)
    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=RESOURCE_NAME, user=user):
        raise NotAllowed(f"not allowed to read {RESOURCE_NAME}")
    return user.get_name()


def tells_custom_views_apart(manager) -> bool:
    """False for Airflow's SimpleAuthManager, which allows every custom view to every Viewer."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    return type(manager).is_authorized_custom_view is not SimpleAuthManager.is_authorized_custom_view


async def case_officer(request: Request) -> str:
    """FastAPI dependency: the signed-in case officer (their name); GET reads the review, POST decides."""
    from airflow.api_fastapi.app import get_auth_manager

    user = await _signed_in(request)
    manager = get_auth_manager()
    if not tells_custom_views_apart(manager):
        raise NotAllowed("the configured auth manager lets every viewer open every plugin view; the review page "
                         "needs ridni.web.auth_manager.SimpleAuthManager or an auth manager with permissions")
    method = "GET" if request.method in ("GET", "HEAD") else "POST"
    if not manager.is_authorized_custom_view(method=method, resource_name=REVIEW_RESOURCE, user=user):
        raise NotAllowed(f"not allowed to {'read' if method == 'GET' else 'decide in'} {REVIEW_RESOURCE}")
    return user.get_name()
