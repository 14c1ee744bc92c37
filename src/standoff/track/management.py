"""Track initiation and deletion: single-point initiation, existence-based deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Deleter", "ExistenceDeleter", "Initiator", "NewTracks", "SinglePointInitiator"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class NewTracks:
    """Tentative tracks to append: ``X (k,M,4)``, ``P (k,M,4,4)``, ``mu (k,M)``, ``r (k,)``."""

    X: FloatArray
    P: FloatArray
    mu: FloatArray
    r: FloatArray
    det_index: npt.NDArray[np.intp]


class Initiator(Protocol):
    def initiate(
        self,
        x_m: FloatArray,
        y_m: FloatArray,
        sigma_m: FloatArray,
        radial_velocity_mps: FloatArray,
        sensor_x_m: FloatArray,
        sensor_y_m: FloatArray,
        stopped_modes: BoolArray,
    ) -> NewTracks:
        """Start one tentative track per given detection."""
        ...


@dataclass(frozen=True, slots=True)
class SinglePointInitiator:
    """One tentative track per unclaimed detection.

    The velocity is unknown (zero mean, ``sigma_v_mps`` per axis) except along the line
    of sight when the detection carries a radial velocity.  ``r0`` is the prior
    probability that an unexplained detection is a new target rather than clutter.
    """

    sigma_v_mps: float = 15.0
    sigma_rv_mps: float = 1.0
    r0: float = 0.1
    stopped_prior: float = 0.01

    def initiate(
        self,
        x_m: FloatArray,
        y_m: FloatArray,
        sigma_m: FloatArray,
        radial_velocity_mps: FloatArray,
        sensor_x_m: FloatArray,
        sensor_y_m: FloatArray,
        stopped_modes: BoolArray,
    ) -> NewTracks:
        k, m = x_m.shape[0], stopped_modes.shape[0]
        x = np.zeros((k, 4))
        x[:, 0], x[:, 1] = x_m, y_m
        P = np.zeros((k, 4, 4))
        P[:, 0, 0] = P[:, 1, 1] = sigma_m**2
        P[:, 2, 2] = P[:, 3, 3] = self.sigma_v_mps**2
        has_rv = np.isfinite(radial_velocity_mps) & np.isfinite(sensor_x_m)
        if has_rv.any():
            rel = np.stack([x_m - sensor_x_m, y_m - sensor_y_m], axis=1)[has_rv]
            u = rel / np.maximum(np.hypot(rel[:, 0], rel[:, 1]), 1.0)[:, None]
            x[has_rv, 2:] = radial_velocity_mps[has_rv, None] * u
            uu = u[:, :, None] * u[:, None, :]
            P[has_rv, 2:, 2:] = self.sigma_v_mps**2 * (np.eye(2) - uu) + self.sigma_rv_mps**2 * uu
        n_stop = int(stopped_modes.sum())
        n_move = m - n_stop
        mu_row = np.where(
            stopped_modes,
            self.stopped_prior / max(n_stop, 1),
            (1.0 - self.stopped_prior * (n_stop > 0)) / max(n_move, 1),
        )
        X = np.repeat(x[:, None, :], m, axis=1)
        PP = np.repeat(P[:, None, :, :], m, axis=1)
        X[:, stopped_modes, 2:] = 0.0
        return NewTracks(
            X=X,
            P=PP,
            mu=np.tile(mu_row, (k, 1)),
            r=np.full(k, self.r0),
            det_index=np.arange(k, dtype=np.intp),
        )


class Deleter(Protocol):
    def delete(
        self,
        r: FloatArray,
        confirmed: BoolArray,
        misses: IntArray,
        coast_s: FloatArray,
    ) -> BoolArray:
        """``True`` for tracks to drop."""
        ...


@dataclass(frozen=True, slots=True)
class ExistenceDeleter:
    """Drop a track when its existence probability falls below ``r_min``, a tentative
    track after ``tentative_misses`` consecutive misses, and any active track unobserved
    for longer than ``max_coast_s`` (a safety bound: a stopped vehicle is parked by the
    tracker before this, see :class:`~standoff.track.tracker.Tracker`)."""

    r_min: float = 0.02
    tentative_misses: int = 2
    max_coast_s: float = 1200.0

    def delete(
        self,
        r: FloatArray,
        confirmed: BoolArray,
        misses: IntArray,
        coast_s: FloatArray,
    ) -> BoolArray:
        return (
            (r < self.r_min)
            | (~confirmed & (misses >= self.tentative_misses))
            | (coast_s > self.max_coast_s)
        )
