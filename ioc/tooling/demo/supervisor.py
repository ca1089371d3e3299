"""Start the demo's processes, watch them, stop exactly them — by PID.

Each child gets its own session (so a Ctrl-C in the terminal reaches only ``ioc
demo``, which then stops the children in order: the feed first, so nothing is left
half-sent) and its own log file. Their PIDs are written to a file, so a demo killed
without cleaning up is cleaned up by the next start: only PIDs whose command line is
still the one recorded are signalled, never anything else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ioc.tooling.children import terminate
from schemas.errors import IocError


class DemoError(IocError):
    """A demo process did not start or died."""


@dataclass(frozen=True)
class Spec:
    """One process: its name, argv, extra environment and the port it answers on."""

    name: str
    argv: Sequence[str]
    port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Running:
    spec: Spec
    process: subprocess.Popen[bytes]
    log: Path


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Supervisor:
    def __init__(self, work: Path, base_env: Mapping[str, str]) -> None:
        self.work = work
        self.base_env = dict(base_env)
        self.running: list[Running] = []
        (work / "logs").mkdir(parents=True, exist_ok=True)
        self.pid_file = work / "pids.json"

    def stop_leftovers(self) -> list[str]:
        """Stop processes a previous demo recorded and did not stop (same PID, same argv)."""
        if not self.pid_file.exists():
            return []
        stopped = []
        for entry in orjson.loads(self.pid_file.read_bytes()):
            pid, argv = int(entry["pid"]), str(entry["cmdline"])
            if argv and _cmdline(pid) == argv:
                os.kill(pid, signal.SIGTERM)
                stopped.append(f"{entry['name']} ({pid})")
        deadline = time.monotonic() + 15
        for entry in orjson.loads(self.pid_file.read_bytes()):
            while _cmdline(int(entry["pid"])) == entry["cmdline"] and time.monotonic() < deadline:
                time.sleep(0.1)  # waiting for a process to exit, bounded
        self.pid_file.unlink()
        return stopped

    def start(self, spec: Spec) -> Running:
        """Start a process; fail at once if its port is taken by something else."""
        if spec.port is not None and port_open(spec.port):
            raise DemoError(
                f"port {spec.port} for {spec.name} is already in use: stop what listens there "
                "(another demo?) or move it with its IOC_*_PORT setting"
            )
        log = self.work / "logs" / f"{spec.name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(spec.argv),
                env={**self.base_env, **spec.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.work,
                start_new_session=True,
            )
        running = Running(spec, process, log)
        self.running.append(running)
        self._record()
        return running

    def _record(self) -> None:
        self.pid_file.write_bytes(
            orjson.dumps(
                [
                    {"name": r.spec.name, "pid": r.process.pid, "cmdline": _cmdline(r.process.pid)}
                    for r in self.running
                    if r.process.poll() is None
                ]
            )
        )

    def wait_ready(self, running: Running, timeout_s: float = 60) -> float:
        """Seconds until the process answers on its port; DemoError with its log if it dies."""
        began = time.monotonic()
        while running.spec.port is not None and not port_open(running.spec.port):
            self.check(running)
            if time.monotonic() - began > timeout_s:
                raise DemoError(
                    f"{running.spec.name} not ready after {timeout_s:.0f} s{self.tail(running)}"
                )
            time.sleep(0.1)  # readiness poll, bounded by the deadline
        # Between fork and exec the child still shows our own command line: wait for
        # its own before recording it (a port answering implies it; no port does not).
        parent = _cmdline(os.getpid())
        pid = running.process.pid
        while _cmdline(pid) in ("", parent) and time.monotonic() - began < timeout_s:
            self.check(running)
            time.sleep(0.01)  # exec poll, bounded by the deadline
        self._record()  # the command line is final once the interpreter is up
        return time.monotonic() - began

    def check(self, running: Running) -> None:
        """Raise if the process exited."""
        code = running.process.poll()
        if code is not None:
            raise DemoError(f"{running.spec.name} exited with {code}{self.tail(running)}")

    def dead(self) -> list[Running]:
        """Processes that exited on their own."""
        return [r for r in self.running if r.process.poll() is not None]

    @staticmethod
    def tail(running: Running, lines: int = 25) -> str:
        """The end of a process's log, for an error message."""
        text = running.log.read_text(errors="replace").splitlines()[-lines:]
        return f"\n----- {running.log} -----\n" + "\n".join(text)

    def stop(self, timeout_s: float = 20) -> list[str]:
        """SIGTERM each process, last started first, then SIGKILL what did not exit in time."""
        stopped = []
        for r in reversed(self.running):
            terminate(r.process, timeout_s)
            stopped.append(f"{r.spec.name} ({r.process.pid})")
        self.running.clear()
        if self.pid_file.exists():
            self.pid_file.unlink()
        return stopped
