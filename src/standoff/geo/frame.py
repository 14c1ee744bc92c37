"""Local metric frames: azimuthal equidistant on WGS 84 around an origin, ``always_xy=True``.

x is east and y north in metres from the origin.  Distances from the origin are exact; the
scale error elsewhere grows as (d/R)^2/6 (0.05 % at 350 km, 0.15 % at 600 km).  The planner
and the simulator work in such a frame; the exact airspace checks stay on the ellipsoid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

__all__ = ["LocalFrame"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LocalFrame:
    """Local east/north frame centred on (``lon0_deg``, ``lat0_deg``)."""

    lon0_deg: float
    lat0_deg: float
    _fwd: Transformer = field(init=False, repr=False, compare=False)
    _inv: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_fwd", Transformer.from_crs("EPSG:4326", self.proj4, always_xy=True)
        )
        object.__setattr__(
            self, "_inv", Transformer.from_crs(self.proj4, "EPSG:4326", always_xy=True)
        )

    @property
    def proj4(self) -> str:
        return (
            f"+proj=aeqd +lon_0={self.lon0_deg!r} +lat_0={self.lat0_deg!r} "
            "+ellps=WGS84 +units=m +no_defs"
        )

    def to_xy(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        x, y = self._fwd.transform(
            np.asarray(lon_deg, dtype=np.float64), np.asarray(lat_deg, dtype=np.float64)
        )
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        lon, lat = self._inv.transform(
            np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        )
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_xy(self, geom: BaseGeometry, densify_deg: float = 0.01) -> BaseGeometry:
        """Project a lon/lat geometry, densifying first (its edges are straight in lon/lat)."""

        def apply(coords: FloatArray) -> FloatArray:
            x, y = self.to_xy(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(shapely.segmentize(geom, densify_deg), apply)

    def geometry_to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        def apply(coords: FloatArray) -> FloatArray:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geom, apply)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "azimuthal_equidistant",
            "origin_lon_deg": self.lon0_deg,
            "origin_lat_deg": self.lat0_deg,
            "proj4": self.proj4,
            "axes": "x east, y north, metres; pyproj always_xy=True",
        }
