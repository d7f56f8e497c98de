"""gunicorn as the README deploys it, on a CPU of its own, for the load benchmark.

``serve`` runs ``gunicorn --config gunicorn.conf.py <app>`` from the repository
root with the virtualenv's gunicorn, pinned to one CPU (``taskset``) as on a
1-vCPU server, waits until every worker has answered ``/healthz`` and stops it
afterwards. Only the access log's format is changed, to name the worker that
served each request. ``MemorySampler`` watches the resident memory of the master
and its workers while load runs.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.live_server import probe, stop

ROOT = Path(__file__).resolve().parent.parent
#: The virtualenv's gunicorn, as the README's systemd unit runs it.
GUNICORN = Path(sys.executable).parent / "gunicorn"
#: The access log names the worker process (``<pid>``) that served each request.
ACCESS_LOG_FORMAT = "%(p)s %(s)s %(r)s"
HEALTHY = re.compile(r"^<(\d+)> 200 GET /healthz ", re.MULTILINE)
START_TIMEOUT = 60.0
#: Seconds between two looks at the server's memory.
SAMPLE_EVERY = 0.1
#: The settings gunicorn.conf.py chose, as gunicorn reads them (its own
#: environment and CPU), printed as JSON.
SHOW_SETTINGS = """
import json, runpy
settings = runpy.run_path("gunicorn.conf.py")
names = ("workers", "threads", "worker_class", "keepalive", "max_requests")
print(json.dumps({name: settings.get(name) for name in names}))
"""
#: No proxy, whatever the shell says: every request goes to this machine.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` run on ``cpus`` only (as it is, when None)."""
    return ["taskset", "-c", cpus, *command] if cpus else command


class ServerError(RuntimeError):
    """gunicorn did not come up, or stopped."""


@dataclass(frozen=True)
class Cpus:
    """Where the server runs and where the load comes from: CPU lists for
    ``taskset -c``, or None where there is no CPU to spare."""

    server: str | None
    load: str | None

    @classmethod
    def split(cls) -> "Cpus":
        """The first CPU for the server, the others for the load generator."""
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(None, None)
        return cls(str(available[0]), ",".join(map(str, available[1:])))

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (one CPU)"
        return f"server on CPU {self.server}, load generator on CPU {self.load}"


@dataclass
class Server:
    """A running gunicorn."""

    url: str
    process: subprocess.Popen
    log_path: Path
    settings: dict
    #: Where this server's part of the log begins (servers may share a log).
    log_start: int = 0

    def log(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def log_excerpt(self, limit: int = 4000) -> str:
        """The log from its first traceback on (else its end), for errors."""
        log = self.log()
        start = log.find("Traceback")
        return log[start : start + limit] if start >= 0 else log[-limit:]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(
                f"gunicorn exited with {self.process.returncode}:\n{self.log_excerpt()}"
            )


def server_env(settings: dict[str, str], port: int) -> dict[str, str]:
    """This process's environment without the developer's app and gunicorn
    settings, plus ``settings`` and the port."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("STOREFRONT_", "FLASK_", "GUNICORN_"))
        and name not in {"BIND", "PORT", "WORKERS", "THREADS"}
    }
    return {**inherited, **settings, "PORT": str(port)}


def gunicorn_settings(env: dict[str, str], cpus: str | None) -> dict:
    """What gunicorn.conf.py sets with this environment, on these CPUs."""
    shown = subprocess.run(
        pinned([sys.executable, "-c", SHOW_SETTINGS], cpus),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(shown.stdout)


@contextlib.contextmanager
def serve(
    app: str, env: dict[str, str], port: int, log_path: Path, cpus: str | None
) -> Iterator[Server]:
    """gunicorn serving ``app`` (``module:variable`` or ``module:factory()``)
    on ``port``, ready once every worker has answered /healthz; stopped on the
    way out."""
    env = {**env, "GUNICORN_CMD_ARGS": f"--access-logformat='{ACCESS_LOG_FORMAT}'"}
    settings = gunicorn_settings(env, cpus)
    command = [str(GUNICORN), "--config", "gunicorn.conf.py", app]
    with log_path.open("ab") as log:
        start = log.tell()
        process = subprocess.Popen(
            pinned(command, cpus),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to kill if it hangs
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, settings, start)
    try:
        wait_for_workers(server, int(settings["workers"]))
        yield server
    finally:
        stop(process)


def wait_for_workers(server: Server, workers: int) -> None:
    """Poll /healthz until ``workers`` distinct workers have answered 200."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        server.check_alive()
        # Probes go out together: one at a time, the same idle worker may win
        # every accept while another never gets one.
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: probe(LOCAL, server.url), range(2 * workers)))
        if len(set(HEALTHY.findall(server.log()))) >= workers:
            return
        time.sleep(0.05)
    raise ServerError(
        f"gunicorn's {workers} workers did not all answer /healthz within "
        f"{START_TIMEOUT:.0f} s:\n{server.log_excerpt()}"
    )


def family(pid: int) -> list[int]:
    """``pid`` and every process descended from it (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # The command name, in parentheses, may hold spaces.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
    members, found = [pid], True
    while found:
        found = False
        for child, parent in parents.items():
            if parent in members and child not in members:
                members.append(child)
                found = True
    return members


def resident_bytes(pid: int) -> int:
    """Resident memory of one process (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemorySampler:
    """The largest sum of resident memory of a process and its descendants,
    looked at every ``SAMPLE_EVERY`` seconds while in the ``with`` block."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _sample(self) -> None:
        total = sum(resident_bytes(pid) for pid in family(self.pid))
        self.peak = max(self.peak, total)

    def _watch(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._sample()

    def __enter__(self) -> "MemorySampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
