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

__all__ = ["DetectionBatch"]

FloatArray = npt.NDArray[np.float64]


def _as_float(values: Any, n: int, fill: float) -> FloatArray:
    if values is None:
        return np.full(n, fill, dtype=np.float64)
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.shape[0] != n:
        raise ValueError(f"expected {n} values, got {out.shape[0]}")
    return out


@dataclass(frozen=True, slots=True)
class DetectionBatch:
    """One scan: every detection shares ``time_s`` (seconds, any fixed epoch).

    ``sensor`` labels the sensor of each detection (``"gmti"``, ``"eoir"``...);
    ``det_id`` is an opaque identifier carried through to the tracks.  Use
    :meth:`create` to build one with defaults for the optional columns.
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
        )
