"""Dwell sites: places where vehicles stop, found across tracks and days.

A moving-target radar (GMTI) cannot see a stopped vehicle, so a stop rarely shows as a track
standing still.  Three kinds of *stop evidence* are gathered, all vectorised:

1. **track stops**: a track that stays within ``stop_diameter_m`` for ``min_dwell_s``
   (:func:`~standoff.intel.stops.detect_stops` on observed rows);
2. **out-and-back gaps**: a track ends and, ``min_dwell_s`` to ``max_dwell_s`` later, another
   track starts within ``pair_radius_m`` heading back the way the first came
   (cosine of the two velocities <= ``reverse_cos``): a vehicle went somewhere, stayed, and
   left (the two tracks need not be the same vehicle: at a dead end, every arrival heads in
   and every departure heads out);
3. **stationary sightings**: detections from sensors that see stopped vehicles (EO/IR, no
   minimum detectable velocity) that are *repeated*: another sighting lies within
   ``still_radius_m`` at a different look ``min_look_gap_s`` to ``max_dwell_s`` apart (a parked
   vehicle is seen again where it was; a passing one has moved hundreds of metres by the next
   look), counted once per ``sighting_bin_s``; a sighting a track took while moving faster
   than ``moving_mps`` is left out (two cars passing one spot of a road at different looks
   are not a parked one).

Sightings are precise (EO/IR noise is metres), stop evidence from a moving-target radar is not
(a track ends where the vehicle slowed below the radar's minimum detectable velocity or was
last detected, often hundreds of metres before it stopped).  So sites are built in two steps:

* stationary sightings closer than ``sighting_eps_m`` (the size of a compound) are joined;
  each such group is an *anchor* placed at the median of its sightings;
* every visit (1, 2) within ``attach_m`` of an anchor is attached to the nearest anchor; the
  other visits closer than ``cluster_eps_m`` are joined (single linkage) and placed at the
  densest point of their evidence.

A group with at least ``min_visits`` visits (1 + 2) or sighting bins becomes a
:class:`~standoff.domain.findings.Site` when its confidence is above ``min_confidence``
("likely" or better).

Over several nights (sorties, :attr:`RunInfo.sorties`) evidence is weighed per night: the
counts below are those of the mean night the radar looked at the place, and sightings and
visits are joined night by night before the nights are joined (see :func:`_by_night`), so a
busy junction watched four nights is not four times the evidence of one night, and denser
evidence does not chain neighbouring places into one.

Confidence: ``logistic(-3.5 + 1.6 ln(1+visits) + 1.4 ln(1+sightings) + 0.4 ln(1+tracks))`` —
one out-and-back visit alone reads "very unlikely" (0.18 with its two tracks), four visits
"roughly even chance" (coverage gaps look alike), EO/IR sightings make it "very likely".
Repeated sightings alone (the radar saw no arrival or departure) reach "likely" from 14
sighting bins (ten-minute bins in which a parked vehicle was seen again).  The sightings
weight was 1.2 until the analysis was scored over many worlds
(``benchmarks/bench_intel_accuracy.py``): chosen on 12 worlds and checked on 12 others
(seeds 100-111), 1.4 raised site recall there from 0.54 to 0.75 and precision from 0.71 to
0.73; 2.0 reached recall 0.85 at precision 0.70 (precision is preferred: a false site
points an analyst at a place nobody uses).

With the run's road map, a place within ``junction_m`` of a road junction (three or more
roads meeting) adds ``junction_weight`` (-3) to the logistic, named in the basis ("-3 at a
road junction"): passing traffic rests where roads meet, and a camera cued at a site sees
the junction down its access road, so parked vehicles there are explained without a site.
Of the 16 false sites reported over 24 four-night benchmark worlds, 8 were such junctions
250-900 m from a true site, with evidence like a true site's (of 82 true sites, one was
within 30 m of a junction); the term took
four-night precision from 0.87 to 0.97 (held out 0.85 to 0.88) and lost one true site in
48 worlds, found 128 m off at the junction of its short access road (see
``benchmarks/README.md``).  A site truly at a crossroads needs correspondingly more
evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from standoff.domain.findings import Evidence, Site
from standoff.domain.marking import Marking
from standoff.intel.confidence import logistic_confidence
from standoff.intel.io import DetectionTable, RunInfo, ScanTable, TrackTable
from standoff.intel.pattern import local_profiles
from standoff.intel.roads import RoadMap
from standoff.intel.stops import cluster_points, cosines, detect_stops

__all__ = ["SiteParams", "StopEvents", "find_sites", "stop_events", "track_ends"]

_UNCLASSIFIED = Marking()


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TRACK_STOP, GAP_STOP, SIGHTING = 0, 1, 2


@dataclass(frozen=True)
class SiteParams:
    stop_diameter_m: float = 150.0
    min_dwell_s: float = 120.0
    max_dwell_s: float = 4 * 3600.0
    pair_radius_m: float = 300.0
    reverse_cos: float = -0.5
    cluster_eps_m: float = 200.0
    min_visits: int = 2
    min_confidence: float = 0.55
    """A site is reported when it is at least "likely" (ICD 203: above 0.55); radar-only
    stop evidence at "roughly even chance" is a coverage gap as often as a place."""
    stationary_sensors: tuple[str, ...] = ("eoir",)
    sighting_bin_s: float = 600.0
    still_radius_m: float = 30.0
    """A repeated sighting within this is the same parked vehicle: EO/IR noise (5 m) x 4
    plus a vehicle's length."""
    min_look_gap_s: float = 30.0
    """Two sightings this far apart in time come from different looks."""
    moving_mps: float = 3.0
    """A sighting a track took at more than this is of a moving vehicle."""
    sighting_eps_m: float = 150.0
    """Parked vehicles of one site (a compound, a yard, its lot) lie within this of each
    other."""
    attach_m: float = 600.0
    """Radar stop evidence within this of an anchor belongs to it: a vehicle at 10 m/s
    with a detection every 30-60 s is last seen up to ~600 m before it stops."""
    junction_m: float = 30.0
    """A place within this of a road junction (of the run's road map) is "at a road
    junction": EO/IR noise (5 m) x 4 plus half a road's width."""
    junction_weight: float = -3.0
    """What being at a road junction adds to the confidence's logistic: passing traffic
    stops where roads meet, so the evidence there is explained without a site."""


@dataclass(frozen=True)
class TrackEnds:
    """First and last observed row of every track."""

    track_id: IntArray
    start_s: FloatArray
    start_x_m: FloatArray
    start_y_m: FloatArray
    start_vx_mps: FloatArray
    start_vy_mps: FloatArray
    end_s: FloatArray
    end_x_m: FloatArray
    end_y_m: FloatArray
    end_vx_mps: FloatArray
    end_vy_mps: FloatArray
    n_obs: IntArray


def track_ends(tracks: TrackTable) -> TrackEnds:
    obs = tracks.select(tracks.observed)
    ids = obs.track_id
    if len(ids) == 0:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return TrackEnds(zi, z, z, z, z, z, z, z, z, z, z, zi)
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(ids) - 1]
    return TrackEnds(
        ids[first], obs.t_s[first], obs.x_m[first], obs.y_m[first], obs.vx_mps[first],
        obs.vy_mps[first], obs.t_s[last], obs.x_m[last], obs.y_m[last], obs.vx_mps[last],
        obs.vy_mps[last], (last - first + 1).astype(np.int64),
    )  # fmt: skip


@dataclass(frozen=True)
class StopEvents:
    """Stop evidence, one element per event (see the module docstring for the kinds)."""

    kind: IntArray
    x_m: FloatArray
    y_m: FloatArray
    arrive_s: FloatArray
    leave_s: FloatArray
    track_a: IntArray
    """Track that arrived (or stopped), -1 for a sighting."""
    track_b: IntArray
    """Track that left (gap stops), else -1."""
    detections: IntArray

    def __len__(self) -> int:
        return int(self.kind.shape[0])


def _gap_pairs(ends: TrackEnds, p: SiteParams) -> tuple[IntArray, IntArray]:
    if len(ends.track_id) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = cKDTree(np.column_stack([ends.end_x_m, ends.end_y_m]))
    b = cKDTree(np.column_stack([ends.start_x_m, ends.start_y_m]))
    m = a.sparse_distance_matrix(b, p.pair_radius_m, output_type="ndarray")
    i, j = m["i"].astype(np.int64), m["j"].astype(np.int64)
    gap = ends.start_s[j] - ends.end_s[i]
    ve = np.column_stack([ends.end_vx_mps[i], ends.end_vy_mps[i]])
    vs = np.column_stack([ends.start_vx_mps[j], ends.start_vy_mps[j]])
    cos = cosines(ve, vs)
    ok = (i != j) & (gap >= p.min_dwell_s) & (gap <= p.max_dwell_s) & (cos <= p.reverse_cos)
    i, j, gap = i[ok], j[ok], gap[ok]
    # One departure per arrival and vice versa: shortest gaps first.
    order = np.argsort(gap, kind="stable")
    i, j = i[order], j[order]
    _, keep_i = np.unique(i, return_index=True)
    i, j = i[np.sort(keep_i)], j[np.sort(keep_i)]
    _, keep_j = np.unique(j, return_index=True)
    return i[np.sort(keep_j)], j[np.sort(keep_j)]


def _stationary(
    detections: DetectionTable, p: SiteParams, tracks: TrackTable | None = None
) -> npt.NDArray[np.bool_]:
    """Detections of a stationary-capable sensor seen again within ``still_radius_m`` at
    another look ``min_look_gap_s``..``max_dwell_s`` later or earlier, leaving out those a
    track was moving at over ``moving_mps`` when it took them (two passing vehicles seen at
    one spot of a road at different looks are not a parked one)."""
    still = np.isin(detections.sensor, np.asarray(p.stationary_sensors, dtype=str))
    if tracks is not None and len(tracks):
        fast = np.hypot(tracks.vx_mps, tracks.vy_mps) > p.moving_mps
        still &= ~np.isin(detections.det_id, tracks.det_id[fast])
    cand = np.flatnonzero(still)
    out = np.zeros(len(detections), dtype=bool)
    if len(cand) < 2:
        return out
    xy = np.column_stack([detections.x_m[cand], detections.y_m[cand]])
    pairs = cKDTree(xy).query_pairs(p.still_radius_m, output_type="ndarray")
    dt = np.abs(detections.t_s[cand[pairs[:, 0]]] - detections.t_s[cand[pairs[:, 1]]])
    ok = (dt >= p.min_look_gap_s) & (dt <= p.max_dwell_s)
    out[cand[pairs[ok].ravel()]] = True
    return out


def _medians(label: IntArray, v: FloatArray) -> FloatArray:
    """The median of ``v`` within each label 0..k-1 (every label present), vectorised."""
    order = np.lexsort((v, label))
    count = np.bincount(label)
    start = np.r_[0, np.cumsum(count)[:-1]]
    s = v[order]
    return np.asarray((s[start + (count - 1) // 2] + s[start + count // 2]) / 2.0)


def _by_night(x_m: FloatArray, y_m: FloatArray, night: IntArray, eps_m: float) -> IntArray:
    """:func:`cluster_points` within each night, then each night's clusters joined to those
    of other nights whose centres lie within ``eps_m``: a place's evidence builds up night
    by night, and denser evidence over many nights does not chain neighbouring places into
    one (single linkage joins anything closer than ``eps_m``, and more points are closer).
    A night's cluster is placed at its median, as a site is: a cluster that chained from a
    place along a road has its mean off the place and its median on it, so it still joins
    the place's other nights (with means, one parking place became two sites 13 m apart)."""
    nights = np.unique(night)
    if len(nights) <= 1:
        return cluster_points(x_m, y_m, eps_m)
    label = np.empty(len(x_m), dtype=np.int64)
    k = 0
    for n in nights:  # a loop over nights (sorties), not points
        m = night == n
        lab = cluster_points(x_m[m], y_m[m], eps_m)
        label[m] = lab + k
        k += int(lab.max()) + 1
    return cluster_points(_medians(label, x_m), _medians(label, y_m), eps_m)[label]


def _group(ev: StopEvents, p: SiteParams, night: IntArray) -> IntArray:
    """Group label of every event: anchors (stationary sightings) first, then radar visits
    attached to the nearest anchor within ``attach_m``, then the remaining visits joined;
    sightings and visits are joined night by night (``night``: each event's watch period),
    see :func:`_by_night`."""
    label = np.full(len(ev), -1, dtype=np.int64)
    sight = np.flatnonzero(ev.kind == SIGHTING)
    visit = np.flatnonzero(ev.kind != SIGHTING)
    k = 0
    if len(sight):
        lab = _by_night(ev.x_m[sight], ev.y_m[sight], night[sight], p.sighting_eps_m)
        label[sight] = lab
        k = int(lab.max()) + 1
        ax = np.bincount(lab, weights=ev.x_m[sight]) / np.bincount(lab)
        ay = np.bincount(lab, weights=ev.y_m[sight]) / np.bincount(lab)
        if len(visit):
            # Each visit goes to the nearest stopping place within attach_m.
            m = cKDTree(np.column_stack([ev.x_m[visit], ev.y_m[visit]])).sparse_distance_matrix(
                cKDTree(np.column_stack([ax, ay])), p.attach_m, output_type="ndarray"
            )
            vi, ai, dist = m["i"].astype(np.int64), m["j"].astype(np.int64), m["v"]
            order = np.lexsort((dist, vi))
            vi, ai = vi[order], ai[order]
            first = np.r_[True, vi[1:] != vi[:-1]][: len(vi)]
            label[visit[vi[first]]] = ai[first]
            visit = visit[label[visit] < 0]
    if len(visit):
        label[visit] = k + _by_night(ev.x_m[visit], ev.y_m[visit], night[visit], p.cluster_eps_m)
    return label


def stop_events(tracks: TrackTable, detections: DetectionTable | None, p: SiteParams) -> StopEvents:
    """Every piece of stop evidence in the run."""
    obs = tracks.select(tracks.observed)
    st = detect_stops(
        obs.track_id, obs.t_s, obs.x_m, obs.y_m,
        max_diameter_m=p.stop_diameter_m, min_duration_s=p.min_dwell_s,
    )  # fmt: skip
    ends = track_ends(tracks)
    i, j = _gap_pairs(ends, p)
    parts: list[tuple[npt.ArrayLike, ...]] = [
        (np.full(len(st), TRACK_STOP), st.x_m, st.y_m, st.start_s, st.end_s, st.traj_id,
         np.full(len(st), -1), st.n_points),
        (np.full(len(i), GAP_STOP), (ends.end_x_m[i] + ends.start_x_m[j]) / 2,
         (ends.end_y_m[i] + ends.start_y_m[j]) / 2, ends.end_s[i], ends.start_s[j],
         ends.track_id[i], ends.track_id[j], ends.n_obs[i] + ends.n_obs[j]),
    ]  # fmt: skip
    if detections is not None and len(detections):
        still = np.flatnonzero(_stationary(detections, p, obs))
        n = len(still)
        parts.append(
            (np.full(n, SIGHTING), detections.x_m[still], detections.y_m[still],
             detections.t_s[still], detections.t_s[still], np.full(n, -1), np.full(n, -1),
             np.ones(n))
        )  # fmt: skip
    cols = [np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(8)]
    return StopEvents(
        cols[0].astype(np.int64), cols[1].astype(float), cols[2].astype(float),
        cols[3].astype(float), cols[4].astype(float), cols[5].astype(np.int64),
        cols[6].astype(np.int64), cols[7].astype(np.int64),
    )  # fmt: skip


def _densest_centre(x: FloatArray, y: FloatArray, radius_m: float) -> tuple[float, float]:
    """Mean of the points around the point with the most neighbours within ``radius_m``
    (the mode of the evidence, robust to a cluster that chained along a road)."""
    x, y = x[:2000], y[:2000]
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= radius_m
    best = near[int(np.argmax(near.sum(axis=1)))]
    return float(x[best].mean()), float(y[best].mean())


def find_sites(
    tracks: TrackTable,
    detections: DetectionTable | None,
    info: RunInfo,
    p: SiteParams = SiteParams(),
    marking: Marking = _UNCLASSIFIED,
    scans: ScanTable | None = None,
    roads: RoadMap | None = None,
) -> tuple[list[Site], StopEvents, IntArray]:
    """Sites (most visited first), the stop evidence and the site index of each event
    (-1: not part of a reported site).  With the run's scans, a place's nights are those in
    which the radar looked at it; without, every watch period of the run.  With a road map,
    a place at a road junction weighs ``junction_weight`` against being a site."""
    ev = stop_events(tracks, detections, p)
    site_of = np.full(len(ev), -1, dtype=np.int64)
    if not len(ev):
        return [], ev, site_of
    label = _group(ev, p, info.sortie_of(ev.arrive_s))
    k = int(label.max()) + 1
    is_visit = ev.kind != SIGHTING
    visits = np.bincount(label, weights=is_visit, minlength=k)
    sight_key = np.unique(label[~is_visit] * 10**7 + (ev.arrive_s[~is_visit] // p.sighting_bin_s))
    sightings = np.bincount((sight_key // 10**7).astype(np.int64), minlength=k)
    sites: list[Site] = []
    candidates = np.flatnonzero(visits + sightings >= p.min_visits)
    scan_sortie = info.sortie_of(scans.t_s) if scans is not None and len(scans) else None
    # A Python loop over candidate *clusters* (a handful), never over points.
    for c in candidates[np.argsort(-(visits + sightings)[candidates], kind="stable")]:
        members = np.flatnonzero(label == c)
        tr = np.unique(np.r_[ev.track_a[members], ev.track_b[members]])
        tr = tr[tr >= 0]
        vm = members[is_visit[members]]
        # Centre on the stationary sightings (metres of noise) when there are any, else on
        # the densest part of the radar stop evidence.
        sm = members[~is_visit[members]]
        if len(sm):
            x0, y0 = float(np.median(ev.x_m[sm])), float(np.median(ev.y_m[sm]))
        else:
            x0, y0 = _densest_centre(ev.x_m[vm], ev.y_m[vm], p.cluster_eps_m / 2)
        nights = info.nights
        if scans is not None and scan_sortie is not None and info.nights > 1:
            nights = len(np.unique(scan_sortie[scans.looked([x0], [y0])[:, 0]]))
        at_junction = roads is not None and bool(
            roads.junction_distance(np.array([x0]), np.array([y0]))[0] <= p.junction_m
        )
        conf = logistic_confidence(
            -3.5,
            {
                "visits": (1.6, float(visits[c])),
                "sightings": (1.4, float(sightings[c])),
                "tracks": (0.4, float(len(tr))),
            },
            max(nights, 1),
            {"at a road junction": p.junction_weight} if at_junction else None,
        )
        if conf.probability <= p.min_confidence:
            continue
        radius = float(np.max(np.hypot(ev.x_m[members] - x0, ev.y_m[members] - y0)))
        lon, lat = info.frame.to_lonlat(x0, y0)
        arrive = ev.arrive_s[vm] if len(vm) else ev.arrive_s[members]
        hours, days = local_profiles(arrive, info)
        dwell = ev.leave_s[vm] - ev.arrive_s[vm]
        t_first = float(ev.arrive_s[members].min())
        t_last = float(ev.leave_s[members].max())
        sensors = ("gmti",) * bool(len(vm)) + tuple(p.stationary_sensors) * bool(sightings[c])
        site_id = f"site-{len(sites) + 1:03d}"
        site_of[members] = len(sites)
        sites.append(
            Site(
                id=site_id,
                lat_deg=round(float(lat), 7),
                lon_deg=round(float(lon), 7),
                radius_m=round(max(radius, 50.0), 1),
                visit_count=int(max(visits[c], 1 if sightings[c] else 0)),
                mean_dwell_s=round(float(dwell.mean()) if len(dwell) else 0.0, 1),
                first_seen_utc=info.utc(t_first),
                last_seen_utc=info.utc(t_last),
                visits_by_hour=hours,
                visits_by_weekday=days,
                evidence=Evidence(
                    tuple(int(t) for t in tr),
                    int(ev.detections[members].sum()),
                    sensors,
                    info.utc(t_first),
                    info.utc(t_last),
                ),
                confidence=conf,
                marking=marking,
            )
        )
    return sites, ev, site_of
