"""deploy/local/lib.sh's wait_ready does not mistake a service being exec'd for a dead one.

Right after ``spawn`` the PID is the forked shell until setsid exec's the service; its
command line lacks the service folder. An ownership check there reported "process exited
during startup" with an empty log (a CI run failed so, for Alertmanager and Prometheus).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

LIB = Path(__file__).resolve().parents[2] / "deploy" / "local" / "lib.sh"


def test_wait_ready_sees_a_service_that_is_not_exec_d_yet(tmp_path: Path) -> None:
    # The dummy service keeps a command line without SVC_DIR for 0.3 s (a slow exec
    # under load), then becomes a process that names SVC_DIR, like a real service.
    script = f"""
set -u
source "{LIB}"
SVC=dummy SVC_DIR="{tmp_path}/svc" PID_FILE="{tmp_path}/dummy.pid" OUT_LOG="{tmp_path}/out.log"
SVC_PORTS="" READY_TIMEOUT=5
mkdir -p "$SVC_DIR"
export DUMMY_DIR="$SVC_DIR"
calls=0
svc_ready() {{ calls=$((calls + 1)); [ "$calls" -ge 3 ]; }}  # ready at the third check
spawn bash -c '/bin/sleep 0.3; exec sh -c "/bin/sleep 3; :" "$DUMMY_DIR"'
status=0
wait_ready || status=$?
kill -- "-$(read_pid)" 2>/dev/null  # its own session and group (setsid)
echo "status=$status"
"""
    # From a file, like the real scripts: the forked shell's command line must not name
    # SVC_DIR (``bash -c`` would carry the whole script, paths included).
    runner = tmp_path / "run.sh"
    runner.write_text(script)
    done = subprocess.run(["bash", str(runner)], capture_output=True, text=True, timeout=30)
    assert "status=0" in done.stdout, (done.stdout, done.stderr)
