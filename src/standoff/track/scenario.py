"""Seeded ground-mover scenarios for tests and benchmarks (not a simulator stage).

The model follows the benchmark reference: a square area scanned whole every
``scan_s``; targets at 5-30 m/s on straight legs with gentle turns (0.5-3 deg/s for
10-40 s, about every 90 s) and speed changes (|a| <= 1 m/s^2); exponential lifetimes
and Poisson births that keep the mean number alive near ``n_targets``; targets that
leave the area end.  Detections have probability ``pd``, Gaussian position noise
``sigma_m``; clutter is Poisson, uniform over the area.  Motion is integrated at 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from standoff.domain.detections import DetectionBatch

__all__ = ["Scenario", "Truth", "generate_scenario"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth sampled at the scan times, one row per live target per scan."""

    time_s: FloatArray
    truth_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray


@dataclass(frozen=True, slots=True)
class Scenario:
    batches: tuple[DetectionBatch, ...]
    truth: Truth
    area_m2: float
    clutter_per_scan: float
    pd: float
    sigma_m: float

    @property
    def n_detections(self) -> int:
        return sum(len(b) for b in self.batches)


def generate_scenario(
    n_targets: int,
    clutter_per_scan: float,
    *,
    seed: int,
    pd: float = 0.9,
    sigma_m: float = 20.0,
    scan_s: float = 10.0,
    duration_s: float = 1800.0,
    size_m: float = 50_000.0,
    mean_life_s: float = 1200.0,
) -> Scenario:
    """Generate one scenario; the same arguments give the same arrays."""
    rng = np.random.default_rng(seed)
    n_birth = int(rng.poisson(n_targets * duration_s / mean_life_s))
    cap = n_targets + n_birth
    birth = np.concatenate([np.zeros(n_targets), np.sort(rng.uniform(0, duration_s, n_birth))])
    death = birth + rng.exponential(mean_life_s, cap)
    x = rng.uniform(0, size_m, cap)
    y = rng.uniform(0, size_m, cap)
    heading = rng.uniform(0, 2 * np.pi, cap)
    speed = rng.uniform(5.0, 30.0, cap)
    accel = np.zeros(cap)
    accel_left = rng.exponential(60.0, cap)
    turn_rate = np.zeros(cap)
    turn_left = np.zeros(cap)
    next_turn = rng.exponential(90.0, cap)
    gone = np.zeros(cap, dtype=bool)
    ids = np.arange(1, cap + 1, dtype=np.int64)

    n_scans = round(duration_s / scan_s) + 1
    steps_per_scan = round(scan_s)
    batches: list[DetectionBatch] = []
    tt: list[FloatArray] = []
    ti: list[IntArray] = []
    tx: list[FloatArray] = []
    ty: list[FloatArray] = []
    tvx: list[FloatArray] = []
    tvy: list[FloatArray] = []
    next_det = 0
    for k in range(n_scans):
        t = k * scan_s
        if k:
            for s in range(steps_per_scan):
                now = t - scan_s + s + 1
                live = (birth <= now) & ~gone
                # turns
                start = live & (turn_left <= 0) & (next_turn <= 0)
                ns = int(start.sum())
                if ns:
                    sign = rng.choice([-1.0, 1.0], ns)
                    turn_rate[start] = sign * np.radians(rng.uniform(0.5, 3.0, ns))
                    turn_left[start] = rng.uniform(10.0, 40.0, ns)
                    next_turn[start] = rng.exponential(90.0, ns)
                turning = live & (turn_left > 0)
                heading[turning] += turn_rate[turning]
                turn_left[turning] -= 1.0
                next_turn[live & ~turning] -= 1.0
                # speed changes
                new_a = live & (accel_left <= 0)
                na = int(new_a.sum())
                if na:
                    accel[new_a] = rng.uniform(-1.0, 1.0, na) * (rng.uniform(0, 1, na) < 0.5)
                    accel_left[new_a] = rng.exponential(60.0, na)
                accel_left[live] -= 1.0
                speed[live] = np.clip(speed[live] + accel[live], 5.0, 30.0)
                x[live] += speed[live] * np.cos(heading[live])
                y[live] += speed[live] * np.sin(heading[live])
                out = (x < 0) | (x > size_m) | (y < 0) | (y > size_m) | (death <= now)
                gone |= live & out
        live = (birth <= t) & ~gone
        idx = np.flatnonzero(live)
        vx = speed[idx] * np.cos(heading[idx])
        vy = speed[idx] * np.sin(heading[idx])
        tt.append(np.full(idx.size, t))
        ti.append(ids[idx])
        tx.append(x[idx].copy())
        ty.append(y[idx].copy())
        tvx.append(vx)
        tvy.append(vy)
        seen = idx[rng.uniform(0, 1, idx.size) < pd]
        dx = x[seen] + rng.normal(0, sigma_m, seen.size)
        dy = y[seen] + rng.normal(0, sigma_m, seen.size)
        nc = int(rng.poisson(clutter_per_scan))
        cx = rng.uniform(0, size_m, nc)
        cy = rng.uniform(0, size_m, nc)
        allx = np.concatenate([dx, cx])
        ally = np.concatenate([dy, cy])
        perm = rng.permutation(allx.size)
        nb = allx.size
        batches.append(
            DetectionBatch.create(
                t,
                allx[perm],
                ally[perm],
                sigma_m,
                det_id=np.arange(next_det, next_det + nb, dtype=np.int64),
            )
        )
        next_det += nb
    truth = Truth(
        time_s=np.concatenate(tt),
        truth_id=np.concatenate(ti),
        x_m=np.concatenate(tx),
        y_m=np.concatenate(ty),
        vx_mps=np.concatenate(tvx),
        vy_mps=np.concatenate(tvy),
    )
    return Scenario(
        batches=tuple(batches),
        truth=truth,
        area_m2=size_m * size_m,
        clutter_per_scan=clutter_per_scan,
        pd=pd,
        sigma_m=sigma_m,
    )
