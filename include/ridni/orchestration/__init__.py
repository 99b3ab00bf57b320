"""The layer between Airflow and the ``ridni`` package: assets, params, callbacks, the ingest DAG factory.

The DAG files in ``dags/`` build their DAGs from here; the work itself is the plain package's
(``ridni.night``'s steps), which runs without a scheduler. Outside this layer, the package imports Airflow
in two places only: the web pages (``ridni.web``, served by the plugin in ``plugins/``: Airflow's login,
the auth manager and the page's read-only connection ``ridni_hq_readonly``) and ``ridni.privacy`` (inside
the function that reads the optional connection holding the pseudonym key). A test keeps it so
(``tests/foundation/test_airflow_imports.py``).
"""
