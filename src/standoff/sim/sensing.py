"""Sensor models: GMTI area scans and cued EO/IR looks (pure functions of arrays + a Generator).

Flat Earth below the aircraft, no terrain masking (no offline DEM), altitude above ground
taken as the plan's altitude.  Ground reach comes from ``SensorSpec.ground_reach_m``
(spherical Earth).  Positions are metres in the run's local frame.

GMTI (per scan): the footprint is the ground annulus [reach_min, reach_max] within an azimuth
sector of ``fov_deg`` centred on the look point.  A mover inside is detected with probability
``pd = pd_max * range_factor * grazing_factor`` where ``range_factor = 1 / (1 + (R / R50)^8)``,
``R50 = range_knee * max_slant_range`` and ``grazing_factor = min(1, sin(g) / sin(g_min))``,
and only if its radial speed is at least the MDV (parked vehicles never).  Position noise is
Gaussian in the sensor frame: ``range_sigma / cos(grazing)`` along the line of sight on the
ground, ``slant_range * angle_sigma`` across it; the measured radial velocity (positive:
receding) has Gaussian noise.  False alarms are Poisson with mean ``density x scanned area``,
uniform over the footprint.

EO/IR (per look): a circular footprint of diameter ``2 R tan(fov / 2)`` centred on a cued
site within reach; everything inside (moving or parked, within the slant range) is detected
with ``pd_max / (1 + (R / R50)^8)``; isotropic noise ``max(range_sigma, R * angle_sigma)``;
no radial velocity, no false alarms (assumption: an operator confirms each look).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from standoff.platforms import SensorSpec
from standoff.sim.scenario import EoirSettings, GmtiSettings

__all__ = ["Look", "SensorReturns", "eoir_look", "gmti_pd", "gmti_scan"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SensorReturns:
    """Detections of one sensor at one time; ``truth_index`` is the index into the snapshot
    arrays passed in (-1 for a false alarm)."""

    x_m: FloatArray
    y_m: FloatArray
    sigma_m: FloatArray
    radial_velocity_mps: FloatArray
    truth_index: IntArray
    footprint_m2: float

    @staticmethod
    def empty() -> SensorReturns:
        z = np.zeros(0, dtype=np.float64)
        return SensorReturns(z, z, z, z, np.zeros(0, dtype=np.int64), 0.0)


@dataclass(frozen=True, slots=True)
class Look:
    """Where the aircraft is and where the sensor looks."""

    x_m: float
    y_m: float
    alt_m: float
    aim_x_m: float
    aim_y_m: float


def gmti_pd(
    slant_range_m: npt.ArrayLike,
    grazing_rad: npt.ArrayLike,
    spec: SensorSpec,
    settings: GmtiSettings,
) -> FloatArray:
    """Probability of detecting a mover fast enough for the MDV (the model above)."""
    r = np.asarray(slant_range_m, dtype=np.float64)
    g = np.asarray(grazing_rad, dtype=np.float64)
    r50 = settings.range_knee * spec.max_slant_range_m
    range_factor = 1.0 / (1.0 + (r / r50) ** 8)
    if settings.min_grazing_deg > 0:
        graze = np.minimum(1.0, np.sin(g) / np.sin(np.radians(settings.min_grazing_deg)))
    else:
        graze = np.ones_like(r)
    return np.asarray(settings.pd_max * range_factor * graze, dtype=np.float64)


def _sector(look: Look, fov_deg: float) -> tuple[float, float]:
    centre = float(np.arctan2(look.aim_x_m - look.x_m, look.aim_y_m - look.y_m))
    half = np.pi if fov_deg >= 360.0 else float(np.radians(fov_deg) / 2.0)
    return centre, half


def gmti_scan(
    look: Look,
    x_m: FloatArray,
    y_m: FloatArray,
    vx_mps: FloatArray,
    vy_mps: FloatArray,
    spec: SensorSpec,
    settings: GmtiSettings,
    rng: np.random.Generator,
) -> SensorReturns:
    h = look.alt_m
    r_max = spec.ground_reach_m(h)
    r_min = spec.ground_min_m(h)
    centre, half = _sector(look, spec.fov_deg)
    area = half / np.pi * np.pi * (r_max**2 - r_min**2)
    dx, dy = x_m - look.x_m, y_m - look.y_m
    rg = np.hypot(dx, dy)
    az = np.arctan2(dx, dy)
    off = np.abs((az - centre + np.pi) % (2 * np.pi) - np.pi)
    inside = (rg <= r_max) & (rg >= r_min) & (off <= half)
    idx = np.flatnonzero(inside)
    dx, dy, rg = dx[idx], dy[idx], rg[idx]
    slant = np.sqrt(rg * rg + h * h)
    vr = (vx_mps[idx] * dx + vy_mps[idx] * dy) / slant
    pd = gmti_pd(slant, np.arctan2(h, rg), spec, settings)
    hit = (np.abs(vr) >= spec.mdv_mps) & (rng.uniform(size=len(idx)) < pd)
    idx, dx, dy, rg, slant, vr = idx[hit], dx[hit], dy[hit], rg[hit], slant[hit], vr[hit]
    # False alarms: Poisson count, uniform over the footprint (area element r dr dtheta).
    n_fa = int(rng.poisson(settings.false_alarms_per_km2 * area / 1e6))
    fr = np.sqrt(rng.uniform(r_min**2, r_max**2, n_fa))
    fa_az = centre + rng.uniform(-half, half, n_fa)
    fdx, fdy = fr * np.sin(fa_az), fr * np.cos(fa_az)
    f_vr = rng.uniform(spec.mdv_mps, spec.mdv_mps + 25.0, n_fa) * rng.choice([-1.0, 1.0], n_fa)
    dx = np.concatenate([dx, fdx])
    dy = np.concatenate([dy, fdy])
    rg = np.maximum(np.hypot(dx, dy), 1.0)
    slant = np.sqrt(rg * rg + h * h)
    vr = np.concatenate([vr, f_vr])
    truth = np.concatenate([idx, np.full(n_fa, -1, dtype=np.int64)])
    # Noise in the sensor frame (range along the line of sight, cross-range across it).
    sig_r = spec.range_sigma_m * slant / np.maximum(rg, 0.2 * slant)
    sig_c = slant * spec.angle_sigma_rad
    n_r = rng.normal(0.0, 1.0, len(dx)) * sig_r
    n_c = rng.normal(0.0, 1.0, len(dx)) * sig_c
    ux, uy = dx / rg, dy / rg
    mx = look.x_m + dx + ux * n_r + uy * n_c
    my = look.y_m + dy + uy * n_r - ux * n_c
    vr_meas = vr + rng.normal(0.0, settings.radial_velocity_sigma_mps, len(dx))
    order = rng.permutation(len(dx))
    return SensorReturns(
        mx[order],
        my[order],
        np.maximum(sig_r, sig_c)[order],
        vr_meas[order],
        truth[order],
        float(area),
    )


def eoir_look(
    look: Look,
    x_m: FloatArray,
    y_m: FloatArray,
    spec: SensorSpec,
    settings: EoirSettings,
    rng: np.random.Generator,
) -> SensorReturns:
    h = look.alt_m
    aim_rg = float(np.hypot(look.aim_x_m - look.x_m, look.aim_y_m - look.y_m))
    aim_slant = float(np.hypot(aim_rg, h))
    radius = aim_slant * float(np.tan(np.radians(spec.fov_deg) / 2.0))
    idx = np.flatnonzero(np.hypot(x_m - look.aim_x_m, y_m - look.aim_y_m) <= radius)
    rg = np.hypot(x_m[idx] - look.x_m, y_m[idx] - look.y_m)
    slant = np.sqrt(rg * rg + h * h)
    ok = (slant <= spec.max_slant_range_m) & (rg <= spec.ground_reach_m(h))
    pd = settings.pd_max / (1.0 + (slant / (settings.range_knee * spec.max_slant_range_m)) ** 8)
    hit = ok & (rng.uniform(size=len(idx)) < pd)
    idx, slant = idx[hit], slant[hit]
    sig = np.maximum(spec.range_sigma_m, slant * spec.angle_sigma_rad)
    mx = x_m[idx] + rng.normal(0.0, 1.0, len(idx)) * sig
    my = y_m[idx] + rng.normal(0.0, 1.0, len(idx)) * sig
    return SensorReturns(
        mx,
        my,
        sig,
        np.full(len(idx), np.nan),
        idx.astype(np.int64),
        float(np.pi * radius * radius),
    )
