"""Running `wrk` (Debian package `wrk`) and reading its figures, for every benchmark here.

Throughput is always measured with wrk, never with a Python client: a
Python client saturates before the server does. `rate` paces the load (a
Lua `delay` per connection) for latency at a given fraction of the
saturated rate; wrk reports the rate it actually reached.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
PACED = """\
local pause = {pause}
function delay()
  return pause
end
"""


@dataclass
class Wrk:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int

    def line(self, label: str) -> str:
        errors = f"   {self.errors} non-2xx/errors" if self.errors else ""
        return (
            f"  {label:<40} {self.per_second:8.0f} req/s   p50 {self.p50_ms:7.2f} ms"
            f"   p99 {self.p99_ms:7.2f} ms{errors}"
        )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> Wrk:
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    done = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (p50 and p99 and done and rate):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return Wrk(
        int(done.group(1)), float(rate.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors
    )


def run_wrk(
    url: str,
    seconds: int,
    connections: int,
    headers: dict[str, str] | None = None,
    rate: float | None = None,
) -> Wrk:
    """wrk on `url` for `seconds` over `connections` keep-alive connections; paced to about
    `rate` requests/s in all when given."""
    command = ["wrk", "--latency", "-t", str(min(2, connections)), "-c", str(connections)]
    command += ["-d", f"{seconds}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="hubops-wrk-") as tmp:
        if rate is not None:
            script = Path(tmp) / "paced.lua"
            script.write_text(PACED.format(pause=max(1, round(connections * 1000 / rate))))
            command += ["-s", str(script)]
        command.append(url)
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 30
        )
    return parse_wrk(done.stdout)
