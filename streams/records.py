"""The state records, key by key: the JSON layout of every value of a partition's table.

A partition's state (:class:`~streams.state.PartitionState`) is a dict of JSON records
that faust keeps in its table and writes, as orjson, to the table's changelog. The keys
are short because every changed record is rewritten to the changelog; they are part of
the format — a changelog written by an older worker must still load — so they never
change. This module gives each key its meaning, once, as :class:`typing.TypedDict`
classes: at run time a record is the plain dict it always was (no conversion, no
wrapper), and mypy checks every read and write against the names and types below.

The prefix of a record's key says which class it is:

========================  =========================================  =====================
key                       record                                     written by
========================  =========================================  =====================
``meta``                  :class:`MetaRecord`                        :mod:`streams.engine`
``id|<event id>``         :class:`EventIdRecord`                     :mod:`streams.engine`
``w|<kind>|<id>|<z>|<s>`` :class:`WindowRecord` [domain parts]       :mod:`streams.book`
``reg|<meter>``           :class:`ChainRecord`                       :mod:`streams.kpi.energy`
``sub|<cp>|<day>|<hash>`` :class:`SubjectRecord`                     :mod:`streams.kpi.qr`
``dos|<agency>|<id>``     :class:`DossierRecord`                     :mod:`streams.kpi.dossier`
``per|<agency>|<z>|<s>``  :class:`PeriodRecord`                      :mod:`streams.kpi.dossier`
``det|<kind>|<id>|<m>``   :class:`DetectorRecord`                    :mod:`streams.detection`
``sil|<group>``           :class:`DetectorRecord` (with ``last``)    :mod:`streams.detection`
``dq|<source>``           :class:`DqTotalsRecord`                    :mod:`streams.dq`
``dqw|<source>|<s>``      :class:`DqMinuteRecord`                    :mod:`streams.dq`
========================  =========================================  =====================

Times are epoch milliseconds; offsets are offsets of the partition's source topic.
A key's position in a record is the order it was first set in; the producers build
their literals in that order, so the changelog bytes are what they were.
"""

# No ``from __future__ import annotations``: the classes are evaluated as written, so
# their ``__required_keys__`` (NotRequired keys) are right at run time too.
from typing import Any, Generic, NotRequired, TypedDict, TypeVar

from streams.detect.model import States
from streams.kpi.sums import Partials

P = TypeVar("P")
"""The parts of a KPI window: one of the ``*PartsRecord`` classes below."""

Position = list[int]
"""``[offset, step]``: a step of the processing of one source record (JSON has no tuples)."""

ChainRow = list[float]
"""``[event time ms, register kWh, offset that added the reading]`` (ints stay ints)."""

ChangeRow = list[Any]
"""One dossier status change as stored (:meth:`streams.kpi.dossier_facts.Change.to_row`)."""


# --- bases: what several kinds of record share ------------------------------------------


class Stamped(TypedDict):
    """A record that applies each source record once (:meth:`PartitionState.touch`)."""

    o: int
    """Offset of the last source record this record applied (a replay at or below it skips)."""


class Positioned(TypedDict):
    """A record one source record may change more than once (see :class:`streams.state.Cursor`)."""

    pos: Position
    """Position of the last step applied: a replayed step at or before it is skipped."""


class Emitted(TypedDict):
    """A window that is emitted as a result record, with a sequence per emission."""

    s: int
    """Window start."""
    end: int
    """Window end (exclusive): the window closes when the watermark reaches it."""
    q: int
    """Sequence of the last emission (0: never emitted); the result's version is built on it."""


class Held(Emitted, Stamped):
    """A window held until the watermark closes it (:class:`streams.book.Closing`)."""

    d: bool
    """Changed since its last emission: emitted (again) when closed."""


class KpiWindow(Emitted, Generic[P]):
    """What a KPI result record is made of (:meth:`streams.kpi.base.DomainLogic.to_kpi`)."""

    k: str
    """Entity kind: ``sensor``, ``segment``, ``meter``, ``feeder``, ``checkpoint``, ``agency``."""
    e: str
    """Entity id."""
    g: str
    """Group id: the entity's segment or feeder; a check-point or agency is its own group."""
    z: str
    """Window size, a :class:`~schemas.results.WindowSize` value (``1m`` … ``month``)."""
    p: P
    """Parts: the additive KPI inputs, under the contract's field names."""
    m: NotRequired[dict[str, int]]
    """Group windows (segment, feeder) only: members that reported → 1."""
    l: NotRequired[list[str]]  # noqa: E741  (the one-letter keys of the stored layout)
    """Ids of the late events it took (a second copy of one is not applied again), at most
    :data:`streams.book.MAX_LATE_IDS`."""
    lx: NotRequired[int]
    """Late events it took beyond that many (their ids are not kept)."""


# --- the parts of KPI windows (contract names; sums as exact partials, see sums) ---------


class TrafficPartsRecord(TypedDict, total=False):
    """Parts of a sensor or segment window (:class:`~schemas.results.TrafficParts`)."""

    observations: int
    vehicles: int
    motorcycles: int
    cars: int
    trucks: int
    buses: int
    speed_x_vehicles: Partials
    speed_vehicles: int
    """Vehicles of the observations that carried a speed (absent in windows begun before
    speed was optional: then all of them)."""
    free_flow_x_vehicles: Partials
    occupancy_sum: Partials
    occupancy_samples: int
    """Observations that carried an occupancy (absent: all of them, as above)."""
    period_s_sum: int
    congested_observations: int
    speed_min_kmh: float
    speed_max_kmh: float


class EnergyPartsRecord(TypedDict, total=False):
    """Parts of a meter or feeder window (:class:`~schemas.results.EnergyParts`)."""

    energy_kwh: Partials
    register_resets: int
    register_rollovers: int
    readings: int
    power_kw_sum: Partials
    power_samples: int
    """Readings that carried an active power (absent: all of them)."""
    power_kw_max: float
    voltage_sum: Partials
    voltage_min_v: float
    voltage_max_v: float
    voltage_samples: int
    seconds_outside_voltage: int
    frequency_dev_abs_sum: Partials
    frequency_samples: int


class QrPartsRecord(TypedDict, total=False):
    """Parts of a check-point window (:class:`~schemas.results.QrParts`)."""

    scans: int
    scans_in: int
    scans_out: int
    persons: int
    vehicles: int
    not_green: int
    distinct_subjects: int


class DossierPartsRecord(TypedDict):
    """Parts of an agency period (:class:`~schemas.results.DossierParts`), all always set."""

    received: int
    received_online: int
    finished: int
    finished_late: int
    open_at_end: int
    open_late_at_end: int
    paid_online: int
    digitized: int
    excluded: int
    processing_hours_sum: float


# --- the records --------------------------------------------------------------------------


class MetaRecord(Stamped):
    """``meta``: the partition's progress, written last in every batch.

    ``o`` is the last source offset the partition applied (−1 before the first).
    """

    max: int | None
    """Maximum event time seen (events and control ticks); None before the first."""
    wm: int | None
    """Watermark: ``max`` − allowed lateness; None before the first event or tick."""


class EventIdRecord(Stamped):
    """``id|<event id>``: an event id seen (duplicates are dropped); ``o`` first saw it."""

    x: NotRequired[int]
    """Watermark at which the id is forgotten: the drop point of the event's minute.

    Absent in ids written before it was stored (they expire at recovery's watermark)."""


class WindowRecord(KpiWindow[P], Held):
    """``w|<kind>|<entity>|<size>|<start>``: one telemetry window of one entity or group."""


class PeriodRecord(KpiWindow[DossierPartsRecord], Positioned):
    """``per|<agency>|<size>|<start>``: an agency's day or month, recomputed, never accumulated."""

    asof: int
    """The instant the parts are computed as of (a month to date: its last closed day's end)."""


class ChainRecord(Stamped):
    """``reg|<meter>``: a meter's recent register readings (:mod:`streams.kpi.register`)."""

    r: list[ChainRow]
    """Readings in event-time order, pruned below what an accepted event can still need."""


class SubjectRecord(Stamped):
    """``sub|<checkpoint>|<local day start>|<subject hash>``: a subject seen at a check-point."""

    m: list[list[int]]
    """``[minute start, offset that added it]`` per minute the subject was seen that day."""


class DossierRecord(Stamped):
    """``dos|<agency>|<dossier id>``: a dossier's status history."""

    ev: list[ChangeRow]
    """Its status changes, one per outbox id, in arrival order."""


class DetectorRecord(Positioned):
    """``det|<kind>|<entity>|<metric>`` (detectors) or ``sil|<group>`` (silence)."""

    st: States
    """Detector states, by :func:`~streams.detect.state_key`."""
    q: dict[str, int]
    """Sequence of the last update of each anomaly still open, by anomaly id."""
    last: NotRequired[dict[str, int]]
    """``sil|`` records only: last event time per ``<kind>|<entity id>`` of the group."""


class DqCounts(TypedDict, total=False):
    """Data-quality counts of one source (a key is set by the first count that needs it)."""

    events: int
    """Messages applied, late or duplicate (everything but invalid)."""
    late: int
    """Messages behind the watermark."""
    dup: int
    """Duplicate event ids."""
    invalid: dict[str, int]
    """Dead-lettered messages by reason."""
    last: int
    """Latest event time seen."""


class DqTotalsRecord(Stamped, DqCounts):
    """``dq|<source>``: running totals of a source on the partition (exported to /metrics)."""


class DqMinuteRecord(Held, DqCounts):
    """``dqw|<source>|<minute start>``: the same counts for one minute, emitted like a window."""

    src: str
    """The source's name."""


StampedRecord = (
    MetaRecord
    | EventIdRecord
    | WindowRecord[Any]
    | ChainRecord
    | SubjectRecord
    | DossierRecord
    | DqTotalsRecord
    | DqMinuteRecord
)
"""A value of the table that carries the offset it last applied (``o``)."""

StateRecord = StampedRecord | PeriodRecord | DetectorRecord
"""Any value of the table."""
