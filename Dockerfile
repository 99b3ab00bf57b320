# The production image: Airflow 3.3 with ridni's pinned dependencies and the ridni package.
FROM apache/airflow:3.3.2-python3.11
# Java 17 for the Spark driver when linkage runs on Spark (RIDNI_LINKAGE_BACKEND=spark)
USER root
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:0 requirements.txt /opt/ridni/requirements.txt
RUN pip install --no-cache-dir -r /opt/ridni/requirements.txt
COPY --chown=airflow:0 pyproject.toml README.md /opt/ridni/
COPY --chown=airflow:0 include /opt/ridni/include
RUN pip install --no-cache-dir --no-deps /opt/ridni
