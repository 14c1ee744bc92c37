"""Sensor models: GMTI area scans and cued EO/IR looks (pure functions of arrays + a Generator).

Flat Earth below the aircraft, no terrain masking (no offline DEM), altitude above ground
taken as the plan's altitude.  Ground reach comes from ``SensorSpec.ground_reach_m``
(spherical Earth).  Positions are metres in the run's local frame.

GMTI (per scan): the radar scans the plan's AOIs.  Its footprint is the ground annulus
[reach_min, reach_max] within an azimuth sector of ``fov_deg`` centred on the azimuth the
plan gives the orbit being flown (``Look.centre_rad``), or without one on the part of the
AOIs inside the annulus (on the look point when the plan carries no AOI), intersected with
the AOIs; with a stepped sweep (scenario ``gmti.sweep: stepped``) successive scans step
the sector across the AOIs in reach instead, and with an interleaved one
(``gmti.sweep: interleaved``) every other scan is centred on the AOIs in reach whatever the
plan sets.  A mover inside is detected with probability
``pd = pd_max * range_factor * grazing_factor`` where ``range_factor = 1 / (1 + (R / R50)^8)``,
``R50 = range_knee * max_slant_range`` and ``grazing_factor = min(1, sin(g) / sin(g_min))``,
and only if its radial speed is at least the MDV (parked vehicles never).  Position noise is
Gaussian in the sensor frame: ``range_sigma / cos(grazing)`` along the line of sight on the
ground, ``slant_range * angle_sigma`` across it; the measured radial velocity (positive:
receding) has Gaussian noise.  False alarms are Poisson with mean ``density x footprint
area``, uniform over the footprint.

EO/IR (per look): the footprint is the field of view (square, ``fov_deg`` on each side)
projected on the ground around a cued site: a trapezoid whose near and far edges lie at
ground ranges ``h cot(theta +- fov / 2)`` (``theta`` the depression angle to the site, the far
edge capped by the sensor's reach) and whose width at ground range ``r`` is
``2 sqrt(r^2 + h^2) tan(fov / 2)``.  Everything inside (moving or parked) is detected with
``pd_max / (1 + (R / R50)^8)``; isotropic noise ``max(range_sigma, R * angle_sigma)``; no
radial velocity, no false alarms (assumption: an operator confirms each look).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from standoff.domain.detections import in_sector
from standoff.platforms import SensorSpec
from standoff.platforms.footprint import aimed_sector, swept_sector
from standoff.sim.scenario import EoirSettings, GmtiSettings

__all__ = [
    "EoirFootprint",
    "GmtiFootprint",
    "Look",
    "SensorReturns",
    "eoir_footprint",
    "eoir_look",
    "gmti_footprint",
    "gmti_pd",
    "gmti_returns",
    "gmti_scan",
]

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
    footprint: GmtiFootprint | None = None
    """Where the scan looked (GMTI; None for an EO/IR look or no scan)."""

    @staticmethod
    def empty() -> SensorReturns:
        z = np.zeros(0, dtype=np.float64)
        return SensorReturns(z, z, z, z, np.zeros(0, dtype=np.int64), 0.0)


@dataclass(frozen=True, slots=True)
class Look:
    """Where the aircraft is and where the sensor looks: at the aim point, or for the
    moving-target radar along ``centre_rad`` when the plan sets its azimuth."""

    x_m: float
    y_m: float
    alt_m: float
    aim_x_m: float
    aim_y_m: float
    centre_rad: float | None = None
    """The radar sector's centre the plan sets for this time: a direction of the run's
    frame, radians clockwise from its y axis (the simulator converts the plan's true
    azimuth)."""


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


@dataclass(frozen=True, slots=True)
class GmtiFootprint:
    """One scan's footprint: the annulus sector (``centre_rad``, ``half_rad``) clipped to
    ``area`` (the AOIs, or None for the whole sector); ``area_m2`` is its ground area."""

    r_min_m: float
    r_max_m: float
    centre_rad: float
    half_rad: float
    area: BaseGeometry | None
    area_m2: float


def gmti_footprint(
    look: Look, spec: SensorSpec, aois: BaseGeometry | None = None, step: int | None = None
) -> GmtiFootprint | None:
    """Where a scan from ``look`` falls: on the AOIs within reach (None when none is), or on
    the sector centred on the look point when ``aois`` is None.  With ``step`` (a stepped
    sweep), the sector of that scan of the sweep across the AOIs
    (:func:`~standoff.platforms.footprint.swept_sector`); else centred on
    ``look.centre_rad`` when set, or on the AOIs."""
    h = look.alt_m
    r_max = spec.ground_reach_m(h)
    r_min = spec.ground_min_m(h)
    half = spec.half_fov_rad
    if aois is None:
        centre = (
            float(np.arctan2(look.aim_x_m - look.x_m, look.aim_y_m - look.y_m))
            if look.centre_rad is None
            else look.centre_rad
        )
        area = half * (r_max**2 - r_min**2)
        return GmtiFootprint(r_min, r_max, centre, half, None, float(area))
    if step is not None:
        aimed = swept_sector(look.x_m, look.y_m, r_min, r_max, half, aois, step)
    else:
        aimed = aimed_sector(look.x_m, look.y_m, r_min, r_max, half, aois, look.centre_rad)
    if aimed is None:
        return None
    centre, visible = aimed
    shapely.prepare(visible)
    return GmtiFootprint(r_min, r_max, centre, half, visible, float(visible.area))


def _in_footprint(
    look: Look, fp: GmtiFootprint, x_m: FloatArray, y_m: FloatArray
) -> npt.NDArray[np.bool_]:
    inside = in_sector(
        x_m - look.x_m, y_m - look.y_m, fp.r_min_m, fp.r_max_m, fp.centre_rad, fp.half_rad
    )
    if fp.area is not None and inside.any():
        idx = np.flatnonzero(inside)
        inside[idx] = shapely.contains_xy(fp.area, x_m[idx], y_m[idx])
    return inside


def _uniform_in_footprint(
    look: Look, fp: GmtiFootprint, n: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """``n`` points uniform over the footprint: uniform in the sector (area element
    r dr dtheta), rejected outside the AOIs until ``n`` are kept."""
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    kept = 0
    sector = fp.half_rad * (fp.r_max_m**2 - fp.r_min_m**2)
    while kept < n:
        m = int((n - kept) * sector / max(fp.area_m2, 1.0) * 1.2) + 8
        r = np.sqrt(rng.uniform(fp.r_min_m**2, fp.r_max_m**2, m))
        az = fp.centre_rad + rng.uniform(-fp.half_rad, fp.half_rad, m)
        x = look.x_m + r * np.sin(az)
        y = look.y_m + r * np.cos(az)
        if fp.area is not None:
            ok = shapely.contains_xy(fp.area, x, y)
            x, y = x[ok], y[ok]
        take = min(n - kept, len(x))
        xs.append(x[:take])
        ys.append(y[:take])
        kept += take
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


def gmti_scan(
    look: Look,
    x_m: FloatArray,
    y_m: FloatArray,
    vx_mps: FloatArray,
    vy_mps: FloatArray,
    spec: SensorSpec,
    settings: GmtiSettings,
    rng: np.random.Generator,
    aois: BaseGeometry | None = None,
    step: int | None = None,
) -> SensorReturns:
    """One GMTI scan over the AOIs (see the module notes); ``aois`` in local metres."""
    return gmti_returns(
        look, gmti_footprint(look, spec, aois, step), x_m, y_m, vx_mps, vy_mps, spec,
        settings, rng,
    )  # fmt: skip


def gmti_returns(
    look: Look,
    fp: GmtiFootprint | None,
    x_m: FloatArray,
    y_m: FloatArray,
    vx_mps: FloatArray,
    vy_mps: FloatArray,
    spec: SensorSpec,
    settings: GmtiSettings,
    rng: np.random.Generator,
) -> SensorReturns:
    """One GMTI scan from ``look`` over its footprint ``fp`` (from :func:`gmti_footprint`;
    None: nothing in reach, no returns)."""
    if fp is None:
        return SensorReturns.empty()
    h = look.alt_m
    idx = np.flatnonzero(_in_footprint(look, fp, x_m, y_m))
    dx, dy = x_m[idx] - look.x_m, y_m[idx] - look.y_m
    rg = np.hypot(dx, dy)
    slant = np.sqrt(rg * rg + h * h)
    vr = (vx_mps[idx] * dx + vy_mps[idx] * dy) / slant
    pd = gmti_pd(slant, np.arctan2(h, rg), spec, settings)
    hit = (np.abs(vr) >= spec.mdv_mps) & (rng.uniform(size=len(idx)) < pd)
    idx, dx, dy, vr = idx[hit], dx[hit], dy[hit], vr[hit]
    # False alarms: Poisson count, uniform over the footprint.
    n_fa = int(rng.poisson(settings.false_alarms_per_km2 * fp.area_m2 / 1e6))
    fx, fy = _uniform_in_footprint(look, fp, n_fa, rng)
    f_vr = rng.uniform(spec.mdv_mps, spec.mdv_mps + 25.0, n_fa) * rng.choice([-1.0, 1.0], n_fa)
    dx = np.concatenate([dx, fx - look.x_m])
    dy = np.concatenate([dy, fy - look.y_m])
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
        fp.area_m2,
        fp,
    )


@dataclass(frozen=True, slots=True)
class EoirFootprint:
    """The projected field of view: ground ranges ``near_m``..``far_m`` along the bearing
    (``ux``, ``uy``) from the aircraft to the aim point, half-width ``sqrt(r^2 + h^2) *
    tan_half`` at ground range ``r``."""

    near_m: float
    far_m: float
    ux: float
    uy: float
    tan_half: float
    area_m2: float


def _integral_sqrt(r: float, h: float) -> float:
    """Antiderivative of sqrt(r^2 + h^2) dr."""
    return 0.5 * (r * float(np.hypot(r, h)) + h * h * float(np.arcsinh(r / h)))


def eoir_footprint(look: Look, spec: SensorSpec) -> EoirFootprint | None:
    """The trapezoid the EO/IR field of view covers around the aim point (None when the aim
    point lies beyond the sensor's reach)."""
    h = look.alt_m
    ax, ay = look.aim_x_m - look.x_m, look.aim_y_m - look.y_m
    aim_rg = float(np.hypot(ax, ay))
    reach = min(spec.ground_reach_m(h), float(np.sqrt(max(spec.max_slant_range_m**2 - h * h, 0))))
    if aim_rg > reach:
        return None
    half = spec.half_fov_rad
    depression = float(np.arctan2(h, aim_rg))
    near = h / np.tan(min(depression + half, np.pi / 2.0))
    far = h / np.tan(depression - half) if depression - half > 1e-6 else np.inf
    far = min(float(far), reach)
    ux, uy = (ax / aim_rg, ay / aim_rg) if aim_rg > 0 else (0.0, 1.0)
    tan_half = float(np.tan(half))
    area = 2.0 * tan_half * (_integral_sqrt(far, h) - _integral_sqrt(near, h))
    return EoirFootprint(float(near), far, ux, uy, tan_half, area)


def eoir_look(
    look: Look,
    x_m: FloatArray,
    y_m: FloatArray,
    spec: SensorSpec,
    settings: EoirSettings,
    rng: np.random.Generator,
) -> SensorReturns:
    """One cued EO/IR look at ``(look.aim_x_m, look.aim_y_m)`` (see the module notes)."""
    fp = eoir_footprint(look, spec)
    if fp is None:
        return SensorReturns.empty()
    h = look.alt_m
    dx, dy = x_m - look.x_m, y_m - look.y_m
    along = dx * fp.ux + dy * fp.uy
    across = dx * fp.uy - dy * fp.ux
    inside = (
        (along >= fp.near_m)
        & (along <= fp.far_m)
        & (np.abs(across) <= np.sqrt(along * along + h * h) * fp.tan_half)
    )
    idx = np.flatnonzero(inside)
    slant = np.sqrt(dx[idx] ** 2 + dy[idx] ** 2 + h * h)
    pd = settings.pd_max / (1.0 + (slant / (settings.range_knee * spec.max_slant_range_m)) ** 8)
    hit = rng.uniform(size=len(idx)) < pd
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
        fp.area_m2,
    )
