"""Guards that end a worker loudly when a library logs a failure and carries on half-alive.

faust and aiokafka report some failures only in their logs and then keep the process
running while it does nothing useful: these handlers watch for those messages and exit
with a code that names the failure (decisions 0016 and 0024).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import ClassVar

log = logging.getLogger(__name__)


class ExitOnLog(logging.Handler):
    """Ends the process when a library logs a failure and then carries on half-alive.

    A subclass names the message's start, the exit code and why; a restart (systemd,
    Kubernetes, ``ioc demo``) resumes from the state, and the log says what happened.
    """

    prefix: ClassVar[str]
    code: ClassVar[int]
    why: ClassVar[str]
    threshold: ClassVar[int] = logging.WARNING

    def __init__(self, exit_: Callable[[int], None] = os._exit) -> None:
        super().__init__(level=self.threshold)
        self._exit = exit_

    def ignored(self) -> bool:
        """True when the message is expected right now (e.g. during a shutdown)."""
        return False

    def matches(self, message: str) -> bool:
        """True for the message this guard exits on."""
        return message.startswith(self.prefix)

    def emit(self, record: logging.LogRecord) -> None:
        """Exit on the message, unless :meth:`ignored`."""
        message = record.getMessage()
        if self.matches(message) and not self.ignored():
            log.critical("%s (%s); exiting with %d", self.why, message, self.code)
            self._exit(self.code)


class RecoveryGuard(ExitOnLog):
    """faust failed to apply a changelog record during recovery.

    faust logs it as a warning and carries on (``Recovery._restart_recovery`` catches
    every exception), which would leave a partition computing from partial state —
    double counts or losses that nothing would notice.
    """

    prefix = "Error in recovery"
    code = 70
    why = "table recovery failed"


EXIT_SERVICE_CRASHED = 70
"""EX_SOFTWARE: a faust service (its fetcher, a table, the consumer) crashed."""


class UnlessStopping(ExitOnLog):
    """A guard whose message is expected while the app shuts down (and then ignored)."""

    def __init__(
        self, stopping: Callable[[], bool], exit_: Callable[[int], None] = os._exit
    ) -> None:
        super().__init__(exit_)
        self._stopping = stopping

    def ignored(self) -> bool:
        """True while the app is stopping."""
        return self._stopping()


class ServiceCrashGuard(UnlessStopping):
    """One of faust's services crashed and the rest of the process carries on.

    mode logs "[^---Fetcher]: Crashed reason=..." and marks the service crashed, but
    nothing stops the worker: with its Fetcher gone it consumes nothing, commits nothing
    and reports healthy. (Seen: aiokafka's fetched_records raising KeyError on a seek
    from another thread; the runtime now seeks in the consumer's thread.) A shutdown
    cancels services too, which is not a crash worth an exit code.
    """

    prefix = "Crashed reason="
    code = EXIT_SERVICE_CRASHED
    why = "a faust service crashed"
    threshold = logging.ERROR

    def matches(self, message: str) -> bool:
        """The message after the label mode puts first: ``[^---Fetcher]: Crashed ...``."""
        return f"]: {self.prefix}" in message or message.startswith(self.prefix)


EXIT_LEFT_GROUP = 75
"""EX_TEMPFAIL: the consumer left its group while running; a restart resumes cleanly."""


class GroupLeaveGuard(UnlessStopping):
    """The consumer left the group while the worker still runs.

    aiokafka leaves the group when the app has not fetched for the max poll interval
    (a long CPU-bound stretch fills faust's stream buffers, and the fetcher waits for
    room), and faust then never rejoins (faust-streaming #138, aiokafka #1187): the
    process would sit there alive, owning nothing, committing nothing, with no error.
    Exiting also hands its partitions to the group at once (decision 0016). The same
    message during a normal shutdown is ignored.
    """

    prefix = "LeaveGroup request succeeded"
    code = EXIT_LEFT_GROUP
    why = (
        "the consumer left its group while the worker runs (no fetch within the max poll "
        "interval, IOC_CONSUMER_MAX_POLL_INTERVAL_MS)"
    )
    threshold = logging.INFO
