"""Findings: what the analysis stage concludes from tracks, and every product encodes.

One schema, ``standoff.findings/1``, shared by ``findings.json``, the report and the
GeoJSON/KML/CoT/GeoParquet encoders.  Every finding carries

* :class:`Evidence` (which tracks, how many detections, which sensors, first/last time),
* a :class:`Confidence`: a probability *and* the calibrated words of ICD 203 that go with it,
  so a reader always sees the number behind the words,
* a :class:`~standoff.domain.marking.Marking` (classification and releasability), and
* ``own_territory``: False as produced by the analysis; the oversight minimisation step sets
  it True when all of a finding's evidence lies inside the operator's own territory.

Conventions: angles in degrees with the axis order in the name (``lat_deg``, ``lon_deg``);
geometry as GeoJSON-ordered ``(lon_deg, lat_deg)`` pairs; distances in metres, speeds in
metres per second, durations in seconds; times are timezone-aware UTC datetimes (naive or
offset datetimes are rejected / converted to UTC).  Hour-of-day profiles are counted in the
scenario's *local* clock (``Findings.utc_offset_h``), day-of-week profiles Monday first.

Links between a finding and an organisation are an analyst's explicit assertion
(:class:`OrganisationLink`); the analysis never infers them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal, TypeAlias

from standoff.core.errors import InputError
from standoff.domain.marking import Marking

__all__ = [
    "ALERT_ACTIVITIES",
    "FINDINGS_SCHEMA",
    "ICD203_BANDS",
    "AlertActivity",
    "BorderApproach",
    "ChangeAlert",
    "Confidence",
    "Corridor",
    "Evidence",
    "Finding",
    "Findings",
    "Organisation",
    "OrganisationLink",
    "Site",
    "icd203_words",
]

FINDINGS_SCHEMA: Final = "standoff.findings/1"
"""Version of the findings document (``findings.json``) and of every encoder's input."""

AlertActivity = Literal["visits", "passes", "convoy passes", "events"]
ALERT_ACTIVITIES: Final[tuple[str, ...]] = ("visits", "passes", "convoy passes", "events")
"""What a change alert counted (:attr:`ChangeAlert.activity`)."""

ICD203_BANDS: Final[tuple[tuple[float, float, str], ...]] = (
    (0.00, 0.05, "almost no chance"),
    (0.05, 0.20, "very unlikely"),
    (0.20, 0.45, "unlikely"),
    (0.45, 0.55, "roughly even chance"),
    (0.55, 0.80, "likely"),
    (0.80, 0.95, "very likely"),
    (0.95, 1.00, "almost certain"),
)
"""ICD 203 expressions of likelihood: ``(low, high, words)``.  The directive's bands are
1-5 %, 5-20 %, 20-45 %, 45-55 %, 55-80 %, 80-95 %, 95-99 %; below 1 % reads "almost no
chance" and above 99 % "almost certain".  A probability on a boundary belongs to the band
*above* it, except 0.55, which is still "roughly even chance" (the band is closed)."""


def icd203_words(probability: float) -> str:
    """The ICD 203 words for ``probability`` (0-1), see :data:`ICD203_BANDS`."""
    p = float(probability)
    if not 0.0 <= p <= 1.0 or math.isnan(p):
        raise InputError("a probability must lie in [0, 1]", field="probability", value=p)
    if 0.45 <= p <= 0.55:
        return "roughly even chance"
    for low, high, words in ICD203_BANDS:
        if low <= p < high:
            return words
    return ICD203_BANDS[-1][2]


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InputError("times must be timezone-aware datetimes", field=name, value=value)
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _finite(value: float, name: str) -> None:
    if not math.isfinite(value):
        raise InputError("must be a finite number", field=name, value=value)


def _lat_lon(lat_deg: float, lon_deg: float) -> None:
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError("latitude out of range [-90, 90]", field="lat_deg", value=lat_deg)
    if not -180.0 <= lon_deg <= 180.0:
        raise InputError("longitude out of range [-180, 180]", field="lon_deg", value=lon_deg)


@dataclass(frozen=True, slots=True)
class Confidence:
    """How likely the finding is real: ``probability`` (0-1) and how it was obtained
    (``basis``, e.g. ``"logistic(visits=5, detections=40)"``).  ``words`` are derived."""

    probability: float
    basis: str = ""

    def __post_init__(self) -> None:
        icd203_words(self.probability)  # validates the range
        object.__setattr__(self, "probability", float(self.probability))

    @property
    def words(self) -> str:
        """The ICD 203 words, e.g. ``"very likely"``."""
        return icd203_words(self.probability)

    @property
    def percent(self) -> int:
        """The probability in whole percent, for display next to the words."""
        return round(100 * self.probability)

    def __str__(self) -> str:
        return f"{self.words} ({self.percent} %)"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a finding rests on: tracks, detection count, sensors and the time span."""

    track_ids: tuple[int, ...]
    detection_count: int
    sensors: tuple[str, ...]
    first_utc: datetime
    last_utc: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "track_ids", tuple(sorted({int(t) for t in self.track_ids})))
        object.__setattr__(self, "sensors", tuple(sorted({str(s) for s in self.sensors})))
        first = _utc(self.first_utc, "first_utc")
        last = _utc(self.last_utc, "last_utc")
        if last < first:
            raise InputError("last_utc is before first_utc", field="last_utc", value=_iso(last))
        if self.detection_count < 0:
            raise InputError("must be >= 0", field="detection_count", value=self.detection_count)
        object.__setattr__(self, "first_utc", first)
        object.__setattr__(self, "last_utc", last)


def _profile(values: tuple[int, ...], n: int, name: str) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if len(out) != n or any(v < 0 for v in out):
        raise InputError(f"must be {n} non-negative counts", field=name, value=values)
    return out


@dataclass(frozen=True, slots=True)
class Site:
    """A place where vehicles repeatedly stop (a dwell site)."""

    id: str
    lat_deg: float
    lon_deg: float
    radius_m: float
    """Radius that holds the stops clustered into this site."""
    visit_count: int
    mean_dwell_s: float
    first_seen_utc: datetime
    last_seen_utc: datetime
    visits_by_hour: tuple[int, ...]
    """24 counts of visits by local hour of arrival (0 = midnight to 1 am)."""
    visits_by_weekday: tuple[int, ...]
    """7 counts of visits by local day of arrival, Monday first."""
    evidence: Evidence
    confidence: Confidence
    marking: Marking = field(default_factory=Marking)
    own_territory: bool = False

    def __post_init__(self) -> None:
        _lat_lon(self.lat_deg, self.lon_deg)
        _finite(self.radius_m, "radius_m")
        _finite(self.mean_dwell_s, "mean_dwell_s")
        object.__setattr__(self, "first_seen_utc", _utc(self.first_seen_utc, "first_seen_utc"))
        object.__setattr__(self, "last_seen_utc", _utc(self.last_seen_utc, "last_seen_utc"))
        object.__setattr__(
            self, "visits_by_hour", _profile(self.visits_by_hour, 24, "visits_by_hour")
        )
        object.__setattr__(
            self, "visits_by_weekday", _profile(self.visits_by_weekday, 7, "visits_by_weekday")
        )


@dataclass(frozen=True, slots=True)
class Corridor:
    """A route vehicles repeatedly travel: between sites and/or towards the border."""

    id: str
    path_lonlat_deg: tuple[tuple[float, float], ...]
    """The corridor's centre line as (lon_deg, lat_deg) pairs (GeoJSON order)."""
    traversal_count: int
    typical_speed_mps: float
    """Median speed of the traversals."""
    traversals_by_hour: tuple[int, ...]
    """24 counts of traversals by local hour of start."""
    from_site_id: str | None
    to_site_id: str | None
    border_lat_deg: float | None
    """The point on the border the corridor approaches (None: it does not approach it)."""
    border_lon_deg: float | None
    evidence: Evidence
    confidence: Confidence
    marking: Marking = field(default_factory=Marking)
    own_territory: bool = False
    observed_share: float | None = None
    """Share of the centre line within 300 m of the tracks it was drawn from; the rest was
    inferred (carried along roads, or bridged) across stretches no track covered.  None:
    not recorded (findings from before it was)."""

    def __post_init__(self) -> None:
        if self.observed_share is not None:
            _finite(self.observed_share, "observed_share")
            if not 0.0 <= self.observed_share <= 1.0:
                raise InputError(
                    "must be within 0..1", field="observed_share", value=self.observed_share
                )
        path = tuple((float(lon), float(lat)) for lon, lat in self.path_lonlat_deg)
        if len(path) < 2:
            raise InputError(
                "a corridor needs at least two points", field="path_lonlat_deg", value=len(path)
            )
        for lon, lat in path:
            _lat_lon(lat, lon)
        object.__setattr__(self, "path_lonlat_deg", path)
        _finite(self.typical_speed_mps, "typical_speed_mps")
        object.__setattr__(
            self, "traversals_by_hour", _profile(self.traversals_by_hour, 24, "traversals_by_hour")
        )
        if (self.border_lat_deg is None) != (self.border_lon_deg is None):
            raise InputError(
                "border_lat_deg and border_lon_deg are given together or not at all",
                field="border_lat_deg",
                value=self.border_lat_deg,
            )


@dataclass(frozen=True, slots=True)
class BorderApproach:
    """A track that ended (``"ended"``) or turned back (``"turned_back"``) near the border,
    away from a port of entry."""

    id: str
    time_utc: datetime
    lat_deg: float
    lon_deg: float
    border_distance_m: float
    kind: Literal["ended", "turned_back"]
    nearest_port: str
    nearest_port_distance_m: float
    track_id: int
    evidence: Evidence
    confidence: Confidence
    marking: Marking = field(default_factory=Marking)
    own_territory: bool = False

    def __post_init__(self) -> None:
        _lat_lon(self.lat_deg, self.lon_deg)
        _finite(self.border_distance_m, "border_distance_m")
        _finite(self.nearest_port_distance_m, "nearest_port_distance_m")
        if self.kind not in ("ended", "turned_back"):
            raise InputError("kind must be 'ended' or 'turned_back'", field="kind", value=self.kind)
        object.__setattr__(self, "time_utc", _utc(self.time_utc, "time_utc"))


@dataclass(frozen=True, slots=True)
class ChangeAlert:
    """Activity at a site or along a corridor (``subject_id``) departs from its baseline.

    Rates are events per day (per day the radar looked at the subject when the run says
    where it looked; the confidence's basis says which), over the hours of the local day
    that the baseline and the window both saw; ``observed_count`` events happened
    in the window where ``baseline_rate_per_day`` predicts fewer (``"increase"``) or more
    (``"decrease"``);
    ``p_value`` is the one-sided Poisson tail probability of a count at least that extreme.
    """

    id: str
    subject_id: str
    baseline_rate_per_day: float
    observed_rate_per_day: float
    observed_count: int
    window_start_utc: datetime
    window_end_utc: datetime
    direction: Literal["increase", "decrease"]
    p_value: float
    evidence: Evidence
    confidence: Confidence
    marking: Marking = field(default_factory=Marking)
    own_territory: bool = False
    activity: AlertActivity = "events"
    """What was counted: a site's ``visits``, a corridor's ``passes`` or its ``convoy
    passes`` (vehicles driving in company); ``events`` where a file did not say."""

    def __post_init__(self) -> None:
        if self.activity not in ALERT_ACTIVITIES:
            raise InputError(
                f"activity must be one of {', '.join(ALERT_ACTIVITIES)}",
                field="activity",
                value=self.activity,
            )
        _finite(self.baseline_rate_per_day, "baseline_rate_per_day")
        _finite(self.observed_rate_per_day, "observed_rate_per_day")
        if self.direction not in ("increase", "decrease"):
            raise InputError(
                "direction must be 'increase' or 'decrease'",
                field="direction",
                value=self.direction,
            )
        start = _utc(self.window_start_utc, "window_start_utc")
        end = _utc(self.window_end_utc, "window_end_utc")
        if end <= start:
            raise InputError("the window is empty", field="window_end_utc", value=_iso(end))
        object.__setattr__(self, "window_start_utc", start)
        object.__setattr__(self, "window_end_utc", end)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A publicly named organisation (public facts only).  ``fto_listed_on`` is the date the
    US Department of State listed it as a Foreign Terrorist Organization, or None."""

    name: str
    aliases: tuple[str, ...]
    fto_listed_on: date | None
    source: str
    """Where the facts come from (a public document)."""


@dataclass(frozen=True, slots=True)
class OrganisationLink:
    """An analyst's assertion that a finding relates to an organisation (never inferred)."""

    finding_id: str
    organisation: str
    confidence: Confidence
    note: str
    analyst: str
    asserted_utc: datetime
    marking: Marking = field(default_factory=Marking)
    own_territory: bool = False

    def __post_init__(self) -> None:
        if not self.analyst.strip():
            raise InputError("a link must name the analyst who asserts it", field="analyst")
        object.__setattr__(self, "asserted_utc", _utc(self.asserted_utc, "asserted_utc"))


Finding: TypeAlias = Site | Corridor | BorderApproach | ChangeAlert
"""Any finding with an id, evidence, confidence, marking and ``own_territory``."""


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything one analysis run concluded, with the run it came from."""

    run_id: str
    start_utc: datetime
    end_utc: datetime
    utc_offset_h: float = 0.0
    """Offset of the local clock used by the hour/day profiles."""
    sites: tuple[Site, ...] = ()
    corridors: tuple[Corridor, ...] = ()
    approaches: tuple[BorderApproach, ...] = ()
    alerts: tuple[ChangeAlert, ...] = ()
    links: tuple[OrganisationLink, ...] = ()
    organisations: tuple[Organisation, ...] = ()
    schema: str = FINDINGS_SCHEMA

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_utc", _utc(self.start_utc, "start_utc"))
        object.__setattr__(self, "end_utc", _utc(self.end_utc, "end_utc"))
        for name in ("sites", "corridors", "approaches", "alerts", "links", "organisations"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def all(self) -> tuple[Finding, ...]:
        """Every finding (sites, corridors, approaches, alerts) in that order."""
        return (*self.sites, *self.corridors, *self.approaches, *self.alerts)

    def by_id(self, finding_id: str) -> Finding:
        for item in self.all():
            if item.id == finding_id:
                return item
        raise InputError("no finding with this id", field="id", value=finding_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (ISO 8601 ``Z`` times, lists, no NaN); see :meth:`from_dict`."""
        return {
            "schema": self.schema,
            "run_id": self.run_id,
            "start_utc": _iso(self.start_utc),
            "end_utc": _iso(self.end_utc),
            "utc_offset_h": self.utc_offset_h,
            "sites": [_site_out(s) for s in self.sites],
            "corridors": [_corridor_out(c) for c in self.corridors],
            "approaches": [_approach_out(a) for a in self.approaches],
            "alerts": [_alert_out(a) for a in self.alerts],
            "links": [_link_out(k) for k in self.links],
            "organisations": [_org_out(o) for o in self.organisations],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> Findings:
        """Read :meth:`to_dict` output back; bad documents raise InputError naming the field."""
        r = _Reader(source)
        if not isinstance(data, dict):
            raise InputError("a findings document is a JSON object", source=source)
        schema = r.get(data, "schema", str)
        if schema != FINDINGS_SCHEMA:
            raise InputError(
                f"unsupported schema; expected {FINDINGS_SCHEMA}",
                source=source,
                field="schema",
                value=schema,
            )
        return cls(
            run_id=r.get(data, "run_id", str),
            start_utc=r.time(data, "start_utc"),
            end_utc=r.time(data, "end_utc"),
            utc_offset_h=float(r.get(data, "utc_offset_h", (int, float))),
            sites=tuple(r.each(data, "sites", _site_in)),
            corridors=tuple(r.each(data, "corridors", _corridor_in)),
            approaches=tuple(r.each(data, "approaches", _approach_in)),
            alerts=tuple(r.each(data, "alerts", _alert_in)),
            links=tuple(r.each(data, "links", _link_in)),
            organisations=tuple(r.each(data, "organisations", _org_in)),
        )


# --- serialisation helpers (private) -------------------------------------------------------


def _marking_out(m: Marking) -> dict[str, Any]:
    return {
        "classification": m.classification,
        "releasable_to": list(m.releasable_to),
        "banner": m.banner(),
    }


def _confidence_out(c: Confidence) -> dict[str, Any]:
    return {"probability": c.probability, "words": c.words, "basis": c.basis}


def _evidence_out(e: Evidence) -> dict[str, Any]:
    return {
        "track_ids": list(e.track_ids),
        "detection_count": e.detection_count,
        "sensors": list(e.sensors),
        "first_utc": _iso(e.first_utc),
        "last_utc": _iso(e.last_utc),
    }


def _common_out(f: Site | Corridor | BorderApproach | ChangeAlert) -> dict[str, Any]:
    return {
        "evidence": _evidence_out(f.evidence),
        "confidence": _confidence_out(f.confidence),
        "marking": _marking_out(f.marking),
        "own_territory": f.own_territory,
    }


def _site_out(s: Site) -> dict[str, Any]:
    return {
        "id": s.id,
        "lat_deg": s.lat_deg,
        "lon_deg": s.lon_deg,
        "radius_m": s.radius_m,
        "visit_count": s.visit_count,
        "mean_dwell_s": s.mean_dwell_s,
        "first_seen_utc": _iso(s.first_seen_utc),
        "last_seen_utc": _iso(s.last_seen_utc),
        "visits_by_hour": list(s.visits_by_hour),
        "visits_by_weekday": list(s.visits_by_weekday),
        **_common_out(s),
    }


def _corridor_out(c: Corridor) -> dict[str, Any]:
    return {
        "id": c.id,
        "path_lonlat_deg": [list(p) for p in c.path_lonlat_deg],
        "traversal_count": c.traversal_count,
        "typical_speed_mps": c.typical_speed_mps,
        "traversals_by_hour": list(c.traversals_by_hour),
        "from_site_id": c.from_site_id,
        "to_site_id": c.to_site_id,
        "border_lat_deg": c.border_lat_deg,
        "border_lon_deg": c.border_lon_deg,
        "observed_share": c.observed_share,
        **_common_out(c),
    }


def _approach_out(a: BorderApproach) -> dict[str, Any]:
    return {
        "id": a.id,
        "time_utc": _iso(a.time_utc),
        "lat_deg": a.lat_deg,
        "lon_deg": a.lon_deg,
        "border_distance_m": a.border_distance_m,
        "kind": a.kind,
        "nearest_port": a.nearest_port,
        "nearest_port_distance_m": a.nearest_port_distance_m,
        "track_id": a.track_id,
        **_common_out(a),
    }


def _alert_out(a: ChangeAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "subject_id": a.subject_id,
        "baseline_rate_per_day": a.baseline_rate_per_day,
        "observed_rate_per_day": a.observed_rate_per_day,
        "observed_count": a.observed_count,
        "window_start_utc": _iso(a.window_start_utc),
        "window_end_utc": _iso(a.window_end_utc),
        "direction": a.direction,
        "p_value": a.p_value,
        "activity": a.activity,
        **_common_out(a),
    }


def _link_out(k: OrganisationLink) -> dict[str, Any]:
    return {
        "finding_id": k.finding_id,
        "organisation": k.organisation,
        "confidence": _confidence_out(k.confidence),
        "note": k.note,
        "analyst": k.analyst,
        "asserted_utc": _iso(k.asserted_utc),
        "marking": _marking_out(k.marking),
        "own_territory": k.own_territory,
    }


def _org_out(o: Organisation) -> dict[str, Any]:
    return {
        "name": o.name,
        "aliases": list(o.aliases),
        "fto_listed_on": None if o.fto_listed_on is None else o.fto_listed_on.isoformat(),
        "source": o.source,
    }


class _Reader:
    """Typed access to a JSON object; every failure is an InputError naming the key path."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.path: list[str] = []

    def _fail(self, message: str, key: str, value: object = None) -> InputError:
        return InputError(
            message, source=self.source, field=".".join([*self.path, key]), value=value
        )

    def get(self, d: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in d:
            raise self._fail("missing", key)
        value = d[key]
        if isinstance(value, bool) and kind is not bool:
            raise self._fail("wrong type", key, value)
        if not isinstance(value, kind):
            raise self._fail("wrong type", key, value)
        return value

    def opt(self, d: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
        if d.get(key) is None:
            return None
        return self.get(d, key, kind)

    def num(self, d: dict[str, Any], key: str) -> float:
        return float(self.get(d, key, (int, float)))

    def time(self, d: dict[str, Any], key: str) -> datetime:
        text = self.get(d, key, str)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise self._fail("not an ISO 8601 time", key, text) from exc
        if value.utcoffset() is None:
            raise self._fail("time without a UTC offset", key, text)
        return value.astimezone(UTC)

    def ints(self, d: dict[str, Any], key: str) -> tuple[int, ...]:
        values = self.get(d, key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise self._fail("expected a list of integers", key, values)
        return tuple(values)

    def strs(self, d: dict[str, Any], key: str) -> tuple[str, ...]:
        values = self.get(d, key, list)
        if not all(isinstance(v, str) for v in values):
            raise self._fail("expected a list of strings", key, values)
        return tuple(values)

    def each(self, d: dict[str, Any], key: str, read: Any) -> list[Any]:
        items = self.get(d, key, list)
        out = []
        for i, item in enumerate(items):
            self.path.append(f"{key}[{i}]")
            try:
                if not isinstance(item, dict):
                    raise self._fail("expected an object", "", item)
                out.append(read(self, item))
            except InputError:
                raise
            except (KeyError, TypeError, ValueError) as exc:
                raise self._fail(str(exc), "") from exc
            finally:
                self.path.pop()
        return out

    def sub(self, d: dict[str, Any], key: str) -> dict[str, Any]:
        value: dict[str, Any] = self.get(d, key, dict)
        return value


def _marking_in(r: _Reader, d: dict[str, Any]) -> Marking:
    m = r.sub(d, "marking")
    return Marking(r.get(m, "classification", str), r.strs(m, "releasable_to"))


def _confidence_in(r: _Reader, d: dict[str, Any]) -> Confidence:
    c = r.sub(d, "confidence")
    return Confidence(r.num(c, "probability"), r.get(c, "basis", str))


def _evidence_in(r: _Reader, d: dict[str, Any]) -> Evidence:
    e = r.sub(d, "evidence")
    return Evidence(
        track_ids=r.ints(e, "track_ids"),
        detection_count=r.get(e, "detection_count", int),
        sensors=r.strs(e, "sensors"),
        first_utc=r.time(e, "first_utc"),
        last_utc=r.time(e, "last_utc"),
    )


def _common_in(r: _Reader, d: dict[str, Any]) -> dict[str, Any]:
    return {
        "evidence": _evidence_in(r, d),
        "confidence": _confidence_in(r, d),
        "marking": _marking_in(r, d),
        "own_territory": r.get(d, "own_territory", bool),
    }


def _site_in(r: _Reader, d: dict[str, Any]) -> Site:
    return Site(
        id=r.get(d, "id", str),
        lat_deg=r.num(d, "lat_deg"),
        lon_deg=r.num(d, "lon_deg"),
        radius_m=r.num(d, "radius_m"),
        visit_count=r.get(d, "visit_count", int),
        mean_dwell_s=r.num(d, "mean_dwell_s"),
        first_seen_utc=r.time(d, "first_seen_utc"),
        last_seen_utc=r.time(d, "last_seen_utc"),
        visits_by_hour=r.ints(d, "visits_by_hour"),
        visits_by_weekday=r.ints(d, "visits_by_weekday"),
        **_common_in(r, d),
    )


def _corridor_in(r: _Reader, d: dict[str, Any]) -> Corridor:
    raw = r.get(d, "path_lonlat_deg", list)
    try:
        path = tuple((float(p[0]), float(p[1])) for p in raw)
    except (TypeError, IndexError, ValueError) as exc:
        raise r._fail("expected [[lon, lat], ...]", "path_lonlat_deg", raw) from exc
    border_lat = r.opt(d, "border_lat_deg", (int, float))
    border_lon = r.opt(d, "border_lon_deg", (int, float))
    observed = r.opt(d, "observed_share", (int, float))
    return Corridor(
        id=r.get(d, "id", str),
        path_lonlat_deg=path,
        traversal_count=r.get(d, "traversal_count", int),
        typical_speed_mps=r.num(d, "typical_speed_mps"),
        traversals_by_hour=r.ints(d, "traversals_by_hour"),
        from_site_id=r.opt(d, "from_site_id", str),
        to_site_id=r.opt(d, "to_site_id", str),
        border_lat_deg=None if border_lat is None else float(border_lat),
        border_lon_deg=None if border_lon is None else float(border_lon),
        observed_share=None if observed is None else float(observed),
        **_common_in(r, d),
    )


def _approach_in(r: _Reader, d: dict[str, Any]) -> BorderApproach:
    return BorderApproach(
        id=r.get(d, "id", str),
        time_utc=r.time(d, "time_utc"),
        lat_deg=r.num(d, "lat_deg"),
        lon_deg=r.num(d, "lon_deg"),
        border_distance_m=r.num(d, "border_distance_m"),
        kind=r.get(d, "kind", str),
        nearest_port=r.get(d, "nearest_port", str),
        nearest_port_distance_m=r.num(d, "nearest_port_distance_m"),
        track_id=r.get(d, "track_id", int),
        **_common_in(r, d),
    )


def _alert_in(r: _Reader, d: dict[str, Any]) -> ChangeAlert:
    return ChangeAlert(
        id=r.get(d, "id", str),
        subject_id=r.get(d, "subject_id", str),
        baseline_rate_per_day=r.num(d, "baseline_rate_per_day"),
        observed_rate_per_day=r.num(d, "observed_rate_per_day"),
        observed_count=r.get(d, "observed_count", int),
        window_start_utc=r.time(d, "window_start_utc"),
        window_end_utc=r.time(d, "window_end_utc"),
        direction=r.get(d, "direction", str),
        p_value=r.num(d, "p_value"),
        activity=r.opt(d, "activity", str) or "events",
        **_common_in(r, d),
    )


def _link_in(r: _Reader, d: dict[str, Any]) -> OrganisationLink:
    return OrganisationLink(
        finding_id=r.get(d, "finding_id", str),
        organisation=r.get(d, "organisation", str),
        confidence=_confidence_in(r, d),
        note=r.get(d, "note", str),
        analyst=r.get(d, "analyst", str),
        asserted_utc=r.time(d, "asserted_utc"),
        marking=_marking_in(r, d),
        own_territory=r.get(d, "own_territory", bool),
    )


def _org_in(r: _Reader, d: dict[str, Any]) -> Organisation:
    listed = r.opt(d, "fto_listed_on", str)
    try:
        listed_on = None if listed is None else date.fromisoformat(listed)
    except ValueError as exc:
        raise r._fail("not an ISO 8601 date", "fto_listed_on", listed) from exc
    return Organisation(
        name=r.get(d, "name", str),
        aliases=r.strs(d, "aliases"),
        fto_listed_on=listed_on,
        source=r.get(d, "source", str),
    )
