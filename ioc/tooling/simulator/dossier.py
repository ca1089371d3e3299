"""Dossier status changes of the one-stop shops, as their outbox would publish them.

Dossiers arrive per agency and local day (more on Mondays, a trickle of online ones at
weekends), each lifecycle is planned whole (:mod:`lifecycle`), and the status changes
of all dossiers are released in time order with an increasing ``outbox_id``. History
starts three weeks before the period so it opens with a realistic backlog; changes
before the period are not emitted. Late dossiers are capped per agency and due date,
so only an injected overdue spike makes five or more fall due at once.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, timedelta

from ioc.tooling.simulator import rates
from ioc.tooling.simulator.clock import DAY_MS, Clock
from ioc.tooling.simulator.context import Context, Stream
from ioc.tooling.simulator.identities import PERSONS
from ioc.tooling.simulator.injections import Kind, overdue_schedule
from ioc.tooling.simulator.lifecycle import Procedure, Step, plan, plan_overdue, procedures
from ioc.tooling.simulator.rng import poisson, stream
from schemas.events import DossierStatusChange
from schemas.province.entities import Agency
from schemas.timeutil import from_ms

HISTORY_DAYS = 21
"""Dossiers are simulated from this long before the period (a backlog, no cold start)."""
WEEKDAY_FACTOR = (1.15, 1.0, 1.0, 1.0, 0.9, 1.0, 1.0)
DIGITIZED_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Dossier:
    dossier_id: str
    procedure: Procedure
    online: bool
    postal: bool
    digitized: bool
    applicant: int


def tier_of(ctx: Context, agency: Agency) -> str:
    """``province``, ``middle`` or ``leaf`` from the agency's level in the hierarchy."""
    levels = ctx.profile.areas.levels
    depth = levels.index(agency.level)
    return "province" if depth == 0 else "leaf" if depth == len(levels) - 1 else "middle"


class _LateCap:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.used: dict[tuple[str, date], int] = {}

    def __call__(self, agency: str, due_ms: int) -> bool:
        key = (agency, self.clock.local_date(due_ms))
        if self.used.get(key, 0) >= rates.LATE_CAP_PER_AGENCY_DAY:
            return False
        self.used[key] = self.used.get(key, 0) + 1
        return True


def generate(ctx: Context) -> Stream:
    """Status changes of every agency's dossiers, in time order."""
    agencies = list(ctx.profile.agencies)
    if not agencies:
        return
    clock = ctx.clock
    pending: list[tuple[int, int, Step, Dossier]] = []
    seq = 0

    def push(steps: list[Step], dossier: Dossier) -> None:
        nonlocal seq
        for step in steps:
            seq += 1
            heapq.heappush(pending, (step.t_ms, seq, step, dossier))

    for spike in _spikes(ctx):
        push(*spike)
    cap = _LateCap(clock)
    peers = {a.agency_code: _peers(agencies, a) for a in agencies}
    outbox = 0
    day = clock.day_at(ctx.start_ms - ctx.dossier_history_days * DAY_MS)
    while day.start_ms < ctx.end_ms:
        for agency in agencies:
            for steps, dossier in _arrivals(ctx, agency, day.date, peers[agency.agency_code], cap):
                push(steps, dossier)
        horizon = min(day.end_ms, ctx.end_ms)
        while pending and pending[0][0] < horizon:
            t, _, step, dossier = heapq.heappop(pending)
            if t >= ctx.start_ms:
                outbox += 1
                yield t, _event(ctx, dossier, step, outbox)
        day = clock.day(day.date + timedelta(days=1))


def _peers(agencies: list[Agency], agency: Agency) -> list[str]:
    same = [a.agency_code for a in agencies if a.level == agency.level and a != agency]
    return same or [a.agency_code for a in agencies if a != agency] or [agency.agency_code]


def _arrivals(
    ctx: Context, agency: Agency, d: date, peers: list[str], cap: _LateCap
) -> list[tuple[list[Step], Dossier]]:
    clock = ctx.clock
    day = clock.day(d)
    rng = stream(ctx.seed, "dossier", agency.agency_code, day.date.isoformat())
    tier = tier_of(ctx, agency)
    mean = rates.DOSSIERS_PER_WORKING_DAY[tier] * WEEKDAY_FACTOR[day.date.weekday()]
    if not day.working:
        mean *= rates.NON_WORKING_DAY_ONLINE
    choices, weights = procedures(tier)
    out = []
    for j in range(poisson(rng, mean)):
        channel = rng.random()
        online = channel < rates.ONLINE_SHARE or not day.working
        postal = not online and channel < rates.ONLINE_SHARE + rates.POSTAL_SHARE
        if day.working and (not online or rng.random() >= rates.ONLINE_OUTSIDE_OFFICE):
            arrival = clock.add_office(day.office[0][0], rng.uniform(0, 7.5 * 3600))
        else:
            arrival = clock.at_local(day.date, rng.uniform(6, 23))
        proc = rng.choices(choices, weights)[0]
        dossier = Dossier(
            dossier_id=f"HS-{agency.agency_code}-{day.date:%Y%m%d}-{j + 1:04d}",
            procedure=proc,
            online=online,
            postal=postal,
            digitized=rng.random() < DIGITIZED_SHARE,
            applicant=rng.randrange(PERSONS),
        )
        steps = plan(
            rng,
            clock,
            proc,
            online=online,
            arrival_ms=arrival,
            agency=agency.agency_code,
            transfer_to=rng.choice(peers),
            may_be_late=cap,
        )
        out.append((steps, dossier))
    return out


def _spikes(ctx: Context) -> list[tuple[list[Step], Dossier]]:
    out = []
    for agency in ctx.profile.agencies:
        for inj in ctx.schedule.of(Kind.OVERDUE_SPIKE, agency.agency_code):
            rng = stream(ctx.seed, "overdue", str(inj.number))
            choices, _ = procedures(tier_of(ctx, agency))
            proc = min(choices, key=lambda p: (p.days < 1, p.days))  # a short one, ≥ 1 day
            for n, (due, finish) in enumerate(overdue_schedule(ctx.clock, inj.start_ms)):
                dossier = Dossier(
                    dossier_id=f"HS-{agency.agency_code}-X{inj.number:03d}-{n + 1:02d}",
                    procedure=proc,
                    online=True,
                    postal=False,
                    digitized=True,
                    applicant=rng.randrange(PERSONS),
                )
                steps = plan_overdue(
                    rng, ctx.clock, proc, agency=agency.agency_code, due_ms=due, finish_ms=finish
                )
                out.append((steps, dossier))
    return out


def _event(ctx: Context, dossier: Dossier, step: Step, outbox_id: int) -> DossierStatusChange:
    agency = ctx.profile.entity("agency", step.agency)
    return DossierStatusChange.model_validate(
        {
            "source": ctx.source,
            "dossier_id": dossier.dossier_id,
            "procedure_code": dossier.procedure.code,
            "agency_code": step.agency,
            "area_code": agency.area_code,  # type: ignore[union-attr]
            "level": dossier.procedure.service_level,
            "channel": "online" if dossier.online else "postal" if dossier.postal else "in_person",
            "status": step.status,
            "previous_status": step.previous,
            "changed_at": from_ms(step.t_ms),
            "received_at": None if step.received_ms is None else from_ms(step.received_ms),
            "due_at": None if step.due_ms is None else from_ms(step.due_ms),
            "paid_online": step.paid_online,
            "digitized": dossier.digitized,
            "outbox_id": outbox_id,
            "applicant_hash": ctx.identities.hashed("person", dossier.applicant),
        }
    )
