"""docker-compose.yml cannot run here (no Docker engine), so keep it consistent with the tree instead."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _example_vars() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {ln.split("=", 1)[0] for ln in lines if "=" in ln and not ln.startswith("#")}


def test_services_of_the_production_path():
    services = set(_compose()["services"])
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
            "airflow-worker", "redis", "airflow-metadata", "warehouse", "airflow-init"} <= services


def test_build_contexts_and_mounted_paths_exist():
    compose = _compose()
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), name
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_every_variable_is_in_the_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))
    assert used, "no variables found: the pattern is wrong"
    assert used <= _example_vars(), sorted(used - _example_vars())


def test_real_env_file_is_ignored():
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_dockerfile_installs_the_pinned_requirements_and_the_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "/opt/ridni/include" in dockerfile
    airflow_pin = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"apache/airflow:{airflow_pin}-python3.11" in dockerfile


def test_the_spark_profile_is_a_cluster_the_linkage_setting_reaches():
    compose = _compose()
    services = compose["services"]
    spark = {name for name, svc in services.items() if "spark" in svc.get("profiles", [])}
    assert spark == {"spark-master", "spark-worker"}
    # the cluster runs the Spark of requirements.txt's pyspark (driver and executors must agree)
    pyspark = re.search(r"^pyspark==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    for name in spark:
        assert services[name]["image"] == f"apache/spark:{pyspark}", name
    assert "spark://spark-master:7077" in services["spark-worker"]["command"]
    assert "--host spark-master" in services["spark-master"]["command"]
    # the Airflow services carry the setting, and the example's values are ones the code accepts
    worker = services["airflow-worker"]
    env = worker["environment"]
    assert env["RIDNI_LINKAGE_BACKEND"] == "${RIDNI_LINKAGE_BACKEND}"
    assert env["RIDNI_SPARK_MASTER"] == "${RIDNI_SPARK_MASTER}"
    assert env["RIDNI_SPARK_DRIVER_HOST"] == "airflow-worker" in services
    example = dict(ln.split("=", 1) for ln in (ROOT / ".env.example").read_text().splitlines()
                   if "=" in ln and not ln.startswith("#"))
    from ridni.linkage.model import BACKENDS

    assert example["RIDNI_LINKAGE_BACKEND"] in BACKENDS
    # Splink's intermediate tables: one volume that the driver (the Airflow worker) and the executors share
    scratch = env["RIDNI_SPARK_CHECKPOINT_DIR"]
    assert f"spark-scratch:{scratch}" in worker["volumes"]
    assert f"spark-scratch:{scratch}" in services["spark-worker"]["volumes"]
    # the image the driver runs in has the Java Spark needs
    assert "openjdk-17-jre-headless" in (ROOT / "Dockerfile").read_text()
