"""Tracks at one scan, as a tracker reports them and the analysis stage reads them.

One element per reported (confirmed) track; positions and velocities in the same local
east/north frame, metres and metres per second, as the detections they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TrackBatch"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TrackBatch:
    """Reported tracks at ``time_s`` (the scan's time, same epoch as the detections).

    ``track_id`` is stable across scans for one target; ``det_index`` is the index, in
    the scan's :class:`~standoff.domain.detections.DetectionBatch`, of the detection
    the track was updated with, or -1 when the track was not observed in that scan.
    """

    time_s: float
    track_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    det_index: npt.NDArray[np.intp]

    def __len__(self) -> int:
        return int(self.track_id.shape[0])
