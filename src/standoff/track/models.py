"""Motion models for ground movers, batched: one set of matrices per mode per step.

State order is ``[x_m, y_m, vx_mps, vy_mps]`` in a local east/north frame.  The
default :class:`ModeSet` is an interacting multiple model of

* nearly constant velocity (low process noise: smooths straight legs),
* a manoeuvre model (constant velocity with high process noise: speed changes and
  sharp turns; ``q = 3 m^2/s^3``, a velocity spread of about 5.5 m/s per 10 s scan,
  which follows a vehicle accelerating at 1 m/s^2 without letting its track fall
  behind onto a neighbour's or a clutter detection),
* two coordinated turns at a known rate (left and right),
* *stopped*: position held, velocity zero.  A GMTI radar cannot see a vehicle in
  this mode, so a missed detection is evidence for it rather than against the track.

Leaving the stopped mode a vehicle starts at an unknown velocity: the mixing step
inflates the velocity covariance by ``start_sigma_mps`` for that transition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Mode", "ModeSet", "MotionModel", "default_modes"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class MotionModel(Protocol):
    """What the predictor needs from a set of motion modes."""

    @property
    def n_modes(self) -> int: ...

    @property
    def stopped(self) -> BoolArray:
        """``(M,)`` True for modes in which the vehicle is stationary."""
        ...

    @property
    def start_sigma_mps(self) -> float: ...

    def matrices(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """``F`` and ``Q``, each ``(M, 4, 4)``, for a step of ``dt_s`` seconds."""
        ...

    def transition(self, dt_s: float) -> FloatArray:
        """``(M, M)`` mode transition probabilities ``P[i -> j]`` over ``dt_s``."""
        ...


@dataclass(frozen=True, slots=True)
class Mode:
    """One motion mode.  ``sojourn_s`` is the mean time spent in it."""

    kind: Literal["cv", "ct", "stop"]
    q_m2ps3: float
    sojourn_s: float
    turn_rate_degps: float = 0.0


def default_modes() -> tuple[Mode, ...]:
    """Modes for road vehicles observed every few seconds to a minute."""
    return (
        Mode("cv", q_m2ps3=0.005, sojourn_s=120.0),
        Mode("cv", q_m2ps3=3.0, sojourn_s=30.0),
        Mode("ct", q_m2ps3=0.01, sojourn_s=30.0, turn_rate_degps=2.0),
        Mode("ct", q_m2ps3=0.01, sojourn_s=30.0, turn_rate_degps=-2.0),
        Mode("stop", q_m2ps3=0.01, sojourn_s=600.0),
    )


def _default_switch(modes: tuple[Mode, ...]) -> FloatArray:
    """Where a vehicle goes when it leaves a mode (rows sum to one)."""
    m = len(modes)
    w = np.zeros((m, m))
    for i, a in enumerate(modes):
        for j, b in enumerate(modes):
            if i == j:
                continue
            if a.kind == "stop":
                w[i, j] = 0.0 if b.kind == "stop" else (2.0 if b.q_m2ps3 >= 1.0 else 1.0)
            elif b.kind == "stop":
                w[i, j] = 0.1
            else:
                w[i, j] = 1.0
    total = w.sum(axis=1, keepdims=True)
    out: FloatArray = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return out


@dataclass(frozen=True, slots=True)
class ModeSet:
    """A concrete :class:`MotionModel` built from :class:`Mode` records."""

    modes: tuple[Mode, ...] = field(default_factory=default_modes)
    start_sigma_mps: float = 8.0

    @property
    def n_modes(self) -> int:
        return len(self.modes)

    @property
    def stopped(self) -> BoolArray:
        return np.array([m.kind == "stop" for m in self.modes], dtype=bool)

    def matrices(self, dt_s: float) -> tuple[FloatArray, FloatArray]:
        m = len(self.modes)
        F = np.zeros((m, 4, 4))
        Q = np.zeros((m, 4, 4))
        dt = float(dt_s)
        for k, mode in enumerate(self.modes):
            q = mode.q_m2ps3
            if mode.kind == "stop":
                F[k] = np.diag([1.0, 1.0, 0.0, 0.0])
                Q[k] = np.diag([q * dt, q * dt, 1e-4, 1e-4])
                continue
            F[k] = np.eye(4)
            w = math.radians(mode.turn_rate_degps)
            if mode.kind == "ct" and abs(w) > 0.0 and dt > 0.0:
                s, c = math.sin(w * dt), math.cos(w * dt)
                F[k, 0, 2], F[k, 0, 3] = s / w, -(1.0 - c) / w
                F[k, 1, 2], F[k, 1, 3] = (1.0 - c) / w, s / w
                F[k, 2, 2], F[k, 2, 3] = c, -s
                F[k, 3, 2], F[k, 3, 3] = s, c
            else:
                F[k, 0, 2] = F[k, 1, 3] = dt
            a, b, d = dt**3 / 3.0, dt**2 / 2.0, dt
            Q[k] = q * np.array(
                [[a, 0, b, 0], [0, a, 0, b], [b, 0, d, 0], [0, b, 0, d]], dtype=np.float64
            )
        return F, Q

    def transition(self, dt_s: float) -> FloatArray:
        stay = np.exp(-max(float(dt_s), 0.0) / np.array([m.sojourn_s for m in self.modes]))
        pi = (1.0 - stay)[:, None] * _default_switch(self.modes)
        pi[np.diag_indices_from(pi)] = stay
        return pi
