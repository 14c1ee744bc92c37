"""The analysis stage: a run's tracks (and detections) to
:class:`~standoff.domain.findings.Findings`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import shapely

from standoff.airspace import Airspace
from standoff.domain.findings import (
    AlertActivity,
    ChangeAlert,
    Confidence,
    Corridor,
    Findings,
    Site,
)
from standoff.domain.marking import Marking
from standoff.intel.border import BorderParams, find_approaches
from standoff.intel.io import DetectionTable, RunInfo, ScanTable, TrackTable
from standoff.intel.pattern import change_alert, looked_s
from standoff.intel.roads import RoadMap
from standoff.intel.routes import CorridorParams, Traversals, convoy_passes, find_corridors
from standoff.intel.sites import SiteParams, StopEvents, find_sites

__all__ = ["AnalysisParams", "analyse"]

_UNCLASSIFIED = Marking()

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AnalysisParams:
    sites: SiteParams = field(default_factory=SiteParams)
    corridors: CorridorParams = field(default_factory=CorridorParams)
    border: BorderParams = field(default_factory=BorderParams)
    alert_window_s: float | None = None
    """Recent window of the change test; default a third of the run, at most 7 days."""
    alert_alpha: float = 0.05
    """False discovery rate of a run's change alerts: of the alerts raised, the share
    expected to be flukes of counting (Benjamini-Hochberg over the run's tests)."""

    def window_s(self, end_s: float) -> float:
        """The change test's recent window for a run of ``end_s`` seconds."""
        return self.alert_window_s or min(end_s / 3.0, 7 * 86400.0)


def analyse(
    tracks: TrackTable,
    detections: DetectionTable | None,
    info: RunInfo,
    airspace: Airspace,
    params: AnalysisParams = AnalysisParams(),
    marking: Marking = _UNCLASSIFIED,
    roads: RoadMap | None = None,
    scans: ScanTable | None = None,
) -> Findings:
    """Sites, corridors, border approaches and change alerts of one run; with a road map,
    corridors are carried along roads across stretches the radar could not see; with the
    run's scans, change alerts weigh time by how long the radar looked at each subject, and
    no site's route is drawn along a road the radar watched and found empty of convoys."""
    sites, ev, site_of = find_sites(tracks, detections, info, params.sites, marking, scans, roads)
    corridors, trav = find_corridors(
        tracks, info, airspace, sites, params.corridors, marking, roads, scans
    )
    approaches = find_approaches(tracks, info, airspace, params.border, marking=marking)
    alerts = _alerts(sites, ev, site_of, corridors, trav, info, params, marking, scans)
    return Findings(
        run_id=info.run_id,
        start_utc=info.start_utc,
        end_utc=info.utc(info.duration_s),
        utc_offset_h=info.utc_offset_h,
        sites=tuple(sites),
        corridors=tuple(corridors),
        approaches=tuple(approaches),
        alerts=tuple(alerts),
    )


def _alerts(
    sites: list[Site],
    ev: StopEvents,
    site_of: IntArray,
    corridors: list[Corridor],
    trav: Traversals,
    info: RunInfo,
    params: AnalysisParams,
    marking: Marking,
    scans: ScanTable | None,
) -> list[ChangeAlert]:
    """One change test per series: each site's visits, each corridor's passes and, where
    convoys drove it, its convoy passes (a convoy that stops is hidden in a road's other
    traffic).  The run's tests are one family: alerts are raised where the
    Benjamini-Hochberg procedure rejects at ``alert_alpha`` (of the alerts raised, at most
    that share expected false), and an alert's confidence is one minus its BH-adjusted
    p-value (q).  Testing each series at ``alert_alpha`` alone would raise about one false
    alert per twenty series in a quiet run."""
    end_s = info.duration_s
    window = params.window_s(end_s)
    visits = ev.kind != 2
    series: list[tuple[AlertActivity, str, FloatArray, IntArray, list[tuple[float, float]]]] = [
        ("visits", s.id, ev.arrive_s[(site_of == i) & visits], ev.track_a[(site_of == i) & visits],
         [(s.lon_deg, s.lat_deg)])
        for i, s in enumerate(sites)
    ]  # fmt: skip
    for i, c in enumerate(corridors):
        where = _along_line(c.path_lonlat_deg)
        mine = trav.corridor == i
        series.append(("passes", c.id, trav.start_s[mine & trav.first_of_pass],
                       trav.track_id[mine & trav.first_of_pass], where))  # fmt: skip
        t, ids = convoy_passes(trav, i, params.corridors)
        if len(t):
            series.append(("convoy passes", c.id, t, ids, where))
    tested: list[ChangeAlert] = []
    for activity, subject, times, ids, where in series:
        looked = None
        if scans is not None and len(scans):
            x, y = info.frame.to_xy([p[0] for p in where], [p[1] for p in where])
            looked = (scans.t_s, looked_s(scans, x, y))
        alert = change_alert(
            "alert",
            subject,
            times,
            ids,
            info,
            window_s=window,
            end_s=end_s,
            alpha=2.0,
            marking=marking,
            looked=looked,
        )  # fmt: skip  (alpha 2: every test's result, judged below as one family)
        if alert is not None:  # a test was possible (a baseline in the window's hours)
            tested.append(replace(alert, activity=activity))
    m = len(tested)
    pv = np.array([a.p_value for a in tested], dtype=np.float64)
    by_p = np.argsort(pv, kind="stable")
    # BH-adjusted p-values (q): the running minimum, from the largest, of p * m / rank.
    q = np.empty(m)
    q[by_p] = np.minimum.accumulate((pv[by_p] * m / np.arange(1, m + 1))[::-1])[::-1]
    q = np.minimum(q, 1.0)
    raised = [(int(k), float(q[k])) for k in np.flatnonzero(q <= params.alert_alpha)]
    out: list[ChangeAlert] = []
    for k, p_adj in raised:  # in the order of the findings
        a = tested[k]
        out.append(
            replace(
                a,
                id=f"alert-{len(out) + 1:03d}",
                confidence=Confidence(
                    round(1.0 - p_adj, 4),
                    f"{a.confidence.basis}; {a.activity}; Benjamini-Hochberg over the run's "
                    f"{m} tests: q = {p_adj:.2g}",
                ),
            )
        )
    return out


def _along_line(path: tuple[tuple[float, float], ...], n: int = 21) -> list[tuple[float, float]]:
    """``n`` points evenly spaced (in degrees, fine at a corridor's scale) along a line."""
    if len(path) < 2:
        return list(path)
    pts = shapely.line_interpolate_point(
        shapely.LineString(path), np.linspace(0.0, 1.0, n), normalized=True
    )
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(pts)]
