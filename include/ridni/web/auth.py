"""Airflow's own authentication in front of the headquarters page.

Airflow mounts a plugin's FastAPI app without any protection of its own, so every route of the page
depends on :func:`airflow_user`, which does what Airflow's API routes do: the user comes from the JWT
that Airflow's login put in the ``_token`` cookie (or an ``Authorization: Bearer`` header), resolved
and verified by the configured auth manager (``get_user`` of ``airflow.api_fastapi.core_api.security``),
and the auth manager is asked whether that user may read the custom view ``ridni_hq``
(``is_authorized_custom_view``: the Viewer role and up with the SimpleAuthManager; with the FAB auth
manager, the permission "can read on ridni_hq").

Without a valid token a browser is sent to Airflow's login page (which returns it here afterwards);
any other client gets 401. An authenticated user without the permission gets 403.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status

RESOURCE_NAME = "ridni_hq"


class LoginRequired(Exception):
    """No valid Airflow session: a browser goes to the login page, an API client gets 401."""

    def __init__(self, login_url: str):
        super().__init__("login required")
        self.login_url = login_url


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def airflow_user(request: Request) -> str:
    """FastAPI dependency: the signed-in Airflow user allowed to read the page (their name), else no page."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    credentials = await bearer_scheme(request)
    try:
        user = await get_user(request=request, _oauth_token=None, bearer_credentials=credentials)
    except HTTPException as exc:
        if exc.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            raise LoginRequired(get_auth_manager().get_url_login(next_url=str(request.url))) from None
        raise
    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=RESOURCE_NAME, user=user):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail=f"not allowed to read {RESOURCE_NAME}")
    return user.get_name()
