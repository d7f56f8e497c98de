"""Load from wrk (Debian's package) with ``scripts/load.lua``, and what it measured.

A ``Shape`` is one endpoint's request: method, path, headers and body, where
``{n}`` (the request's number), ``{phone}`` (a mobile number made from it) and
``{code}`` (the next of a list, such as group invite codes) are filled in per
request, by the Lua script under load and by ``Shape.filled`` when the harness
checks the request once itself. Numbers carry on from run to run, so no phone
number or checkout key is ever sent twice.
"""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.serving import pinned

SCRIPT = Path(__file__).parent / "scripts" / "load.lua"
PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
#: A request unanswered for this long counts as a timeout error.
TIMEOUT = "10s"


class LoadError(RuntimeError):
    """wrk failed, or answers were errors or not what the request expects."""


@dataclass
class Shape:
    """One endpoint's request, and the statuses that say it worked."""

    method: str
    path: str
    headers: dict[str, str]
    body: str = ""
    expect: tuple[int, ...] = (200,)
    codes: tuple[str, ...] = ()
    #: The first digits of ``{phone}``: three, of a Chinese mobile network.
    phone: str = "137"
    #: The number of the next request: runs carry on where the last stopped.
    next_n: int = 0

    def fill(self, template: str, n: int) -> str:
        """``template`` with the placeholders of request number ``n`` filled
        in, as ``scripts/load.lua`` does."""

        def value(match: re.Match) -> str:
            name = match.group(1)
            if name == "n":
                return str(n)
            if name == "phone":
                return f"{self.phone}{n % 100_000_000:08d}"
            if name == "code":
                return self.codes[n % len(self.codes)]
            return match.group(0)

        return PLACEHOLDER.sub(value, template)

    def filled(self) -> tuple[str, bytes | None]:
        """The path and body of the next request, which this uses up."""
        n, self.next_n = self.next_n, self.next_n + 1
        body = self.fill(self.body, n).encode() if self.body else None
        return self.fill(self.path, n), body

    def arguments(self, pace_ms: float | None) -> list[str]:
        """What the Lua script is told, after wrk's ``--``."""
        arguments = [
            f"method={self.method}",
            f"path={self.path}",
            f"phone={self.phone}",
            f"offset={self.next_n}",
        ]
        if self.body:
            arguments.append(f"body={self.body}")
        if self.codes:
            arguments.append(f"codes={','.join(self.codes)}")
        if pace_ms is not None:
            arguments.append(f"pace={pace_ms:.3f}")
        return arguments


@dataclass
class Measured:
    """What one wrk run saw."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    errors: dict[str, int]
    #: Largest resident memory of the server meanwhile (bytes), if watched.
    peak_rss: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        """Socket errors and timeouts, as wrk counts them."""
        return sum(count for kind, count in self.errors.items() if kind != "status")


def run(
    url: str,
    shape: Shape,
    duration: int,
    connections: int,
    cpus: str | None,
    pace_ms: float | None = None,
) -> Measured:
    """Load ``url`` with ``shape`` for ``duration`` seconds over ``connections``
    connections (one wrk thread; ``pace_ms``: each connection waits that long on
    average before each request). Raises ``LoadError`` on any socket error or
    timeout, or any answer whose status ``shape`` does not expect."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["--timeout", TIMEOUT, "-s", str(SCRIPT)]
    for name, value in shape.headers.items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", *shape.arguments(pace_ms)]
    done = subprocess.run(pinned(command, cpus), capture_output=True, text=True)
    result = next(
        (line for line in done.stdout.splitlines() if line.startswith("result ")),
        None,
    )
    if done.returncode != 0 or result is None:
        raise LoadError(
            f"wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    found = json.loads(result.removeprefix("result "))
    shape.next_n += found["sent"]
    measured = Measured(
        requests=found["requests"],
        seconds=found["seconds"],
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        statuses={int(status): count for status, count in found["statuses"].items()},
        errors=found["errors"],
    )
    wrong = {s: n for s, n in measured.statuses.items() if s not in shape.expect}
    if measured.failures or wrong or not measured.requests:
        raise LoadError(
            f"{shape.method} {shape.path}: {measured.requests} answers, statuses "
            f"{measured.statuses} (expected {shape.expect}), errors "
            f"{measured.errors}\n{done.stdout}"
        )
    return measured
