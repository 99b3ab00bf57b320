"""ridni: the data pipeline behind the Coordination Headquarters' morning figures.

The package holds all business logic; DAG files in ``dags/`` only call into it.
"""

__version__ = "0.1.0"
