"""Run a command (the test suite) against a throwaway PostgreSQL server.

``python tests/postgres.py pytest -q`` starts a cluster in a temporary folder on
a free local port, creates a database, runs the command with
STOREFRONT_TEST_DATABASE_URL pointing at it, then stops and removes the cluster.
Without PostgreSQL installed it says so and exits 0, unless CI is set: in CI both
databases are mandatory.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile


def postgres_bin() -> str | None:
    """The newest installed server's bin folder (Debian keeps them versioned)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def version(path: str) -> int:
    return int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_server_user() -> list[str]:
    """initdb and postgres refuse to run as root; use the postgres account then."""
    if os.geteuid() != 0:
        return []
    pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"]


def main(command: list[str]) -> int:
    bindir = postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            print("PostgreSQL is required in CI but was not found.", file=sys.stderr)
            return 1
        print("PostgreSQL not installed: skipping the PostgreSQL run.")
        return 0
    runner = as_server_user()
    root = tempfile.mkdtemp(prefix="storefront-pg-")
    data, port = os.path.join(root, "data"), free_port()
    if runner:
        shutil.chown(root, "postgres")
    run = lambda *args: subprocess.run([*runner, *args], check=True)  # noqa: E731
    run(
        f"{bindir}/initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    )
    run(
        f"{bindir}/pg_ctl",
        "-D",
        data,
        "-l",
        os.path.join(root, "log"),
        "-w",
        "-o",
        f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off",
        "start",
    )
    try:
        run(
            f"{bindir}/createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "storefront_test",
        )
        url = f"postgresql://postgres@127.0.0.1:{port}/storefront_test"
        env = {**os.environ, "STOREFRONT_TEST_DATABASE_URL": url}
        print(f"Running on PostgreSQL at {url}", flush=True)
        return subprocess.run(command, env=env).returncode
    finally:
        run(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
