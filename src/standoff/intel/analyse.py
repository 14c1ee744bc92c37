"""The analysis stage: a run's tracks (and detections) to
:class:`~standoff.domain.findings.Findings`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from standoff.airspace import Airspace
from standoff.domain.findings import ChangeAlert, Findings
from standoff.domain.marking import Marking
from standoff.intel.border import BorderParams, find_approaches
from standoff.intel.io import DetectionTable, RunInfo, ScanTable, TrackTable
from standoff.intel.pattern import change_alert, looked_s
from standoff.intel.roads import RoadMap
from standoff.intel.routes import CorridorParams, find_corridors
from standoff.intel.sites import SiteParams, find_sites

__all__ = ["AnalysisParams", "analyse"]

_UNCLASSIFIED = Marking()


@dataclass(frozen=True)
class AnalysisParams:
    sites: SiteParams = field(default_factory=SiteParams)
    corridors: CorridorParams = field(default_factory=CorridorParams)
    border: BorderParams = field(default_factory=BorderParams)
    alert_window_s: float | None = None
    """Recent window of the change test; default a third of the run, at most 7 days."""
    alert_alpha: float = 0.05


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
    run's scans, change alerts weigh time by how long the radar looked at each subject."""
    sites, ev, site_of = find_sites(tracks, detections, info, params.sites, marking)
    corridors, trav = find_corridors(
        tracks, info, airspace, sites, params.corridors, marking, roads
    )
    approaches = find_approaches(tracks, info, airspace, params.border, marking=marking)
    end_s = info.duration_s
    window = params.alert_window_s or min(end_s / 3.0, 7 * 86400.0)
    alerts: list[ChangeAlert] = []
    visits = ev.kind != 2
    subjects = [
        (s.id, ev.arrive_s[(site_of == i) & visits], ev.track_a[(site_of == i) & visits],
         [(s.lon_deg, s.lat_deg)])
        for i, s in enumerate(sites)
    ] + [
        (c.id, trav.start_s[(trav.corridor == i) & trav.first_of_pass],
         trav.track_id[(trav.corridor == i) & trav.first_of_pass], _along_line(c.path_lonlat_deg))
        for i, c in enumerate(corridors)
    ]  # fmt: skip
    for subject, times, ids, where in subjects:  # one test per finding
        looked = None
        if scans is not None and len(scans):
            x, y = info.frame.to_xy([p[0] for p in where], [p[1] for p in where])
            looked = (scans.t_s, looked_s(scans, x, y))
        alert = change_alert(
            f"alert-{len(alerts) + 1:03d}", subject, np.asarray(times), np.asarray(ids), info,
            window_s=window, end_s=end_s, alpha=params.alert_alpha, marking=marking,
            looked=looked,
        )  # fmt: skip
        if alert is not None:
            alerts.append(alert)
    return Findings(
        run_id=info.run_id,
        start_utc=info.start_utc,
        end_utc=info.utc(end_s),
        utc_offset_h=info.utc_offset_h,
        sites=tuple(sites),
        corridors=tuple(corridors),
        approaches=tuple(approaches),
        alerts=tuple(alerts),
    )


def _along_line(path: tuple[tuple[float, float], ...], n: int = 21) -> list[tuple[float, float]]:
    """``n`` points evenly spaced (in degrees, fine at a corridor's scale) along a line."""
    if len(path) < 2:
        return list(path)
    pts = shapely.line_interpolate_point(
        shapely.LineString(path), np.linspace(0.0, 1.0, n), normalized=True
    )
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(pts)]
