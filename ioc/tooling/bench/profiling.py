"""py-spy on a worker, and the summary of its collapsed stacks (pure, unit-tested).

``py-spy record --format raw`` writes one line per distinct stack: frames joined by
``;`` (outermost first), a space, and the number of samples. Self time is the
innermost frame's; inclusive time counts a function once per stack it appears in.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ioc.tooling.bench.procs import Proc, spawn
from ioc.tooling.bench.stack import RunContext

_LINE_NO = re.compile(r":\d+\)$")


def _function(frame: str) -> str:
    # "handle (streams/runtime/partition.py:181)" -> "handle (streams/runtime/partition.py)":
    # one entry per function, whatever line of it was sampled.
    return _LINE_NO.sub(")", frame.strip())


@dataclass(frozen=True)
class Hotspot:
    function: str
    self_share: float
    inclusive_share: float


def summarize(lines: Iterable[str], top: int = 20) -> tuple[int, list[Hotspot]]:
    """(samples, hottest functions by self time) from collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return 0, []
    hottest = [
        Hotspot(name, round(n / total, 4), round(inclusive[name] / total, 4))
        for name, n in own.most_common(top)
    ]
    return total, hottest


def attach(ctx: RunContext, target: Proc, out: Path) -> Proc | None:
    """Start py-spy on a running process (it stops when the process exits)."""
    beside = Path(sys.executable).with_name("py-spy")  # the bench extra installs it in the venv
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)  # py-spy fails at the end otherwise
    argv = [
        py_spy, "record", "--pid", str(target.popen.pid), "--format", "raw",
        "--rate", "100", "--nonblocking", "--output", str(out),
    ]  # fmt: skip
    return spawn(f"{target.name}-py-spy", argv, ctx.env(), ctx.workdir, ctx.logs)
