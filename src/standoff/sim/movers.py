"""Ground movers as arrays: background traffic, site visits and convoys on the road graph.

One row per vehicle; a vehicle is on a directed edge at distance ``s_m`` from its start.
:meth:`Movers.advance` moves every vehicle at once (numpy), handling edge changes for the
few that reach a junction.  Background vehicles wander the network and park now and then
(more at night); site visitors drive a fastest route to a site, dwell, and drive back;
convoy vehicles drive from a site to a border point and leave the world there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from standoff.core.errors import InputError
from standoff.sim.roads import RoadNetwork
from standoff.sim.scenario import Scenario

__all__ = ["KIND_NAMES", "Movers", "TruthSnapshot", "build_movers"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KIND_NAMES: Final = ("background", "site_visit", "convoy")
PENDING, DRIVING, PARKED, DONE = 0, 1, 2, 3
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class TruthSnapshot:
    """Every vehicle in the world at ``time_s`` (driving or parked)."""

    time_s: float
    truth_id: IntArray
    kind: IntArray
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray

    @property
    def speed_mps(self) -> FloatArray:
        return np.asarray(np.hypot(self.vx_mps, self.vy_mps), dtype=np.float64)


class Movers:
    """Mutable simulation state (private to a run); read it through :meth:`snapshot`."""

    def __init__(
        self,
        net: RoadNetwork,
        kind: IntArray,
        factor: FloatArray,
        cap_mps: FloatArray,
        t_start: FloatArray,
        route_out: IntArray,
        route_back: IntArray,
        dwell_s: FloatArray,
        route_ptr: IntArray,
        route_edges: IntArray,
        rest_day: float,
        rest_night: float,
        rest_mean_s: float,
        local_hour0: float,
        rng: np.random.Generator,
    ) -> None:
        self.net = net
        self.kind = kind
        self.factor = factor
        self.cap = cap_mps
        self.t_start = t_start
        self.route_out = route_out
        self.route_back = route_back
        self.dwell = dwell_s
        self.rptr = route_ptr
        self.redges = route_edges
        self.rest_day = rest_day
        self.rest_night = rest_night
        self.rest_mean = rest_mean_s
        self.hour0 = local_hour0
        self.rng = rng
        n = kind.shape[0]
        self.state = np.full(n, PENDING, dtype=np.int64)
        self.edge = np.zeros(n, dtype=np.int64)
        self.s = np.zeros(n, dtype=np.float64)
        self.route = np.full(n, -1, dtype=np.int64)
        self.k = np.zeros(n, dtype=np.int64)
        self.phase = np.zeros(n, dtype=np.int64)
        self.park_until = np.zeros(n, dtype=np.float64)
        self.t = 0.0
        self._ux = (net.node_x_m[net.edge_v] - net.node_x_m[net.edge_u]) / net.edge_len_m
        self._uy = (net.node_y_m[net.edge_v] - net.node_y_m[net.edge_u]) / net.edge_len_m
        self._class_speed = net.edge_speed_mps
        bg = np.flatnonzero(kind == 0)
        if len(bg):
            # Background traffic starts spread over the network, weighted by road length.
            p = net.edge_len_m / net.edge_len_m.sum()
            self.edge[bg] = rng.choice(net.n_edges, size=len(bg), p=p)
            self.s[bg] = rng.uniform(0.0, 1.0, len(bg)) * net.edge_len_m[self.edge[bg]]
            self.state[bg] = DRIVING

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def _speed(self, idx: IntArray) -> FloatArray:
        v = np.minimum(self._class_speed[self.edge[idx]] * self.factor[idx], self.cap[idx])
        return np.asarray(v, dtype=np.float64)

    def _rest_probability(self, t_s: FloatArray) -> FloatArray:
        hour = np.mod(self.hour0 + t_s / 3600.0, 24.0)
        day = (hour >= 6.0) & (hour < 20.0)
        return np.where(day, self.rest_day, self.rest_night)

    def _start_route(self, idx: IntArray, route: IntArray) -> None:
        self.route[idx] = route
        self.k[idx] = 0
        self.edge[idx] = self.redges[self.rptr[route]]
        self.s[idx] = 0.0
        self.state[idx] = DRIVING

    def advance(self, t_new: float) -> None:
        """Move every vehicle from the current time to ``t_new``."""
        t_old = self.t
        budget = np.zeros(len(self), dtype=np.float64)
        drv = self.state == DRIVING
        budget[drv] = t_new - t_old
        # Vehicles whose schedule starts now.
        go = np.flatnonzero((self.state == PENDING) & (self.t_start <= t_new))
        if len(go):
            self._start_route(go, self.route_out[go])
            budget[go] = t_new - self.t_start[go]
        # Parked vehicles whose rest or dwell is over.
        up = np.flatnonzero((self.state == PARKED) & (self.park_until <= t_new))
        if len(up):
            budget[up] = t_new - self.park_until[up]
            self.state[up] = DRIVING
            visit = up[(self.route[up] >= 0) & (self.phase[up] == 0)]
            if len(visit):
                back = self.route_back[visit]
                has = back >= 0
                self.phase[visit] = 1
                self._start_route(visit[has], back[has])
                self.state[visit[~has]] = DONE
        idx = np.flatnonzero((self.state == DRIVING) & (budget > 0))
        rem = budget[idx]
        while len(idx):
            v = self._speed(idx)
            left = self.net.edge_len_m[self.edge[idx]] - self.s[idx]
            need = left / v
            stay = rem < need
            self.s[idx[stay]] += v[stay] * rem[stay]
            idx, rem = idx[~stay], rem[~stay] - need[~stay]
            if not len(idx):
                break
            self.s[idx] = self.net.edge_len_m[self.edge[idx]]
            keep = self._junction(idx, t_new - rem)
            idx, rem = idx[keep], rem[keep]
        self.t = t_new

    def _junction(self, idx: IntArray, t_arrive: FloatArray) -> BoolArray:
        """Vehicles ``idx`` reached the end of their edge at ``t_arrive``: choose what next.
        Returns which of them go on driving."""
        keep = np.ones(len(idx), dtype=np.bool_)
        routed = self.route[idx] >= 0
        # Route followers: next edge of the route, or arrival.
        r = np.flatnonzero(routed)
        if len(r):
            ri = idx[r]
            self.k[ri] += 1
            length = self.rptr[self.route[ri] + 1] - self.rptr[self.route[ri]]
            more = self.k[ri] < length
            on = ri[more]
            self.edge[on] = self.redges[self.rptr[self.route[on]] + self.k[on]]
            self.s[on] = 0.0
            arrived = ri[~more]
            dwell = (self.phase[arrived] == 0) & (self.route_back[arrived] >= 0)
            park = arrived[dwell]
            self.state[park] = PARKED
            self.park_until[park] = t_arrive[r][~more][dwell] + self.dwell[park]
            self.state[arrived[~dwell]] = DONE
            keep[r[~more]] = False
        # Background: rest a while, or take a random next road (no U-turn unless a dead end).
        b = np.flatnonzero(~routed)
        if len(b):
            bi = idx[b]
            rest = self.rng.uniform(size=len(bi)) < self._rest_probability(t_arrive[b])
            parked = bi[rest]
            self.state[parked] = PARKED
            self.park_until[parked] = t_arrive[b][rest] + self.rng.exponential(
                self.rest_mean, len(parked)
            )
            keep[b[rest]] = False
            go = bi[~rest]
            node = self.net.edge_v[self.edge[go]]
            deg = self.net.out_ptr[node + 1] - self.net.out_ptr[node]
            pick = self.rng.integers(0, np.iinfo(np.int64).max, len(go)) % deg
            nxt = self.net.out_edges[self.net.out_ptr[node] + pick]
            uturn = (nxt == self.net.edge_rev[self.edge[go]]) & (deg > 1)
            pick2 = (pick + 1) % deg
            nxt = np.where(uturn, self.net.out_edges[self.net.out_ptr[node] + pick2], nxt)
            self.edge[go] = nxt
            self.s[go] = 0.0
        return keep

    def snapshot(self) -> TruthSnapshot:
        alive = np.flatnonzero((self.state == DRIVING) | (self.state == PARKED))
        e = self.edge[alive]
        net = self.net
        frac = self.s[alive] / net.edge_len_m[e]
        u, v = net.edge_u[e], net.edge_v[e]
        x = net.node_x_m[u] + frac * (net.node_x_m[v] - net.node_x_m[u])
        y = net.node_y_m[u] + frac * (net.node_y_m[v] - net.node_y_m[u])
        spd = np.where(self.state[alive] == DRIVING, self._speed(alive), 0.0)
        return TruthSnapshot(
            time_s=self.t,
            truth_id=alive.astype(np.int64),
            kind=self.kind[alive],
            x_m=x,
            y_m=y,
            vx_mps=spd * self._ux[e],
            vy_mps=spd * self._uy[e],
        )


def _local_hour(start_utc: datetime, utc_offset_h: float) -> float:
    return (start_utc.hour + start_utc.minute / 60 + start_utc.second / 3600 + utc_offset_h) % 24


def build_movers(
    scenario: Scenario,
    net: RoadNetwork,
    rng: np.random.Generator,
    dyn_rng: np.random.Generator,
    *,
    vehicles: int | None = None,
) -> Movers:
    """Schedule every vehicle of the scenario: background traffic, site visits, convoys."""
    hour0 = _local_hour(scenario.start_utc, scenario.utc_offset_h)
    n_bg = scenario.traffic.vehicles if vehicles is None else vehicles
    tr = scenario.traffic
    kind = [np.zeros(n_bg, dtype=np.int64)]
    factor = [rng.uniform(tr.speed_factor_min, tr.speed_factor_max, n_bg)]
    cap = [np.full(n_bg, np.inf)]
    t_start = [np.zeros(n_bg)]
    r_out: list[int] = [-1] * n_bg
    r_back: list[int] = [-1] * n_bg
    dwell = [np.zeros(n_bg)]
    routes: list[IntArray] = []
    preds: dict[int, IntArray] = {}

    def route(a: int, b: int, where: str) -> int:
        if a not in preds:
            preds[a] = net.shortest_routes(a)
        edges = net.route_edges(preds[a], a, b)
        if edges is None or len(edges) == 0:
            raise InputError(
                "no road leads there from the rest of the network",
                source=scenario.source,
                field=where,
            )
        routes.append(edges)
        return len(routes) - 1

    def travel_s(r: int) -> float:
        e = routes[r]
        return float((net.edge_len_m[e] / net.edge_speed_mps[e]).sum())

    dur = scenario.duration_s
    part = net.parts()
    for i, site in enumerate(scenario.sites):
        node = net.anchors[site.name]
        # Visitors come from anywhere that has a road to the site (a closed border splits
        # the network).
        origins = np.flatnonzero(part == part[node])
        lo, hi = site.hours_local
        span = (hi - lo) % 24.0 or 24.0
        n_days = int(np.ceil(dur / _DAY)) + 1
        for day in range(-1, n_days):
            count = int(rng.poisson(site.visits_per_day))
            for _ in range(count):
                # Local time of arrival, then back to seconds from start.
                arrive_h = lo + rng.uniform(0.0, span)
                t_arr = (day * 24.0 + arrive_h - hour0) * 3600.0
                origin = int(origins[rng.integers(0, len(origins))])
                dw = rng.uniform(*site.dwell_s)
                f = rng.uniform(tr.speed_factor_min, tr.speed_factor_max)
                if origin == node or t_arr > dur or t_arr + dw < 0:
                    continue
                ro = route(origin, node, f"sites[{i}]")
                back = np.asarray(net.edge_rev[routes[ro][::-1]], dtype=np.int64)
                routes.append(back)
                # Leave in time to arrive (or at the start, arriving a little late).
                t0 = max(t_arr - travel_s(ro) / f, 0.0)
                kind.append(np.array([1]))
                factor.append(np.array([f]))
                cap.append(np.array([np.inf]))
                t_start.append(np.array([t0]))
                r_out.append(ro)
                r_back.append(len(routes) - 1)
                dwell.append(np.array([dw]))
    for i, cr in enumerate(scenario.routes):
        departs = list(cr.depart_s)
        if cr.every_s:
            t = departs[-1] + cr.every_s
            while t < dur:
                departs.append(t)
                t += cr.every_s
        if cr.until_s is not None:
            departs = [d for d in departs if d <= cr.until_s]
        if cr.hours_local is not None:
            lo, hi = cr.hours_local
            span = (hi - lo) % 24.0 or 24.0
            departs = [d for d in departs if (hour0 + d / 3600.0 - lo) % 24.0 < span]
        ro = route(net.anchors[cr.from_site], net.anchors[cr.to], f"routes[{i}]")
        for dep in departs:
            for j in range(cr.vehicles):
                kind.append(np.array([2]))
                factor.append(np.array([10.0]))
                cap.append(np.array([cr.speed_mps]))
                t_start.append(np.array([dep + j * cr.spacing_s]))
                r_out.append(ro)
                r_back.append(-1)
                dwell.append(np.array([0.0]))
    lengths = np.array([len(r) for r in routes], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.concatenate(routes).astype(np.int64) if routes else np.zeros(0, dtype=np.int64)
    return Movers(
        net,
        np.concatenate(kind),
        np.concatenate(factor),
        np.concatenate(cap),
        np.concatenate(t_start),
        np.asarray(r_out, dtype=np.int64),
        np.asarray(r_back, dtype=np.int64),
        np.concatenate(dwell),
        ptr,
        flat,
        tr.rest_probability_day,
        tr.rest_probability_night,
        tr.rest_mean_s,
        hour0,
        dyn_rng,
    )
