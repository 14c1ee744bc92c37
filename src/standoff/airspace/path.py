"""Exact conformance of a flight path against forbidden airspace.

A path is a sequence of fixes joined by geodesic (great-ellipse) segments.  The check is
not sampled: the signed clearance s(p) (distance to the operator's forbidden region,
negative inside) is 1-Lipschitz along the path, so on a segment of length L with end values
a and b,

    (a + b - L) / 2  <=  s  <=  (a + b + L) / 2.

Every segment is split in halves until each piece is proven clear (lower bound at least
``margin + tolerance``), proven in violation (upper bound below it), or no longer than
``resolution_m``, where its exact end values decide.  Since ``resolution_m`` may not exceed
``tolerance_m``, every point closer than the margin is flagged (with tolerance/2 to spare)
and no point clear by ``margin + tolerance`` is: too close to call counts as forbidden.
Incursion ends are located to ``resolution_m`` along the path and their depth to
``resolution_m``; the only other error is the clearance itself, exact to well under a metre
(see ``_index.BoundaryIndex``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from standoff.airspace.model import DEFAULT_TOLERANCE_M, INTL, Airspace
from standoff.core.errors import InputError
from standoff.geo.geodesy import chord_to_geodesic_m, ecef_from_lonlat, geodesic_interpolate

__all__ = [
    "FlightPath",
    "GapInterval",
    "Incursion",
    "PathCheck",
    "check_path",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_MAX_GAP_S = 30.0
DEFAULT_RESOLUTION_M = 1.0
_MAX_DEPTH_ITER = 60
_MIN_RELATIVE_RESOLUTION = 1e-3


@dataclass(frozen=True)
class FlightPath:
    """Fixes of a path: longitude/latitude in degrees, optional times in seconds.

    ``time_s`` counts seconds from ``epoch`` (UTC) when both are given; a path without times
    is a planned route whose fixes are joined in order.
    """

    lon_deg: FloatArray
    lat_deg: FloatArray
    time_s: FloatArray | None = None
    epoch: datetime | None = None
    alt_m: FloatArray | None = None
    source: str = "path"

    def __post_init__(self) -> None:
        lon = np.asarray(self.lon_deg, dtype=np.float64).ravel()
        lat = np.asarray(self.lat_deg, dtype=np.float64).ravel()
        object.__setattr__(self, "lon_deg", lon)
        object.__setattr__(self, "lat_deg", lat)
        if len(lon) == 0:
            raise InputError("the path has no fixes", source=self.source)
        if len(lon) != len(lat):
            raise InputError("longitude and latitude counts differ", source=self.source)
        bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                "fix with a latitude outside ±90, a longitude outside ±180 or a NaN",
                source=self.source,
                row=i + 1,
                value=(float(lat[i]), float(lon[i])),
            )
        if self.time_s is not None:
            t = np.asarray(self.time_s, dtype=np.float64).ravel()
            object.__setattr__(self, "time_s", t)
            if len(t) != len(lon):
                raise InputError("time count differs from the fix count", source=self.source)
            if not np.all(np.isfinite(t)):
                i = int(np.flatnonzero(~np.isfinite(t))[0])
                raise InputError(
                    "time is not a number", source=self.source, row=i + 1, field="time"
                )
            dec = np.flatnonzero(np.diff(t) < 0)
            if len(dec):
                i = int(dec[0]) + 1
                raise InputError(
                    "times must not decrease",
                    source=self.source,
                    row=i + 1,
                    field="time",
                    value=float(t[i]),
                )
        if self.epoch is not None and self.epoch.utcoffset() != timedelta(0):
            raise InputError(
                "the epoch must be a UTC datetime", source=self.source, value=str(self.epoch)
            )

    @property
    def timed(self) -> bool:
        return self.time_s is not None

    def __len__(self) -> int:
        return len(self.lon_deg)

    def at_utc(self, t_s: float | None) -> datetime | None:
        if t_s is None or self.epoch is None:
            return None
        return self.epoch + timedelta(seconds=float(t_s))


@dataclass(frozen=True)
class Incursion:
    """One maximal stretch of the path closer than the margin to forbidden airspace."""

    airspace: str
    """Forbidden area concerned: ISO3 code, ``NFZ:<name>`` or ``OUTSIDE_DATA``."""
    entered: bool
    """True when the path went into the area itself, not only into the margin."""
    certain: bool
    """False when the stretch lies wholly within the tolerance band (too close to call)."""
    entry_lon_deg: float
    entry_lat_deg: float
    exit_lon_deg: float
    exit_lat_deg: float
    deepest_lon_deg: float
    deepest_lat_deg: float
    length_m: float
    max_depth_m: float
    """Greatest distance inside the forbidden area (0 when it only entered the margin)."""
    min_clearance_m: float
    """Smallest signed clearance on the stretch (negative inside the area)."""
    entry_time_s: float | None = None
    exit_time_s: float | None = None
    entry_utc: datetime | None = None
    exit_utc: datetime | None = None
    order: float = field(default=0.0, repr=False, compare=False)
    """Position along the path (segment index plus fraction), for sorting."""

    @property
    def duration_s(self) -> float | None:
        if self.entry_time_s is None or self.exit_time_s is None:
            return None
        return self.exit_time_s - self.entry_time_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "airspace": self.airspace,
            "entered": self.entered,
            "certain": self.certain,
            "entry": {
                "lat": self.entry_lat_deg,
                "lon": self.entry_lon_deg,
                "time": _iso(self.entry_utc),
                "time_s": self.entry_time_s,
            },
            "exit": {
                "lat": self.exit_lat_deg,
                "lon": self.exit_lon_deg,
                "time": _iso(self.exit_utc),
                "time_s": self.exit_time_s,
            },
            "deepest": {"lat": self.deepest_lat_deg, "lon": self.deepest_lon_deg},
            "duration_s": self.duration_s,
            "length_m": round(self.length_m, 2),
            "max_depth_m": round(self.max_depth_m, 2),
            "min_clearance_m": round(self.min_clearance_m, 2),
        }


@dataclass(frozen=True)
class GapInterval:
    """A stretch between two timed fixes too far apart in time to know where the aircraft was."""

    start_lon_deg: float
    start_lat_deg: float
    end_lon_deg: float
    end_lat_deg: float
    start_time_s: float
    end_time_s: float
    start_utc: datetime | None = None
    end_utc: datetime | None = None

    @property
    def gap_s(self) -> float:
        return self.end_time_s - self.start_time_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": {
                "lat": self.start_lat_deg,
                "lon": self.start_lon_deg,
                "time": _iso(self.start_utc),
                "time_s": self.start_time_s,
            },
            "end": {
                "lat": self.end_lat_deg,
                "lon": self.end_lon_deg,
                "time": _iso(self.end_utc),
                "time_s": self.end_time_s,
            },
            "gap_s": self.gap_s,
        }


Status = Literal["conformant", "non_conformant", "unknown"]


@dataclass(frozen=True)
class PathCheck:
    """The result of :func:`check_path`."""

    operator: str
    margin_m: float
    tolerance_m: float
    resolution_m: float
    max_gap_s: float
    fixes: int
    length_m: float
    min_clearance_m: float
    """Smallest signed clearance at any point of the path's known stretches (not only fixes)."""
    incursions: tuple[Incursion, ...] = ()
    gaps: tuple[GapInterval, ...] = ()
    airspace_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if self.incursions:
            return "non_conformant"
        if self.gaps:
            return "unknown"
        return "conformant"

    @property
    def conformant(self) -> bool:
        return self.status == "conformant"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "conformant": self.conformant,
            "operator": self.operator,
            "margin_m": self.margin_m,
            "tolerance_m": self.tolerance_m,
            "resolution_m": self.resolution_m,
            "max_gap_s": self.max_gap_s,
            "fixes": self.fixes,
            "length_m": round(self.length_m, 2),
            "min_clearance_m": round(self.min_clearance_m, 2),
            "incursions": [i.to_dict() for i in self.incursions],
            "unknown_gaps": [g.to_dict() for g in self.gaps],
            "airspace_sha256": self.airspace_sha256,
            "edges": "geodesic segments between fixes",
        }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _segment_lengths_m(lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Upper bounds (within 1e-9 relative) of the geodesic lengths between consecutive fixes."""
    xyz = ecef_from_lonlat(lon, lat)
    chord = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    mid_lat = 0.5 * (lat[1:] + lat[:-1])
    return chord_to_geodesic_m(chord, mid_lat) * (1.0 + 1e-6) + 1e-3


@dataclass
class _Pieces:
    """Pieces of segments: segment index, start/end fractions, end values, lengths."""

    seg: IntArray
    f0: FloatArray
    f1: FloatArray
    s0: FloatArray
    s1: FloatArray
    length: FloatArray

    def take(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> _Pieces:
        return _Pieces(
            self.seg[mask],
            self.f0[mask],
            self.f1[mask],
            self.s0[mask],
            self.s1[mask],
            self.length[mask],
        )

    @staticmethod
    def concat(parts: list[_Pieces]) -> _Pieces:
        return _Pieces(
            *(
                np.concatenate([getattr(p, k) for p in parts])
                for k in ("seg", "f0", "f1", "s0", "s1", "length")
            )
        )

    def __len__(self) -> int:
        return len(self.seg)


class _Evaluator:
    def __init__(self, airspace: Airspace, operator: str, lon: FloatArray, lat: FloatArray) -> None:
        self.airspace = airspace
        self.operator = operator
        self.lon = lon
        self.lat = lat

    def points(self, seg: IntArray, frac: FloatArray) -> tuple[FloatArray, FloatArray]:
        return geodesic_interpolate(
            self.lon[seg], self.lat[seg], self.lon[seg + 1], self.lat[seg + 1], frac
        )

    def signed(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, IntArray]:
        s, label, _ = self.airspace._signed_clearance(lon, lat, self.operator)
        return s, label

    def split(self, p: _Pieces) -> _Pieces:
        fm = 0.5 * (p.f0 + p.f1)
        lon, lat = self.points(p.seg, fm)
        sm, _ = self.signed(lon, lat)
        half = 0.5 * p.length
        return _Pieces(
            np.concatenate([p.seg, p.seg]),
            np.concatenate([p.f0, fm]),
            np.concatenate([fm, p.f1]),
            np.concatenate([p.s0, sm]),
            np.concatenate([sm, p.s1]),
            np.concatenate([half, half]),
        )


def check_path(
    airspace: Airspace,
    path: FlightPath,
    operator: str,
    margin_m: float = 0.0,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    resolution_m: float = DEFAULT_RESOLUTION_M,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> PathCheck:
    """Check every point of ``path`` against ``operator``'s forbidden airspace plus ``margin_m``.

    Returns each incursion (entry and exit points, times when the path is timed, duration,
    maximum depth, the airspace entered) and each gap between timed fixes longer than
    ``max_gap_s``, which makes the result ``unknown`` rather than conformant.
    """
    if not np.isfinite(margin_m) or margin_m < 0:
        raise InputError(
            "margin must be a non-negative number of metres", field="margin_m", value=margin_m
        )
    if not tolerance_m > 0 or not resolution_m > 0 or not max_gap_s > 0:
        raise InputError("tolerance, resolution and max gap must be positive")
    if resolution_m > tolerance_m:
        raise InputError(
            "resolution must not exceed the tolerance",
            field="resolution_m",
            value=resolution_m,
        )
    airspace.check_operator(operator)
    lon, lat = airspace._coords(path.lon_deg, path.lat_deg, path.source)
    threshold = margin_m + tolerance_m
    ev = _Evaluator(airspace, operator, lon, lat)
    n = len(lon)
    # Cheap certified lower bounds first; exact values only where they cannot settle a segment.
    s_fix = airspace._signed_lower_bound(lon, lat, operator)
    near = s_fix < threshold
    if n > 1:
        bound_len = _segment_lengths_m(lon, lat)
        unsettled = 0.5 * (s_fix[:-1] + s_fix[1:] - bound_len) < threshold
        near[:-1] |= unsettled
        near[1:] |= unsettled
    if near.any():
        s_fix[near], _ = ev.signed(lon[near], lat[near])
    gaps: list[GapInterval] = []
    if n == 1:
        seg_len = np.zeros(0)
        segs = np.zeros(0, dtype=np.int64)
    else:
        seg_len = bound_len
        segs = np.arange(n - 1)
        if path.time_s is not None:
            dt = np.diff(path.time_s)
            gap_mask = dt > max_gap_s
            for i in np.flatnonzero(gap_mask):
                gaps.append(
                    GapInterval(
                        float(lon[i]),
                        float(lat[i]),
                        float(lon[i + 1]),
                        float(lat[i + 1]),
                        float(path.time_s[i]),
                        float(path.time_s[i + 1]),
                        path.at_utc(float(path.time_s[i])),
                        path.at_utc(float(path.time_s[i + 1])),
                    )
                )
            segs = segs[~gap_mask]
    pieces = _Pieces(
        segs, np.zeros(len(segs)), np.ones(len(segs)), s_fix[segs], s_fix[segs + 1], seg_len[segs]
    )
    clear: list[_Pieces] = []
    bad: list[_Pieces] = []
    while len(pieces):
        lower = 0.5 * (pieces.s0 + pieces.s1 - pieces.length)
        upper = 0.5 * (pieces.s0 + pieces.s1 + pieces.length)
        is_clear = lower >= threshold
        # At the resolution limit the exact end values decide: a dip between them is at most
        # resolution/2 deep, which the tolerance band (>= resolution) absorbs.
        at_limit = (pieces.length <= resolution_m) & ~is_clear
        is_clear |= at_limit & (np.minimum(pieces.s0, pieces.s1) >= threshold)
        is_bad = (upper < threshold) | (at_limit & ~is_clear)
        clear.append(pieces.take(is_clear))
        bad.append(pieces.take(is_bad))
        rest = pieces.take(~is_clear & ~is_bad)
        pieces = ev.split(rest) if len(rest) else rest
    # A lone fix (a one-fix path, or a fix between two gaps) is checked on its own.
    lone = np.ones(n, dtype=bool)
    if len(segs):
        lone[segs] = False
        lone[segs + 1] = False
    lone_bad = np.flatnonzero(lone & (s_fix < threshold))
    all_bad = _Pieces.concat(bad) if bad else pieces
    incursions = _incursions(ev, path, all_bad, margin_m, tolerance_m, resolution_m)
    incursions += [
        _fix_incursion(ev, path, int(i), float(s_fix[i]), margin_m, tolerance_m) for i in lone_bad
    ]
    incursions.sort(key=lambda inc: inc.order)
    if incursions:
        min_clear = min(i.min_clearance_m for i in incursions)
    else:
        min_clear = _clear_minimum(ev, s_fix, near, segs, seg_len, lone, resolution_m)
    return PathCheck(
        operator=operator.upper(),
        margin_m=float(margin_m),
        tolerance_m=float(tolerance_m),
        resolution_m=float(resolution_m),
        max_gap_s=float(max_gap_s),
        fixes=n,
        length_m=float(seg_len.sum()),
        min_clearance_m=min_clear,
        incursions=tuple(incursions),
        gaps=tuple(gaps),
        airspace_sha256=airspace.data_sha256,
    )


def _incursions(
    ev: _Evaluator,
    path: FlightPath,
    bad: _Pieces,
    margin_m: float,
    tolerance_m: float,
    resolution_m: float,
) -> list[Incursion]:
    """Join the violating pieces that touch along the path into incursions."""
    if len(bad) == 0:
        return []
    b = bad.take(np.lexsort((bad.f0, bad.seg)))
    pos0 = b.seg + b.f0
    pos1 = b.seg + b.f1
    new = np.ones(len(b), dtype=bool)
    new[1:] = ~np.isclose(pos0[1:], pos1[:-1], rtol=0.0, atol=1e-12)
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [len(b)]]) - 1
    min_s, deep_lon, deep_lat = _min_signed(ev, b, group, len(starts), resolution_m)
    lon_e, lat_e = ev.points(b.seg[starts], b.f0[starts])
    lon_x, lat_x = ev.points(b.seg[ends], b.f1[ends])
    lengths = np.bincount(group, weights=b.length, minlength=len(starts))
    names = _area_names(ev, deep_lon, deep_lat, min_s)
    t = path.time_s
    out: list[Incursion] = []
    for g, (s, e) in enumerate(zip(starts, ends, strict=True)):
        t0 = t1 = None
        if t is not None:
            seg0, seg1 = int(b.seg[s]), int(b.seg[e])
            t0 = float(t[seg0] + b.f0[s] * (t[seg0 + 1] - t[seg0]))
            t1 = float(t[seg1] + b.f1[e] * (t[seg1 + 1] - t[seg1]))
        depth = float(min_s[g])
        out.append(
            Incursion(
                airspace=names[g],
                entered=depth < 0,
                certain=depth < margin_m - tolerance_m,
                entry_lon_deg=float(lon_e[g]),
                entry_lat_deg=float(lat_e[g]),
                exit_lon_deg=float(lon_x[g]),
                exit_lat_deg=float(lat_x[g]),
                deepest_lon_deg=float(deep_lon[g]),
                deepest_lat_deg=float(deep_lat[g]),
                length_m=float(lengths[g]),
                max_depth_m=max(0.0, -depth),
                min_clearance_m=depth,
                entry_time_s=t0,
                exit_time_s=t1,
                entry_utc=path.at_utc(t0),
                exit_utc=path.at_utc(t1),
                order=float(b.seg[s] + b.f0[s]),
            )
        )
    return out


def _fix_incursion(
    ev: _Evaluator, path: FlightPath, fix: int, signed: float, margin_m: float, tolerance_m: float
) -> Incursion:
    """A lone fix (no segment on either side) that is closer than the margin."""
    lon, lat = float(ev.lon[fix]), float(ev.lat[fix])
    t = None if path.time_s is None else float(path.time_s[fix])
    return Incursion(
        airspace=_area_names(ev, np.asarray([lon]), np.asarray([lat]), np.asarray([signed]))[0],
        entered=signed < 0,
        certain=signed < margin_m - tolerance_m,
        entry_lon_deg=lon,
        entry_lat_deg=lat,
        exit_lon_deg=lon,
        exit_lat_deg=lat,
        deepest_lon_deg=lon,
        deepest_lat_deg=lat,
        length_m=0.0,
        max_depth_m=max(0.0, -signed),
        min_clearance_m=signed,
        entry_time_s=t,
        exit_time_s=t,
        entry_utc=path.at_utc(t),
        exit_utc=path.at_utc(t),
        order=float(fix),
    )


def _area_names(ev: _Evaluator, lon: FloatArray, lat: FloatArray, signed: FloatArray) -> list[str]:
    """The forbidden area each point is in (when inside) or nearest to (when in the margin)."""
    _, label = ev.signed(lon, lat)
    names = np.asarray(ev.airspace._forbidden_model(ev.operator).label_names, dtype=object)[label]
    zone = ev.airspace.zone_at(lon, lat)
    owner = ev.airspace.owner_at(lon, lat)
    out: list[str] = []
    for i in range(len(lon)):
        name = str(names[i])
        if signed[i] < 0:
            if zone[i] >= 0:
                name = f"NFZ:{ev.airspace.no_fly_zones[int(zone[i])].name}"
            elif owner[i] not in (INTL, ev.operator.upper()):
                name = str(owner[i])
        out.append(name)
    return out


def _clear_minimum(
    ev: _Evaluator,
    s_fix: FloatArray,
    exact: npt.NDArray[np.bool_],
    segs: IntArray,
    seg_len: FloatArray,
    lone: npt.NDArray[np.bool_],
    resolution_m: float,
) -> float:
    """Smallest signed clearance over the known part of a path with no incursion.

    ``s_fix`` holds exact values where ``exact`` and lower bounds elsewhere.  Fixes whose
    bound is below the best exact value are made exact, then segments that may dip below it
    are refined by branch and bound, so the answer is exact to ``resolution_m`` or 0.1 % of
    its value, whichever is larger.
    """
    s_fix = s_fix.copy()
    exact = exact.copy()
    used = ~lone if len(segs) else np.ones(len(s_fix), dtype=bool)
    if not exact[used].any():
        first = int(np.flatnonzero(used)[np.argmin(s_fix[used])])
        s_fix[first] = ev.signed(ev.lon[first : first + 1], ev.lat[first : first + 1])[0][0]
        exact[first] = True
    while True:
        best = float(np.min(s_fix[used & exact]))
        todo = np.flatnonzero(used & ~exact & (s_fix < best))
        if not len(todo):
            break
        s_fix[todo], _ = ev.signed(ev.lon[todo], ev.lat[todo])
        exact[todo] = True
    if not len(segs):
        return best
    resolution_m = max(resolution_m, _MIN_RELATIVE_RESOLUTION * abs(best))
    lower = 0.5 * (s_fix[segs] + s_fix[segs + 1] - seg_len[segs])
    pick = segs[lower < best - resolution_m]
    if not len(pick):
        return best
    pieces = _Pieces(
        pick, np.zeros(len(pick)), np.ones(len(pick)), s_fix[pick], s_fix[pick + 1], seg_len[pick]
    )
    low, _, _ = _min_signed(ev, pieces, np.zeros(len(pick), dtype=np.int64), 1, resolution_m)
    return min(best, float(low[0]))


def _min_signed(
    ev: _Evaluator, pieces: _Pieces, group: IntArray, groups: int, resolution_m: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Smallest signed clearance of each group of pieces, to ``resolution_m`` (branch and bound)."""
    best = np.full(groups, np.inf)
    best_seg = np.zeros(groups, dtype=np.int64)
    best_f = np.zeros(groups)

    def offer(p: _Pieces, g: IntArray) -> None:
        for vals, fr in ((p.s0, p.f0), (p.s1, p.f1)):
            order = np.lexsort((vals, g))
            first = np.ones(len(order), dtype=bool)
            first[1:] = g[order][1:] != g[order][:-1]
            gi = g[order][first]
            vi = vals[order][first]
            better = vi < best[gi]
            best[gi[better]] = vi[better]
            best_seg[gi[better]] = p.seg[order][first][better]
            best_f[gi[better]] = fr[order][first][better]

    offer(pieces, group)
    for _ in range(_MAX_DEPTH_ITER):
        lower = 0.5 * (pieces.s0 + pieces.s1 - pieces.length)
        keep = (lower < best[group] - resolution_m) & (pieces.length > resolution_m)
        if not keep.any():
            break
        kept = pieces.take(keep)
        pieces = ev.split(kept)
        group = np.concatenate([group[keep], group[keep]])
        offer(pieces, group)
    lon, lat = ev.points(best_seg, best_f)
    return best, lon, lat
