"""Airflow's SimpleAuthManager with one change: the review page is for the User role and up.

Airflow's SimpleAuthManager allows every custom view of a plugin to every Viewer, so it cannot keep
headquarters analysts (Viewer) out of the review page, which shows personal data. This subclass keeps
everything else as Airflow has it and asks for the User role (or Op, Admin) for ``ridni_review``:
configure it as ``AIRFLOW__CORE__AUTH_MANAGER=ridni.web.auth_manager.SimpleAuthManager`` and give case
officers the role ``user`` in ``simple_auth_manager_users`` (``officer:user,analyst:viewer``).
A deployment with the FAB or another permission-based auth manager needs none of this.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.simple import simple_auth_manager as simple

from ridni.web.auth import REVIEW_RESOURCE

# the least role that may use each of the project's custom views that Viewers may not
VIEW_ROLES = {REVIEW_RESOURCE: simple.SimpleAuthManagerRole.USER}


class SimpleAuthManager(simple.SimpleAuthManager):
    def is_authorized_custom_view(self, *, method, resource_name: str, user) -> bool:
        role = VIEW_ROLES.get(resource_name)
        if role is None:
            return super().is_authorized_custom_view(method=method, resource_name=resource_name, user=user)
        return self._is_authorized(method=method, allow_role=role, allow_get_role=role, user=user)
