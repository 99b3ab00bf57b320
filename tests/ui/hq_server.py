"""Start Airflow's api-server (with the project's plugins) on a free local port, and stop it.

The server runs with the SimpleAuthManager and one known test user, whose password goes into the
passwords file the auth manager reads; the DAGs are serialized into the same metadata DB by
``airflow dags reserialize`` (what the dag-processor would do), so the UI lists them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
CHROMIUM = "/usr/bin/chromium"  # Debian's (bin/install-browser)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(*, home: Path, username: str, role: str, passwords_file: Path, extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIDNI_HQ_READONLY", "AIRFLOW_CONN_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{username}:{role}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def start(env: dict, workdir: Path, *, timeout: float = 75.0) -> Server:
    """Run ``airflow dags reserialize`` and start ``airflow api-server``, both at once; return when both are done
    and the server answers its health check."""
    port = free_port()
    log = workdir / "api-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    serialize_log = workdir / "reserialize.log"
    with serialize_log.open("wb") as out:
        serialize = subprocess.Popen([AIRFLOW, "dags", "reserialize"], env=env, cwd=ROOT, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"api-server exited with {process.returncode}:\n{server.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-server did not answer within {timeout:.0f} s:\n{server.tail()}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                with urllib.request.urlopen(f"{server.base_url}/api/v2/monitor/health", timeout=2) as r:
                    if r.status == 200:
                        break
            time.sleep(0.3)
        code = serialize.wait(timeout=max(5.0, deadline - time.monotonic()))
        if code != 0:
            raise RuntimeError(f"airflow dags reserialize failed ({code}):\n{serialize_log.read_text()[-3000:]}")
    except BaseException:
        stop(server)
        _kill(serialize)
        raise
    return server


def start_migrated(env: dict, workdir: Path) -> Server:
    """:func:`start`; when the metadata DB file was made but never migrated (by an earlier look-up), migrate
    it once and start again."""
    try:
        return start(env, workdir)
    except RuntimeError as err:
        if "airflow db migrate" not in str(err):
            raise
        subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
        return start(env, workdir)


def _kill(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop the process group this module started (the command and every worker it forked)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def stop(server: Server) -> None:
    _kill(server.process)


def airflow_connection_json(url: str) -> str:
    """An Airflow connection (JSON form, for AIRFLOW_CONN_*) for a PostgreSQL URL (a socket folder works too)."""
    parsed = sa.engine.make_url(url)
    host = parsed.host or parsed.query.get("host")
    return json.dumps({"conn_type": "postgres", "host": host, "port": parsed.port, "login": parsed.username,
                       "password": parsed.password, "schema": parsed.database})


VIEWER, VIEWER_ROLE = "hq_viewer", "viewer"  # the least Airflow role that may read the headquarters page


@contextlib.contextmanager
def hq_page_server(warehouse, airflow_home: Path, work: Path):
    """An api-server whose headquarters page reads ``warehouse`` (an ``HQWarehouse``) through its reader role;
    yields (server, the viewer's password)."""
    import uuid

    password = uuid.uuid4().hex
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({VIEWER: password}))
    env = server_env(home=airflow_home, username=VIEWER, role=VIEWER_ROLE, passwords_file=passwords, extra={
        "AIRFLOW_CONN_RIDNI_HQ_READONLY": airflow_connection_json(warehouse.reader_url),
        "RIDNI_DATA_DOCS": str(warehouse.data_docs),
    })
    running = start_migrated(env, work)
    try:
        yield running, password
    finally:
        stop(running)


def sign_in(browser, running: Server, password: str, *, width: int = 1360, height: int = 900):
    """A browser context and page signed in through Airflow's login page, on the headquarters page; nothing
    but this server is reachable."""
    import re

    context = browser.new_context(viewport={"width": width, "height": height})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{running.base_url}/ridni-hq/")
    assert "/auth/login" in page.url, "an anonymous visitor must land on Airflow's login page"
    page.fill("input[name=username]", VIEWER)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/ridni-hq/.*"))
    return context, page


OUTPUT = Path(__file__).resolve().parent / "output"
DOCS_IMG = ROOT / "docs" / "img"


def screenshot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot (the whole page, or the first screen) into tests/ui/output/ (and docs/img/ with
    RIDNI_UPDATE_DOCS_SCREENSHOT=1)."""
    import shutil

    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / name
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.stat().st_size > 10_000
    if os.environ.get("RIDNI_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMG / name)
