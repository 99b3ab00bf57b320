"""The thin layer between Airflow and the ``ridni`` package: connections, sensors, callbacks, DAG factory.

Only this subpackage and ``dags/`` import Airflow; the rest of ``ridni`` runs without a scheduler.
"""
