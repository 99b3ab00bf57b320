"""The Airflow UI on the demo's Airflow home, and stopping everything the demo started.

``ridni ui`` (``bash bin/ui``) starts Airflow's api-server, scheduler, dag-processor and triggerer in the
background (and the demo's embedded PostgreSQL when it is the warehouse and not running), in one process group whose id is kept in ``$AIRFLOW_HOME/ui.pid``, waits until the api-server
answers, and prints the URL, the user and the password. ``ridni ui stop`` (``bash bin/ui stop``) stops
that process group and the demo's embedded PostgreSQL (``pgserver``, by the pid in its
``postmaster.pid``).

The demo prepares the Airflow home for it (:func:`prepare_airflow_home`): the project's ``dags/`` and
``plugins/`` in ``airflow.cfg`` without Airflow's examples, and the connections ``ridni_warehouse`` (the
warehouse's owner, for the DAGs) and ``ridni_hq_readonly`` (a login role in ``hq_analyst``, for the
headquarters page: docs/hq_page.md) in the metadata DB.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ridni.config import PROJECT_ROOT, settings

USER = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
PID_FILE = "ui.pid"
PASSWORDS_FILE = "ui-passwords.json"
WAREHOUSE_CONN = "ridni_warehouse"
HQ_READONLY_CONN = "ridni_hq_readonly"


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")


# ------------------------------------------------------------------------------ the demo's preparation
def _set_options(cfg: Path, section: str, options: dict[str, str]) -> None:
    """Set ``options`` in ``section`` of an ``airflow.cfg``, keeping the rest of the file (comments too)."""
    lines = cfg.read_text().splitlines() if cfg.exists() else []
    start = next((i for i, ln in enumerate(lines) if ln.strip() == f"[{section}]"), None)
    if start is None:
        lines += ["", f"[{section}]"]
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    todo = dict(options)
    for i in range(start + 1, end):
        match = re.match(r"^\s*([a-z_]+)\s*=", lines[i])
        if match and match.group(1) in todo:
            lines[i] = f"{match.group(1)} = {todo.pop(match.group(1))}"
    lines[start + 1:start + 1] = [f"{k} = {v}" for k, v in todo.items()]
    cfg.write_text("\n".join(lines) + "\n")


def hq_reader_role(url: str) -> str:
    """The demo's login role for the headquarters page on the warehouse at ``url`` (one per database)."""
    return f"{make_url(url).database}_hq_reader"


def grant_hq_reader(url: str) -> str:
    """Make (or give a new password to) the demo's login role in ``hq_analyst``; return its URL."""
    role = hq_reader_role(url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", role):
        raise ValueError(f"not a plain role name: {role!r}")
    secret = secrets.token_hex(16)
    from ridni import db

    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sa.text(f"{verb} ROLE {role} LOGIN PASSWORD '{secret}'"))
            conn.execute(sa.text(f"GRANT hq_analyst TO {role}"))
    finally:
        engine.dispose()
    return make_url(url).set(username=role, password=secret).render_as_string(hide_password=False)


def _connection(conn_id: str, url: str):
    from airflow.models.connection import Connection

    u = make_url(url)
    return Connection(conn_id=conn_id, conn_type="postgres", host=u.host or u.query.get("host"), port=u.port,
                      login=u.username, password=u.password, schema=u.database)


def store_connections(urls: dict[str, str]) -> None:
    """Write the connections ``{conn_id: PostgreSQL URL}`` into the Airflow home's metadata DB."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute(sa.delete(Connection).where(Connection.conn_id.in_(list(urls))))
        session.add_all([_connection(conn_id, url) for conn_id, url in urls.items()])


def prepare_airflow_home(url: str) -> str:
    """What ``ridni ui`` needs of the Airflow home after a demo: the project's DAGs and plugin in its
    ``airflow.cfg``, no examples, and the warehouse and headquarters connections. Returns the reader's URL."""
    home = airflow_home()
    _set_options(home / "airflow.cfg", "core", {"dags_folder": str(PROJECT_ROOT / "dags"),
                                                "plugins_folder": str(PROJECT_ROOT / "plugins"),
                                                "load_examples": "False"})
    reader = grant_hq_reader(url)
    store_connections({WAREHOUSE_CONN: url, HQ_READONLY_CONN: reader})
    password(home)
    return reader


# ------------------------------------------------------------------------------------- start and stop
def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_group(home: Path) -> int | None:
    try:
        pgid = int((home / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pgid if _alive_group(pgid) else None


def password(home: Path) -> str:
    """The UI user's password, kept in the passwords file Airflow's simple auth manager reads."""
    path = home / PASSWORDS_FILE
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads(path.read_text())[USER]
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({USER: password}))
    path.chmod(0o600)
    return password


def ui_env(home: Path, port: int) -> dict[str, str]:
    from ridni.privacy import demo_key

    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        # one secret for every component: the scheduler's workers authenticate to the api-server with it
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(24),
        "GX_ANALYTICS_ENABLED": "false",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    if not env.get("RIDNI_PSEUDONYM_KEY") and not env.get("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY"):
        env["RIDNI_PSEUDONYM_KEY"] = demo_key(settings().data_dir)  # the demo's key, as the demo used it
    return env


def _healthy(base_url: str) -> bool:
    with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=2) as response:
            return response.status == 200
    return False


def _print_access(out, port: int, home: Path) -> None:
    print(f"""Airflow UI:         http://localhost:{port}/   user {USER}, password {password(home)}
headquarters page:  http://localhost:{port}/ridni-hq/   (or "Headquarters" in the UI's navigation)
logs of the UI:     {home / 'logs'}/ui-*.log
stop everything:    bash bin/ui stop   (the UI and the demo's embedded PostgreSQL)""", file=out, flush=True)


def start(port: int = 8080, timeout: float = 180.0, out=sys.stdout) -> int:
    """Start the UI's components in the background; return once the api-server answers (0) or not (1)."""
    home = airflow_home()
    running = _running_group(home)
    if running is not None:
        print(f"the UI is running already (process group {running})", file=out)
        _print_access(out, port, home)
        return 0
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            print(f"port {port} is taken by another program: bash bin/ui --port <another>", file=out)
            return 1
    password(home)
    s = settings()
    if not s.warehouse_url and (s.embedded_pgdata / "PG_VERSION").exists():
        from ridni import db

        db.embedded_url()  # the demo's embedded PostgreSQL, started again when `ridni ui stop` stopped it
    env = ui_env(home, port)
    airflow = str(Path(sys.executable).with_name("airflow"))
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # one shell leads a session and process group of its own, the components run in its group: `ridni ui
    # stop` ends the whole group, and the components outlive this command
    options = {"api-server": f" --host 127.0.0.1 --port {port} --workers 1"}  # this machine only
    script = " ".join(f"{shlex.quote(airflow)} {name}{options.get(name, '')} "
                      f">>{shlex.quote(str(logs / f'ui-{name}.log'))} 2>&1 &" for name in COMPONENTS) + " wait"
    leader = subprocess.Popen(["bash", "-c", script], env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pgid = leader.pid
    (home / PID_FILE).write_text(f"{pgid}\n")
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _healthy(base_url):
        if time.monotonic() > deadline or not _alive_group(pgid):
            print(f"the api-server did not answer within {timeout:.0f} s: see {home / 'logs' / 'ui-api-server.log'}",
                  file=out)
            stop_group(home)
            return 1
        time.sleep(1)
    _print_access(out, port, home)
    return 0


def stop_group(home: Path, grace: float = 30.0) -> int | None:
    """Stop the UI's process group (TERM, then KILL what is left after ``grace`` seconds); its id, if any."""
    pgid = _running_group(home)
    (home / PID_FILE).unlink(missing_ok=True)
    if pgid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return pgid


def stop_embedded_postgres(pgdata: Path | None = None, grace: float = 30.0) -> int | None:
    """Stop the demo's embedded PostgreSQL (a fast shutdown of the postmaster named in ``postmaster.pid``);
    its pid, or None when it is not running."""
    pgdata = pgdata or settings().embedded_pgdata
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown: sessions end, data is safe
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        time.sleep(0.3)
    raise RuntimeError(f"the embedded PostgreSQL (pid {pid}) did not stop within {grace:.0f} s")


def stop(out=sys.stdout) -> int:
    home = airflow_home()
    pgid = stop_group(home)
    print(f"Airflow UI: {f'stopped (process group {pgid})' if pgid else 'not running'}", file=out)
    pid = stop_embedded_postgres()
    print(f"embedded PostgreSQL: {f'stopped (pid {pid})' if pid else 'not running'}", file=out)
    return 0
