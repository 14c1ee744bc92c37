"""Sensor specifications and their geometry (pure, vectorised)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_4_3_M",
    "SensorSpec",
    "ground_range_m",
    "sensor_from_record",
    "sensor_record",
]

_MEAN_EARTH_RADIUS_M = 6_371_008.8
EARTH_RADIUS_4_3_M = _MEAN_EARTH_RADIUS_M * 4.0 / 3.0
"""Effective Earth radius for radar propagation (standard atmosphere)."""


def ground_range_m(slant_range_m: npt.ArrayLike, alt_m: float) -> npt.NDArray[np.float64]:
    """Ground distance to a point at ``slant_range_m`` from a sensor at ``alt_m`` (spherical
    Earth of mean radius; zero when the slant range does not reach the ground)."""
    rs = np.asarray(slant_range_m, dtype=np.float64)
    r = _MEAN_EARTH_RADIUS_M
    cos_angle = ((r + alt_m) ** 2 + r**2 - rs**2) / (2.0 * (r + alt_m) * r)
    out = r * np.arccos(np.clip(cos_angle, -1.0, 1.0))
    return np.asarray(np.where(rs > alt_m, out, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class SensorSpec:
    """An observation sensor. Every figure's source (or "assumption") is in ``sources``."""

    name: str
    kind: Literal["gmti", "eoir"]
    max_slant_range_m: float
    min_slant_range_m: float
    revisit_s: float
    """GMTI: time between scans of an area; EO/IR: time between looks when cued."""
    mdv_mps: float
    """GMTI minimum detectable (radial) velocity; 0 for EO/IR."""
    fov_deg: float
    """EO/IR field of view (horizontal); GMTI azimuth sector."""
    range_sigma_m: float
    angle_sigma_rad: float
    sources: Mapping[str, str] = field(default_factory=dict)

    def ground_reach_m(self, alt_m: float) -> float:
        """Farthest ground distance the sensor reaches from ``alt_m``."""
        return float(ground_range_m(self.max_slant_range_m, alt_m))

    def ground_min_m(self, alt_m: float) -> float:
        """Nearest ground distance the sensor sees (its blind ring below the aircraft)."""
        return float(ground_range_m(self.min_slant_range_m, alt_m))


_NUMBERS = (
    "max_slant_range_m",
    "min_slant_range_m",
    "revisit_s",
    "mdv_mps",
    "fov_deg",
    "range_sigma_m",
    "angle_sigma_rad",
)


def sensor_record(spec: SensorSpec) -> dict[str, Any]:
    """``spec`` as plain JSON values (for a plan file)."""
    return {
        "name": spec.name,
        "kind": spec.kind,
        **{k: float(getattr(spec, k)) for k in _NUMBERS},
        "sources": dict(spec.sources),
    }


def sensor_from_record(record: Any) -> SensorSpec:
    """A :class:`SensorSpec` from :func:`sensor_record`'s output; ``ValueError`` naming the
    field when it is not one."""
    if not isinstance(record, dict):
        raise ValueError("not an object")
    if record.get("kind") not in ("gmti", "eoir"):
        raise ValueError(f"kind: must be gmti or eoir, not {record.get('kind')!r}")
    if not isinstance(record.get("name"), str):
        raise ValueError("name: must be text")
    values: dict[str, float] = {}
    for k in _NUMBERS:
        v = record.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{k}: must be a non-negative number, not {v!r}")
        values[k] = float(v)
    if values["max_slant_range_m"] <= 0:
        raise ValueError("max_slant_range_m: must be positive")
    sources = record.get("sources", {})
    if not isinstance(sources, dict):
        raise ValueError("sources: must be an object")
    return SensorSpec(
        name=record["name"],
        kind=record["kind"],
        sources={str(k): str(v) for k, v in sources.items()},
        **values,
    )
