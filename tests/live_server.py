"""A real gunicorn serving the app, for tests that need one: contention between
worker processes, and browser journeys.

``live_server`` migrates a fresh database with ``flask db upgrade`` (so the
migrations are what gets tested, not ``create_all``), adds an operator with
``flask create-operator`` and serves ``wsgi:app`` with two gunicorn workers on a
free local port. A test that needs another shape of server (more workers, its own
settings) asks for it by indirect parametrization::

    @pytest.mark.parametrize(
        "live_server", [ServerOptions(workers=4)], ids=["4-workers"], indirect=True
    )

``HttpSession`` is a small cookie-keeping client for it.
"""

import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Sequence, create_engine, inspect, text
from sqlalchemy.schema import DropSequence

from storefront import create_app
from storefront.database import database_uri
from storefront.extensions import db

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("STOREFRONT_TEST_DATABASE_URL", "")
WORKERS = 2
THREADS = 4
START_TIMEOUT = 20.0  # seconds for every worker to answer /healthz
STOP_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0
#: The access log names the worker process (``<pid>``) that served each request.
ACCESS_LOG_FORMAT = "%(p)s %(s)s %(r)s %(M)sms"
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) (\S+) (\S+) ", re.MULTILINE)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class ServerOptions:
    """The shape of a live server: gunicorn processes, threads in each, and
    ``STOREFRONT_*`` settings for the app (e.g. ``{"STOREFRONT_SHOP_NAME": "X"}``)."""

    workers: int = WORKERS
    threads: int = THREADS
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveServer:
    """A running gunicorn: where it listens, who may sign in, and its settings."""

    url: str
    operator_email: str
    operator_password: str
    #: The environment the server and its CLI commands run with.
    env: dict[str, str]
    instance_path: Path
    log_path: Path
    workers: int = WORKERS

    def query(self, sql: str, **params) -> list[tuple]:
        """Rows of one read-only SQL query on the server's database, for checks
        the pages cannot answer exactly (a new connection each call)."""
        engine = create_engine(
            database_uri(self.env["STOREFRONT_DATABASE_URL"], str(self.instance_path))
        )
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        finally:
            engine.dispose()

    def log(self) -> str:
        """Everything gunicorn and the app have printed, access log included."""
        return self.log_path.read_text(errors="replace")

    def log_excerpt(self, limit: int = 4000) -> str:
        """The log from its first traceback on (else its end), for failure
        messages."""
        log = self.log()
        start = log.find("Traceback")
        return log[start : start + limit] if start >= 0 else log[-limit:]

    def served_by(self, method: str, path: str) -> dict[int, list[int]]:
        """Statuses of the logged ``method path`` requests, by worker pid."""
        workers: dict[int, list[int]] = {}
        for pid, status, logged_method, target in ACCESS_LINE.findall(self.log()):
            if logged_method == method and target == path:
                workers.setdefault(int(pid), []).append(int(status))
        return workers

    def session(self) -> "HttpSession":
        """A new visitor with no cookies."""
        return HttpSession(self.url)


@pytest.fixture
def live_server(request, tmp_path):
    """gunicorn with two workers over a freshly migrated database (the PostgreSQL
    one of STOREFRONT_TEST_DATABASE_URL if set, else a new SQLite file) that holds
    one operator; emptied again afterwards. Proves, by coming up at all, that the
    migrations and the CLI work and that every worker answers /healthz.
    Parametrized indirectly with ``ServerOptions``, it serves that shape instead."""
    options = getattr(request, "param", None) or ServerOptions()
    with serve(tmp_path, options) as server:
        yield server


@contextlib.contextmanager
def serve(tmp_path: Path, options: ServerOptions) -> Iterator[LiveServer]:
    """Migrate, add the operator, start gunicorn, wait for every worker; stop it
    (and empty a PostgreSQL database) on the way out."""
    instance = tmp_path / "instance"
    instance.mkdir()
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'live.db'}"
    port = free_port()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}",
        operator_email="operator@example.com",
        operator_password="live-server-password",
        env=server_env(database_url, instance, port, options),
        instance_path=instance,
        log_path=tmp_path / "gunicorn.log",
        workers=options.workers,
    )
    if TEST_DATABASE_URL:
        empty_database(database_url, instance)  # in case a crashed run left tables
    flask_command(server.env, "db", "upgrade")
    flask_command(
        server.env,
        "create-operator",
        "--email",
        server.operator_email,
        "--name",
        "Olive Operator",
        "--password",
        server.operator_password,
    )
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
            + ["wsgi:app"],
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to kill if it hangs
        )
    try:
        wait_for_workers(server, process)
        yield server
    finally:
        stop(process)
        if TEST_DATABASE_URL:
            empty_database(database_url, instance)


def server_env(
    database_url: str,
    instance: Path,
    port: int,
    options: ServerOptions | None = None,
) -> dict[str, str]:
    """This process's environment without the developer's app and gunicorn
    settings, plus the live server's own."""
    options = options or ServerOptions()
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STOREFRONT_", "FLASK_", "GUNICORN_"))
        and name not in {"BIND", "PORT", "WORKERS", "THREADS"}
    }
    return {
        **inherited,
        **options.settings,
        "STOREFRONT_DATABASE_URL": database_url,
        "STOREFRONT_INSTANCE_PATH": str(instance),
        "BIND": f"127.0.0.1:{port}",
        "WORKERS": str(options.workers),
        "THREADS": str(options.threads),
        # No control socket: its default path in $HOME is shared by every server.
        "GUNICORN_CMD_ARGS": (
            f"--access-logformat='{ACCESS_LOG_FORMAT}' --no-control-socket"
        ),
        "PYTHONUNBUFFERED": "1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flask_command(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app storefront <args>``; fail the test with its output if it
    fails."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "storefront", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    if result.returncode != 0:
        pytest.fail(
            f"flask {' '.join(args[:2])} exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def wait_for_workers(server: LiveServer, process: subprocess.Popen) -> None:
    """Poll /healthz until every worker has answered 200 (one answering is not
    enough: tests of contention need both processes serving)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"gunicorn exited with {process.returncode} before serving:\n"
                f"{server.log()}"
            )
        # Probes sent together: one at a time, the same idle workers may win
        # every accept while another never gets one.
        with ThreadPoolExecutor(server.workers) as pool:
            pool.map(lambda _: probe(opener, server.url), range(2 * server.workers))
        healthy = [
            pid
            for pid, statuses in server.served_by("GET", "/healthz").items()
            if 200 in statuses
        ]
        if len(healthy) >= server.workers:
            return
        time.sleep(0.05)
    pytest.fail(
        f"gunicorn's {server.workers} workers did not all answer /healthz within "
        f"{START_TIMEOUT:.0f} s:\n{server.log()}"
    )


def probe(opener: urllib.request.OpenerDirector, url: str) -> None:
    """One GET of /healthz; not listening yet, or the database not ready, is
    no answer (the caller tries again)."""
    with contextlib.suppress(urllib.error.URLError, OSError):
        opener.open(url + "/healthz", timeout=2).close()


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn finishes requests in flight and exits); SIGKILL its
    process group if that takes too long."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def empty_database(database_url: str, instance: Path) -> None:
    """Drop every table, ``alembic_version`` included, and every sequence, so
    the next test's ``db.create_all()`` or ``db upgrade`` starts from nothing."""
    engine = create_engine(database_uri(database_url, str(instance)))
    try:
        tables = MetaData()
        tables.reflect(engine)
        tables.drop_all(engine)
        # Reflection misses sequences no column owns (the ledger's transaction ids).
        with engine.begin() as connection:
            for name in inspect(connection).get_sequence_names():
                connection.execute(DropSequence(Sequence(name)))
    finally:
        engine.dispose()


@dataclass
class Response:
    status: int
    headers: Message
    text: str


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back as they are: tests check where they point."""

    def redirect_request(self, *args, **kwargs):
        return None


class HttpSession:
    """One visitor on the live server: keeps its cookies, asks for English, and
    sends its session's CSRF token (read from the last page) with every POST.
    Safe to share between threads once signed in."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url
        self.timeout = timeout
        self.csrf_token = ""
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback only, whatever the shell says
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirects(),
        )

    def get(self, path: str) -> Response:
        return self.send(urllib.request.Request(self.base_url + path))

    def post(self, path: str, fields: dict[str, str]) -> Response:
        """POST ``fields`` form-encoded, with the CSRF token."""
        body = urllib.parse.urlencode({"csrf_token": self.csrf_token, **fields})
        return self.send(
            urllib.request.Request(
                self.base_url + path, data=body.encode(), method="POST"
            )
        )

    def login(self, email: str, password: str) -> None:
        """Sign in (one attempt: sign-ins are rate limited per address)."""
        self.get("/login")
        response = self.post("/login", {"login": email, "password": password})
        assert response.status == 302, f"sign-in answered {response.status}"
        self.get("/")  # signing in starts a new session, with a new CSRF token

    def send(self, request: urllib.request.Request) -> Response:
        request.add_header("Accept-Language", "en")
        try:
            with self.opener.open(request, timeout=self.timeout) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:  # 3xx not followed, 4xx, 5xx
            with error:
                status, headers, body = error.code, error.headers, error.read()
        response = Response(status, headers, body.decode(errors="replace"))
        if match := CSRF_INPUT.search(response.text):
            self.csrf_token = match.group(1)
        return response


@contextlib.contextmanager
def server_database(server: LiveServer, monkeypatch) -> Iterator[None]:
    """An app context on the live server's database, to set up rows directly."""
    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(server.instance_path))
    app = create_app({"DATABASE_URL": server.env["STOREFRONT_DATABASE_URL"]})
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def at_once(calls: list[Callable[[], object]], timeout: float = 60.0) -> list:
    """Run every call in its own thread, all released together by a barrier;
    their results in order."""
    start = threading.Barrier(len(calls), timeout=timeout)

    def run(call):
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        _, pending = wait(futures, timeout=2 * timeout)
        assert not pending, f"{len(pending)} requests never answered"
    return [future.result() for future in futures]
