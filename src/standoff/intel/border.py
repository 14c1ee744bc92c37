"""Border approaches: tracks that end or turn back near the border, away from ports of entry.

Per track (vectorised over all rows): the distance of every observed row to the nearest
boundary (:meth:`~standoff.airspace.Airspace.boundary_distance_m`).  A track whose last
observed row is within ``near_border_m`` is an ``"ended"`` approach; one whose closest row is
within ``near_border_m``, is not its last, and after which it recedes by ``turn_back_m`` is a
``"turned_back"`` approach.  Events within ``port_radius_m`` of a port of entry (the public
table ``data/ports_of_entry.json``) are ordinary port traffic and are left out.

Confidence: ``logistic(-1.0 + 0.8 ln(1+detections) + 1.5 ln(1+closeness))`` with
``closeness = 1 - distance / near_border_m``; a track seen 10 times that ends 200 m from the
line reads "very likely", one seen twice 1.5 km away "roughly even chance".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from standoff.airspace import Airspace
from standoff.core.errors import DataError
from standoff.domain.findings import BorderApproach, Evidence
from standoff.domain.marking import Marking
from standoff.geo.geodesy import geodesic_distance_m
from standoff.intel.confidence import logistic_confidence
from standoff.intel.io import RunInfo, TrackTable

__all__ = ["BorderParams", "Port", "find_approaches", "load_ports", "nearest_port"]

_UNCLASSIFIED = Marking()


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Port:
    name: str
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True)
class BorderParams:
    near_border_m: float = 2000.0
    turn_back_m: float = 500.0
    port_radius_m: float = 500.0
    min_observations: int = 2


def load_ports() -> tuple[Port, ...]:
    """The vendored public table of US-Mexico land ports of entry."""
    ref = resources.files("standoff.data").joinpath("ports_of_entry.json")
    try:
        doc = json.loads(ref.read_text(encoding="utf-8"))
        return tuple(
            Port(p["name"], float(p["lat_deg"]), float(p["lon_deg"])) for p in doc["ports"]
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"ports_of_entry.json is missing or malformed: {exc}") from exc


def nearest_port(
    ports: tuple[Port, ...], lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Index of the nearest port and its geodesic distance for each point."""
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    plon = np.array([p.lon_deg for p in ports])
    plat = np.array([p.lat_deg for p in ports])
    d = np.asarray(
        geodesic_distance_m(
            np.repeat(lon, len(ports)), np.repeat(lat, len(ports)),
            np.tile(plon, len(lon)), np.tile(plat, len(lon)),
        )
    ).reshape(len(lon), len(ports))  # fmt: skip
    idx = np.argmin(d, axis=1)
    return idx.astype(np.int64), d[np.arange(len(lon)), idx]


def find_approaches(
    tracks: TrackTable,
    info: RunInfo,
    airspace: Airspace,
    p: BorderParams = BorderParams(),
    *,
    ports: tuple[Port, ...] | None = None,
    marking: Marking = _UNCLASSIFIED,
) -> list[BorderApproach]:
    obs = tracks.select(tracks.observed)
    if len(obs) == 0:
        return []
    ports = load_ports() if ports is None else ports
    lon, lat = info.frame.to_lonlat(obs.x_m, obs.y_m)
    dist = np.asarray(airspace.boundary_distance_m(lon, lat), dtype=np.float64)
    ids = obs.track_id
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(ids) - 1]
    n_obs = last - first + 1
    group = np.repeat(np.arange(len(first)), n_obs)
    # Closest row of each track: sort by (track, distance), take the first of each track.
    order = np.lexsort((dist, group))
    closest = order[first]
    after_max = np.maximum.reduceat(
        np.where(np.arange(len(ids)) >= closest[group], dist, -1.0), first
    )
    ended = (dist[last] <= p.near_border_m) & (n_obs >= p.min_observations)
    turned = (
        ~ended
        & (dist[closest] <= p.near_border_m)
        & (closest != last)
        & (after_max - dist[closest] >= p.turn_back_m)
        & (n_obs >= p.min_observations)
    )
    row = np.where(ended, last, closest)
    pick = np.flatnonzero(ended | turned)
    if not len(pick):
        return []
    r = row[pick]
    port_idx, port_d = nearest_port(ports, lon[r], lat[r])
    keep = port_d > p.port_radius_m
    out: list[BorderApproach] = []
    for k in np.flatnonzero(keep):  # one iteration per *event*, not per point
        g, rr = int(pick[k]), int(r[k])
        closeness = max(0.0, 1.0 - dist[rr] / p.near_border_m)
        conf = logistic_confidence(
            -1.0, {"detections": (0.8, float(n_obs[g])), "closeness": (1.5, closeness)}
        )
        t0, t1 = float(obs.t_s[first[g]]), float(obs.t_s[last[g]])
        out.append(
            BorderApproach(
                id=f"approach-{len(out) + 1:03d}",
                time_utc=info.utc(float(obs.t_s[rr])),
                lat_deg=round(float(lat[rr]), 7),
                lon_deg=round(float(lon[rr]), 7),
                border_distance_m=round(float(dist[rr]), 1),
                kind="ended" if ended[g] else "turned_back",
                nearest_port=ports[int(port_idx[k])].name,
                nearest_port_distance_m=round(float(port_d[k]), 1),
                track_id=int(ids[rr]),
                evidence=Evidence(
                    (int(ids[rr]),), int(n_obs[g]), ("gmti",), info.utc(t0), info.utc(t1)
                ),
                confidence=conf,
                marking=marking,
            )
        )
    return out
