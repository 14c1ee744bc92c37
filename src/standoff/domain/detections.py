"""One scan of detections, as the simulator, a file reader or a live feed hands it on.

A :class:`DetectionBatch` holds one scan as parallel numpy arrays (one element per
detection) so that a tracker can consume it without per-detection Python objects.
Positions are metres in a local east/north frame; radial velocity is the rate of
change of range from the sensor (positive = receding), NaN where the sensor gave none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DetectionBatch", "ScanFootprint", "in_sector", "scan_dwell_s"]

FloatArray = npt.NDArray[np.float64]


def _as_float(values: Any, n: int, fill: float) -> FloatArray:
    if values is None:
        return np.full(n, fill, dtype=np.float64)
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.shape[0] != n:
        raise ValueError(f"expected {n} values, got {out.shape[0]}")
    return out


def in_sector(
    dx_m: npt.ArrayLike,
    dy_m: npt.ArrayLike,
    r_min_m: npt.ArrayLike,
    r_max_m: npt.ArrayLike,
    centre_rad: npt.ArrayLike,
    half_rad: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """Whether offsets (``dx_m`` east, ``dy_m`` north of a sensor) lie in the ground annulus
    ``r_min_m``..``r_max_m`` within ``half_rad`` of the azimuth ``centre_rad`` (clockwise
    from north), edges included; every argument broadcasts (one sector and many points, or
    sectors down a column and points along a row)."""
    dx = np.asarray(dx_m, dtype=np.float64)
    dy = np.asarray(dy_m, dtype=np.float64)
    rg = np.hypot(dx, dy)
    off = np.abs((np.arctan2(dx, dy) - np.asarray(centre_rad) + np.pi) % (2.0 * np.pi) - np.pi)
    return np.asarray(
        (rg >= np.asarray(r_min_m)) & (rg <= np.asarray(r_max_m)) & (off <= np.asarray(half_rad)),
        dtype=bool,
    )


def scan_dwell_s(t_s: npt.ArrayLike) -> FloatArray:
    """The time each scan stands for: until the next scan (in time order, whatever the order
    given), at most three times the median interval (a gap in the scans, such as a transit,
    is not looking); the last scan stands for the median interval."""
    t = np.asarray(t_s, dtype=np.float64)
    out = np.zeros(t.shape[0])
    if t.shape[0] < 2:
        return out
    order = np.argsort(t, kind="stable")
    gaps = np.diff(t[order])
    typical = float(np.median(gaps))
    out[order] = np.minimum(np.r_[gaps, typical], 3.0 * typical)
    return out


@dataclass(frozen=True, slots=True)
class ScanFootprint:
    """Where one area scan looked: the ground annulus ``r_min_m``..``r_max_m`` around the
    sensor at (``sensor_x_m``, ``sensor_y_m``) within ``half_rad`` of the azimuth
    ``centre_rad`` (radians clockwise from north), in the batch's frame.

    A tracker counts a miss only for a track predicted inside it: a vehicle outside the
    scan was not looked for, so not seeing it says nothing about it."""

    sensor_x_m: float
    sensor_y_m: float
    r_min_m: float
    r_max_m: float
    centre_rad: float
    half_rad: float

    def __post_init__(self) -> None:
        vals = (self.sensor_x_m, self.sensor_y_m, self.r_min_m, self.r_max_m, self.centre_rad)
        if not all(np.isfinite(v) for v in vals) or not np.isfinite(self.half_rad):
            raise ValueError("ScanFootprint values must be finite")
        if not 0.0 <= self.r_min_m <= self.r_max_m:
            raise ValueError("ScanFootprint needs 0 <= r_min_m <= r_max_m")
        if not 0.0 < self.half_rad <= np.pi:
            raise ValueError("ScanFootprint.half_rad must be in (0, pi]")

    def contains(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which points lie inside (edges included)."""
        return in_sector(
            np.asarray(x_m, dtype=np.float64) - self.sensor_x_m,
            np.asarray(y_m, dtype=np.float64) - self.sensor_y_m,
            self.r_min_m,
            self.r_max_m,
            self.centre_rad,
            self.half_rad,
        )

    def as_array(self) -> FloatArray:
        return np.array(
            [
                self.sensor_x_m,
                self.sensor_y_m,
                self.r_min_m,
                self.r_max_m,
                self.centre_rad,
                self.half_rad,
            ]
        )


@dataclass(frozen=True, slots=True)
class DetectionBatch:
    """One scan: every detection shares ``time_s`` (seconds, any fixed epoch).

    ``sensor`` labels the sensor of each detection (``"gmti"``, ``"eoir"``...);
    ``det_id`` is an opaque identifier carried through to the tracks; ``footprint`` is
    where the area-scanning sensor of the batch looked (None: unknown, every track that
    could have been seen is assumed looked for).  Use :meth:`create` to build one with
    defaults for the optional columns.
    """

    time_s: float
    x_m: FloatArray
    y_m: FloatArray
    sigma_m: FloatArray
    sensor: npt.NDArray[np.str_]
    radial_velocity_mps: FloatArray
    sensor_x_m: FloatArray
    sensor_y_m: FloatArray
    det_id: npt.NDArray[Any] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    footprint: ScanFootprint | None = None

    def __post_init__(self) -> None:
        n = self.x_m.shape[0]
        for name in (
            "y_m",
            "sigma_m",
            "sensor",
            "radial_velocity_mps",
            "sensor_x_m",
            "sensor_y_m",
            "det_id",
        ):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"DetectionBatch.{name} must have shape ({n},)")

    def __len__(self) -> int:
        return int(self.x_m.shape[0])

    @classmethod
    def create(
        cls,
        time_s: float,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        sigma_m: npt.ArrayLike | float,
        *,
        sensor: npt.ArrayLike | str = "gmti",
        radial_velocity_mps: npt.ArrayLike | None = None,
        sensor_x_m: npt.ArrayLike | None = None,
        sensor_y_m: npt.ArrayLike | None = None,
        det_id: npt.ArrayLike | None = None,
        footprint: ScanFootprint | None = None,
    ) -> DetectionBatch:
        """Build a batch; scalars broadcast, missing optional columns get defaults."""
        x = np.asarray(x_m, dtype=np.float64).reshape(-1)
        n = x.shape[0]
        sig = np.broadcast_to(np.asarray(sigma_m, dtype=np.float64), (n,)).copy()
        sens = np.broadcast_to(np.asarray(sensor, dtype=np.str_), (n,)).copy()
        ids: npt.NDArray[Any] = (
            np.arange(n, dtype=np.int64) if det_id is None else np.asarray(det_id).reshape(-1)
        )
        return cls(
            time_s=float(time_s),
            x_m=x,
            y_m=_as_float(y_m, n, np.nan),
            sigma_m=sig,
            sensor=sens,
            radial_velocity_mps=_as_float(radial_velocity_mps, n, np.nan),
            sensor_x_m=_as_float(sensor_x_m, n, np.nan),
            sensor_y_m=_as_float(sensor_y_m, n, np.nan),
            det_id=ids,
            footprint=footprint,
        )
