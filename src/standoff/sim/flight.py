"""Kinematic coordinated-turn aircraft that flies a plan's path with a lookahead guidance law.

State: position (local frame), heading, bank, true airspeed.  Each step the bank moves towards
the commanded bank at no more than ``bank_rate_dps`` and never beyond ``bank_limit_deg``;
the heading turns at g tan(bank) / V; the ground velocity is the air velocity plus the wind.
Guidance is L1 (Park, Deyst & How 2004): aim at the point of the path ahead at distance
L1 = ground speed x ``lookahead_s`` and command lateral acceleration 2 Vg^2 sin(eta) / L1,
which follows a circle of the path exactly in steady state.  Airspeed holds the plan's
schedule within +-10 % of the planned speed, and slows down in time (at the acceleration
limit) for slower stretches ahead, such as a loiter turn entered from a transit.  Take-off
and landing are not modelled: the flight starts and ends at the plan's first and last fixes,
at the plan's altitude.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from standoff.platforms import G_MPS2

__all__ = ["FlownPath", "fly_path"]

FloatArray = npt.NDArray[np.float64]

_SEARCH_AHEAD_M = 2500.0
_SPEED_BAND = 0.10
_SCHEDULE_GAIN_PER_S = 0.01
_ACCEL_MPS2 = 0.5


@dataclass(frozen=True)
class FlownPath:
    """The flown trajectory, one row per step, in the local frame; ``time_s`` from the plan's
    start; ``cross_track_m`` is the distance to the planned path, ``along_lag_m`` how far the
    aircraft is behind the plan's schedule (negative: ahead)."""

    time_s: FloatArray
    x_m: FloatArray
    y_m: FloatArray
    heading_deg: FloatArray
    ground_speed_mps: FloatArray
    airspeed_mps: FloatArray
    bank_deg: FloatArray
    cross_track_m: FloatArray
    along_lag_m: FloatArray
    completed: bool
    """True when the aircraft reached the end of the planned path."""


def fly_path(
    path_x_m: FloatArray,
    path_y_m: FloatArray,
    path_time_s: FloatArray,
    *,
    wind_speed_mps: float,
    wind_from_deg: float,
    bank_limit_deg: float,
    bank_rate_dps: float,
    lookahead_s: float,
    dt_s: float = 1.0,
    max_time_factor: float = 1.5,
) -> FlownPath:
    """Fly the planned path (local metres, plan seconds) in a constant wind."""
    # Drop repeated fixes.
    keep = np.concatenate([[True], np.hypot(np.diff(path_x_m), np.diff(path_y_m)) > 1e-6])
    px = [float(v) for v in path_x_m[keep]]
    py = [float(v) for v in path_y_m[keep]]
    pt = np.asarray(path_time_s, dtype=np.float64)[keep]
    seg = np.hypot(np.diff(px), np.diff(py))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    cum_l = [float(v) for v in cum]
    total = cum_l[-1]
    n = len(px)
    seg_speed = np.where(np.diff(pt) > 0, seg / np.maximum(np.diff(pt), 1e-9), 0.0)
    seg_speed_l = [float(v) for v in seg_speed]
    nominal = float(np.median(seg_speed[seg_speed > 0])) if (seg_speed > 0).any() else 60.0
    seg_speed_l = [v if v > 0 else nominal for v in seg_speed_l]
    # Speed profile with anticipation: the fastest speed at the start of each segment from
    # which the aircraft can still slow to every later segment's planned speed at the
    # deceleration limit (a backward pass), so it enters a loiter turn at loiter speed.
    reach_l = list(seg_speed_l)
    for k in range(len(reach_l) - 2, -1, -1):
        reach_l[k] = min(reach_l[k], math.sqrt(reach_l[k + 1] ** 2 + 2 * _ACCEL_MPS2 * seg[k]))

    wr = math.radians(wind_from_deg)
    wx, wy = -wind_speed_mps * math.sin(wr), -wind_speed_mps * math.cos(wr)
    bank_max = math.radians(bank_limit_deg)
    bank_step = math.radians(bank_rate_dps) * dt_s

    x, y = px[0], py[0]
    psi = math.atan2(px[1] - px[0], py[1] - py[0]) if n > 1 else 0.0
    phi = 0.0
    v_air = seg_speed_l[0] if seg_speed_l and seg_speed_l[0] > 0 else nominal
    i = 0
    t = float(pt[0])
    t_end = float(pt[0]) + max_time_factor * float(pt[-1] - pt[0]) + 600.0
    out_t: list[float] = []
    out_x: list[float] = []
    out_y: list[float] = []
    out_h: list[float] = []
    out_gs: list[float] = []
    out_v: list[float] = []
    out_b: list[float] = []
    out_xt: list[float] = []
    out_lag: list[float] = []
    completed = False
    while True:
        # Nearest point of the path, searching forward a little (orbits repeat themselves).
        best_d2, best_i, best_u = math.inf, i, 0.0
        j = i
        while j < n - 1 and cum_l[j] <= cum_l[i] + _SEARCH_AHEAD_M:
            dx, dy = px[j + 1] - px[j], py[j + 1] - py[j]
            L2 = dx * dx + dy * dy
            u = ((x - px[j]) * dx + (y - py[j]) * dy) / L2
            u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
            ex, ey = px[j] + u * dx - x, py[j] + u * dy - y
            d2 = ex * ex + ey * ey
            if d2 < best_d2:
                best_d2, best_i, best_u = d2, j, u
            j += 1
        i = best_i
        s_near = cum_l[i] + best_u * (cum_l[i + 1] - cum_l[i]) if n > 1 else 0.0
        s_plan = float(np.interp(t, pt, cum))
        vgx, vgy = v_air * math.sin(psi) + wx, v_air * math.cos(psi) + wy
        vg = math.hypot(vgx, vgy)
        out_t.append(t)
        out_x.append(x)
        out_y.append(y)
        out_h.append(math.degrees(psi) % 360.0)
        out_gs.append(vg)
        out_v.append(v_air)
        out_b.append(math.degrees(phi))
        out_xt.append(math.sqrt(best_d2))
        out_lag.append(s_plan - s_near)
        if s_near >= total - 1.0 or (
            math.hypot(px[-1] - x, py[-1] - y) < max(vg * dt_s, 50.0) and s_near > total - 5000.0
        ):
            completed = True
            break
        if t >= t_end:
            break
        # Lookahead point: first point of the path ahead at distance L1 from the aircraft.
        l1 = max(vg * lookahead_s, 200.0)
        ax, ay = px[-1], py[-1]
        j = i
        while j < n - 1:
            bx, by = px[j + 1] - x, py[j + 1] - y
            if bx * bx + by * by >= l1 * l1:
                sx, sy = px[j] - x, py[j] - y
                dx, dy = px[j + 1] - px[j], py[j + 1] - py[j]
                a = dx * dx + dy * dy
                b = 2.0 * (sx * dx + sy * dy)
                c = sx * sx + sy * sy - l1 * l1
                disc = max(b * b - 4.0 * a * c, 0.0)
                u = (-b + math.sqrt(disc)) / (2.0 * a)
                u = 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)
                ax, ay = px[j] + u * dx, py[j] + u * dy
                break
            j += 1
        lx, ly = ax - x, ay - y
        dist = max(math.hypot(lx, ly), 1.0)
        # eta: signed angle from the ground velocity to the line of sight (positive: right).
        cross = vgx * ly - vgy * lx
        dot = vgx * lx + vgy * ly
        eta = math.atan2(-cross, dot)
        a_lat = 2.0 * vg * vg * math.sin(eta) / max(dist, l1 * 0.5)
        psi_rate = a_lat / max(vg, 1.0)
        phi_cmd = math.atan(psi_rate * v_air / G_MPS2)
        phi_cmd = max(-bank_max, min(bank_max, phi_cmd))
        phi += max(-bank_step, min(bank_step, phi_cmd - phi))
        # Airspeed: the segment's planned speed, nudged to keep the schedule.
        k = bisect.bisect_right(cum_l, s_near) - 1
        if n > 1:
            k = min(max(k, 0), n - 2)
            planned = seg_speed_l[k]
            if k + 1 < n - 1:  # slow down in time for what comes next
                to_next = max(cum_l[k + 1] - s_near, 0.0)
                planned = min(planned, math.sqrt(reach_l[k + 1] ** 2 + 2 * _ACCEL_MPS2 * to_next))
        else:
            planned = nominal
        v_cmd = planned * (1.0 + _SCHEDULE_GAIN_PER_S * (s_plan - s_near) / planned)
        v_cmd = max(planned * (1 - _SPEED_BAND), min(planned * (1 + _SPEED_BAND), v_cmd))
        v_air += max(-_ACCEL_MPS2 * dt_s, min(_ACCEL_MPS2 * dt_s, v_cmd - v_air))
        psi += G_MPS2 * math.tan(phi) / v_air * dt_s
        x += (v_air * math.sin(psi) + wx) * dt_s
        y += (v_air * math.cos(psi) + wy) * dt_s
        t += dt_s
    arr = np.asarray
    return FlownPath(
        time_s=arr(out_t, dtype=np.float64),
        x_m=arr(out_x, dtype=np.float64),
        y_m=arr(out_y, dtype=np.float64),
        heading_deg=arr(out_h, dtype=np.float64),
        ground_speed_mps=arr(out_gs, dtype=np.float64),
        airspeed_mps=arr(out_v, dtype=np.float64),
        bank_deg=arr(out_b, dtype=np.float64),
        cross_track_m=arr(out_xt, dtype=np.float64),
        along_lag_m=arr(out_lag, dtype=np.float64),
        completed=completed,
    )
