"""Processes under measurement: start with an environment, watch peak RSS, stop cleanly.

Peak RSS is the kernel's own high-water mark (``VmHWM`` in /proc/<pid>/status), read
while the process is alive — so no sample can miss a short peak. Linux only, like the
local stack.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ioc.tooling.children import terminate


def _status_kb(pid: int, name: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def _cpu_s(pid: int) -> float | None:
    # utime + stime of /proc/<pid>/stat, in clock ticks (fields 14 and 15).
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """One process of a phase (worker, sink, baseline consumer, peer)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.time)
    peak_rss_kb: int = 0
    cpu_s: float = 0.0

    def sample(self) -> None:
        """Refresh peak RSS and CPU time from /proc (the last reading before exit stays)."""
        hwm = _status_kb(self.popen.pid, "VmHWM")
        if hwm is not None:
            self.peak_rss_kb = max(self.peak_rss_kb, hwm)
        cpu = _cpu_s(self.popen.pid)
        if cpu is not None:
            self.cpu_s = cpu

    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; figures are read first."""
        self.sample()
        terminate(self.popen, timeout_s)

    def tail(self, chars: int = 3_000) -> str:
        """The end of its log (for a failure message)."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @property
    def peak_rss_mb(self) -> float:
        """Peak RSS in MiB."""
        return self.peak_rss_kb / 1024


def spawn(name: str, argv: list[str], env: dict[str, str], cwd: Path, logs: Path) -> Proc:
    """Start a process with its output in ``logs/<name>.log``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Proc(name, popen, log)


def sample_all(procs: list[Proc]) -> None:
    """Sample every process, and fail fast when one died."""
    for proc in procs:
        proc.sample()
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")


def stop_all(procs: list[Proc]) -> None:
    """Stop every process (in reverse start order)."""
    for proc in reversed(procs):
        proc.stop()
