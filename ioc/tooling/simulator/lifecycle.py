"""Dossier lifecycles on the national public-service portal, planned whole at arrival.

Pure planning: given a procedure, a channel, an arrival and a random stream, the
list of status changes with their times (staff act in office hours only), the due
date (office time from receipt, extended by supplement pauses) and whether the
dossier is paid online. Shares are illustrative but follow what provinces report:
most dossiers online, ~98 % on time, a few supplements, rejections and withdrawals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from ioc.tooling.simulator.clock import OFFICE_DAY_S, Clock
from ioc.tooling.simulator.rates import LATE_SHARE
from schemas.events import DossierStatus as S

REJECTED_SHARE = 0.015
WITHDRAWN_SHARE = 0.007
STOPPED_SHARE = 0.002
TRANSFER_SHARE = 0.01
SUPPLEMENT_SHARE = 0.08
SUPPLEMENT_MAX_DAYS = 3
"""Working days a citizen has to supplement a dossier."""
PAID_ONLINE_SHARE = 0.8
H = 3600.0


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    name: str
    tier: str
    """Which agencies handle it: ``province``, ``middle`` (district) or ``leaf`` (commune)."""
    days: float
    """Working days from receipt to due date."""
    service_level: int
    fee: bool
    weight: float


CATALOGUE: tuple[Procedure, ...] = (
    Procedure("TTHC-XA-01", "Đăng ký khai sinh", "leaf", 1, 4, False, 0.30),
    Procedure("TTHC-XA-02", "Chứng thực bản sao từ bản chính", "leaf", 0.5, 3, True, 0.30),
    Procedure("TTHC-XA-03", "Đăng ký kết hôn", "leaf", 3, 4, False, 0.10),
    Procedure("TTHC-XA-04", "Xác nhận tình trạng hôn nhân", "leaf", 3, 4, False, 0.15),
    Procedure("TTHC-XA-05", "Đăng ký khai tử", "leaf", 1, 4, False, 0.05),
    Procedure("TTHC-XA-06", "Xác nhận thông tin cư trú", "leaf", 2, 4, False, 0.10),
    Procedure("TTHC-HUYEN-01", "Đăng ký hộ kinh doanh", "middle", 3, 4, True, 0.30),
    Procedure(
        "TTHC-HUYEN-02", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "middle", 15, 3, True, 0.15
    ),
    Procedure("TTHC-HUYEN-03", "Đăng ký biến động đất đai", "middle", 10, 3, True, 0.25),
    Procedure("TTHC-HUYEN-04", "Cấp bản sao trích lục hộ tịch", "middle", 1, 4, True, 0.30),
    Procedure("TTHC-TINH-01", "Đăng ký thành lập doanh nghiệp", "province", 3, 4, True, 0.25),
    Procedure("TTHC-TINH-02", "Cấp phiếu lý lịch tư pháp", "province", 10, 4, True, 0.25),
    Procedure("TTHC-TINH-03", "Cấp đổi giấy phép lái xe", "province", 5, 4, True, 0.25),
    Procedure("TTHC-TINH-04", "Cấp giấy phép lao động", "province", 5, 3, True, 0.10),
    Procedure("TTHC-TINH-05", "Cấp chứng chỉ hành nghề", "province", 10, 3, True, 0.15),
)
"""Illustrative procedures (codes are ours, not the national catalogue's)."""


def procedures(tier: str) -> tuple[list[Procedure], list[float]]:
    """The procedures of a tier and their weights."""
    chosen = [p for p in CATALOGUE if p.tier == tier]
    return chosen, [p.weight for p in chosen]


@dataclass(frozen=True, slots=True)
class Step:
    t_ms: int
    status: S
    previous: S | None
    agency: str
    received_ms: int | None
    due_ms: int | None
    paid_online: bool


MayBeLate = Callable[[str, int], bool]
"""(agency, due) → may this dossier be late? (reserves a slot of the natural cap)."""


class _Plan:
    def __init__(self, clock: Clock, agency: str) -> None:
        self.clock = clock
        self.agency = agency
        self.steps: list[Step] = []
        self.received: int | None = None
        self.due: int | None = None
        self.paid = False
        self.t = 0

    def add(self, t: int, status: S) -> None:
        # strictly increasing: the outbox orders a dossier's versions by time too
        self.t = max(t, self.t + 1_000)
        previous = self.steps[-1].status if self.steps else None
        self.steps.append(
            Step(self.t, status, previous, self.agency, self.received, self.due, self.paid)
        )

    def after(self, hours: float) -> int:
        return self.clock.add_office(self.t, hours * H)


def plan(
    rng: Random,
    clock: Clock,
    proc: Procedure,
    *,
    online: bool,
    arrival_ms: int,
    agency: str,
    transfer_to: str,
    may_be_late: MayBeLate,
) -> list[Step]:
    """The status changes of one dossier, in time order."""
    p = _Plan(clock, agency)
    p.t = arrival_ms - 1_000
    allowed = proc.days * OFFICE_DAY_S
    if online:
        p.add(arrival_ms, S.REGISTERED)
        if rng.random() < REJECTED_SHARE:
            p.add(p.after(rng.uniform(0.5, 4)), S.REJECTED)
            return p.steps
        received = p.after(rng.uniform(0.25, 4))
    else:
        received = clock.add_office(arrival_ms, 0)
    p.received, p.due = received, clock.add_office(received, allowed)
    p.add(received, S.RECEIVED)
    p.add(p.after(rng.uniform(0.05, 0.5)), S.PROCESSING)
    branch = rng.random()
    if branch < WITHDRAWN_SHARE:
        p.add(p.after(rng.uniform(1, 8)), S.WITHDRAWN)
        return p.steps
    if branch < WITHDRAWN_SHARE + STOPPED_SHARE:
        p.add(p.after(rng.uniform(1, 8)), S.STOPPED)
        return p.steps
    if branch < WITHDRAWN_SHARE + STOPPED_SHARE + TRANSFER_SHARE:
        # keyed by the old agency; the new one receives it and starts its own clock
        p.add(p.after(rng.uniform(0.5, 4)), S.TRANSFERRED_OUT)
        p.agency = transfer_to
        received = p.after(rng.uniform(0.5, 8))
        p.received, p.due = received, clock.add_office(received, allowed)
        p.add(received, S.RECEIVED)
        p.add(p.after(rng.uniform(0.05, 0.5)), S.PROCESSING)
    assert p.due is not None
    if rng.random() < SUPPLEMENT_SHARE:
        ask = clock.add_office(p.t, rng.uniform(0.1, 0.4) * clock.office_between(p.t, p.due))
        due = p.due
        # The clock stops while the citizen supplements: the request carries the due date
        # pushed by the longest allowed pause, the resumption the one pushed by the real
        # pause — so a dossier waiting for its citizen is never overdue.
        p.due = clock.add_office(due, SUPPLEMENT_MAX_DAYS * OFFICE_DAY_S)
        p.add(ask, S.SUPPLEMENT_REQUESTED)
        pause = rng.uniform(1, SUPPLEMENT_MAX_DAYS) * OFFICE_DAY_S
        p.due = clock.add_office(due, pause)
        p.add(clock.add_office(p.t, pause), S.PROCESSING)
    late = rng.random() < LATE_SHARE and may_be_late(p.agency, p.due)
    if late:
        finish = clock.add_office(p.due, rng.uniform(0.5, 16) * H)
    else:
        finish = clock.add_office(p.t, rng.uniform(0.3, 0.95) * clock.office_between(p.t, p.due))
    _finish(p, rng, clock, proc, online=online, finish=finish)
    return p.steps


def _finish(
    p: _Plan, rng: Random, clock: Clock, proc: Procedure, *, online: bool, finish: int
) -> None:
    if proc.fee:
        span = clock.office_between(p.t, finish)
        ask = clock.add_office(p.t, 0.5 * span)
        p.add(ask, S.PAYMENT_REQUESTED)
        p.paid = online and rng.random() < PAID_ONLINE_SHARE
        p.add(clock.add_office(ask, rng.uniform(0.1, 0.4) * span), S.PROCESSING)
    p.add(finish, S.COMPLETED)
    returned = rng.uniform(0.1, 4) * H
    if p.due is not None and p.t <= p.due:
        # an on-time dossier's result is also back by its due date: either finishing
        # status may be the first one a reader sees, and both must say "on time"
        returned = min(returned, 0.9 * clock.office_between(p.t, p.due))
    p.add(clock.add_office(p.t, returned), S.RESULT_RETURNED)


def plan_overdue(
    rng: Random, clock: Clock, proc: Procedure, *, agency: str, due_ms: int, finish_ms: int
) -> list[Step]:
    """A dossier of an overdue spike: received so it falls due at ``due_ms``, finished late."""
    received = clock.sub_office(due_ms, proc.days * OFFICE_DAY_S)
    p = _Plan(clock, agency)
    registered = clock.sub_office(received, rng.uniform(0.5, 3) * H)
    p.t = registered - 1_000
    p.add(registered, S.REGISTERED)
    p.received, p.due = received, due_ms
    p.add(received, S.RECEIVED)
    p.add(p.after(rng.uniform(0.05, 0.5)), S.PROCESSING)
    p.add(finish_ms, S.COMPLETED)
    p.add(p.after(0.5), S.RESULT_RETURNED)
    return p.steps
