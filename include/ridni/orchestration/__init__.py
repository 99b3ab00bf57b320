"""The layer between Airflow and the ``ridni`` package: assets, params, callbacks, the ingest DAG factory.

The DAG files in ``dags/`` build their DAGs from here; the work itself is the plain package's
(``ridni.night``'s steps), which runs without a scheduler. Outside this layer, Airflow is imported only
by the HQ page (``ridni.web``, served by the plugin in ``plugins/``), by the demo (which runs the DAGs),
and where an optional Airflow connection is read (the pseudonym key in ``ridni.privacy``).
"""
