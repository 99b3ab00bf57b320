"""Airflow plugin: the headquarters page inside the api-server, and its link in the UI's navigation.

The page's code is the package ``ridni.web`` (include/ridni/web); this file only registers it.
- ``fastapi_apps``: the page at ``/ridni-hq/`` and the case officers' review at ``/ridni-hq/review``
  (Airflow mounts the app as is, so the app itself demands Airflow's login on every route: see
  ``ridni.web.auth``);
- ``external_views``: "Headquarters" and "Review" in the navigation, shown inside the Airflow UI at
  ``/plugin/ridni-hq`` and ``/plugin/ridni-review`` (the review refuses everyone but case officers).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from ridni.web.app import create_app

URL_PREFIX = "/ridni-hq"


class RidniHeadquartersPlugin(AirflowPlugin):
    name = "ridni_hq"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "ridni headquarters page"},
    ]
    external_views = [
        {
            "name": "Headquarters",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "ridni-hq",
            "nav_top_level": True,  # two views of one plugin would otherwise go under a "Plugins" menu
        },
        {
            "name": "Review",
            "href": f"{URL_PREFIX}/review",
            "destination": "nav",
            "url_route": "ridni-review",
            "nav_top_level": True,
        },
    ]
